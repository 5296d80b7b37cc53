"""The kernel-independent token broker: sessions, the login state machine, single-flight refresh,
persistence. Knows nothing about HTTP handlers."""

from ..oidc import NotLoggedIn
from .accounts import AccountRefused
from .backends import BackendNotAllowed
from .login_runner import LoginNotFound, TooManyLogins
from .logins import Login, LoginState
from .service_accounts import ServiceAccount, ServiceAccountNotConfigured
from .sessions import Session, SessionKey, SessionSettings
from .store import KeyringStore, MemoryStore, SessionStore, keyring_is_safe, make_store
from .token_broker import TokenBroker

__all__ = [
    "AccountRefused",
    "BackendNotAllowed",
    "KeyringStore",
    "Login",
    "LoginNotFound",
    "LoginState",
    "MemoryStore",
    "NotLoggedIn",
    "ServiceAccount",
    "ServiceAccountNotConfigured",
    "Session",
    "SessionKey",
    "SessionSettings",
    "SessionStore",
    "TokenBroker",
    "TooManyLogins",
    "keyring_is_safe",
    "make_store",
]
