"""Service accounts (client credentials) configured on the server: the secret comes from an environment
variable, a keyring entry or a file, and never from, or into, a notebook."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..oidc import BackendInfo, OpenEOAuthError, normalize_url, same_url
from ..wire import Reason
from .locks import in_keyring_pool


class ServiceAccountNotConfigured(OpenEOAuthError):
    reason = Reason.CLIENT_CREDENTIALS_NOT_CONFIGURED


@dataclass(frozen=True)
class ServiceAccount:
    """One configured client: where its secret is kept, never the secret itself."""

    backend: str
    client_id: str
    provider_id: str | None = None
    secret_env: str | None = None
    secret_file: str | None = None
    secret_keyring: str | None = field(default=None)  # "service/username" in the OS keyring
    #: The issuer whose token endpoint may receive the secret; when not configured, the issuer of the provider
    #: the account was first used with (kept while the server runs).
    issuer: str | None = None
    #: The secret taken out of the environment at start (see `take_env_secret`); never shown.
    _env_secret: str | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_config(cls, entry: dict) -> ServiceAccount:
        """Build from one item of `OpenEOAuth.client_credentials`; refuses a literal secret."""
        if "client_secret" in entry or "secret" in entry:
            raise ValueError(
                "OpenEOAuth.client_credentials must say where the secret is (secret_env, secret_file or "
                "secret_keyring), not hold the secret itself."
            )
        known = {"backend", "client_id", "provider_id", "issuer", "secret_env", "secret_file", "secret_keyring"}
        return cls(**{k: v for k, v in entry.items() if k in known})

    def take_env_secret(self) -> None:
        """Move a `secret_env` secret from os.environ into this object, so that kernels, which inherit the
        server's environment, never see it."""
        if self.secret_env and self.secret_env in os.environ:
            object.__setattr__(self, "_env_secret", os.environ.pop(self.secret_env))

    def matches(self, backend_url: str, api_url: str) -> bool:
        """Does this entry apply to that back-end (given or resolved URL)?"""
        url = normalize_url(self.backend)
        return url in (backend_url, api_url)

    def provider_for(self, info: BackendInfo) -> str:
        """The one provider id of the back-end this account logs in with: the configured one, else the
        back-end's default (first) provider."""
        return self.provider_id or info.providers[0].id

    def bind_issuer(self, issuer: str) -> None:
        """Refuse to send the secret to another issuer than the account's: a back-end that lists another issuer
        under the account's provider id (changed, or hostile) gets nothing."""
        bound = self.issuer
        if bound is None:
            object.__setattr__(self, "issuer", issuer)  # pinned at first use
            return
        if not same_url(bound, issuer):
            raise ServiceAccountNotConfigured(
                f"The service account {self.client_id!r} belongs to {bound}, but the back-end now lists {issuer} "
                "for it; its secret is not sent there. Ask the administrator to check the back-end."
            )

    def read_secret(self) -> str:
        """The client secret (blocking: file or keyring). Raises with a sentence when it is not there."""
        secret = None
        if self.secret_env:
            secret = self._env_secret or os.environ.get(self.secret_env)
        elif self.secret_file:
            path = Path(self.secret_file).expanduser()
            secret = path.read_text().strip() if path.is_file() else None
        elif self.secret_keyring:
            import keyring

            service, _, user = self.secret_keyring.partition("/")
            secret = keyring.get_password(service, user)
        if not secret:
            where = (
                self.secret_env
                and f"environment variable {self.secret_env}"
                or self.secret_file
                or (f"keyring entry {self.secret_keyring}")
            )
            raise ServiceAccountNotConfigured(
                f"The secret of service account {self.client_id!r} is not available from {where}. "
                "Ask the administrator of this Jupyter server to set it."
            )
        return secret

    async def secret(self, timeout: float) -> str:
        """The client secret, read in the keyring pool (a file or keyring may hang) within `timeout` seconds."""
        try:
            return await in_keyring_pool(self.read_secret, timeout=timeout)
        except asyncio.TimeoutError:
            raise ServiceAccountNotConfigured(
                f"The secret of service account {self.client_id!r} could not be read within {timeout:g} s (a "
                "keyring that does not answer?). Try again, or ask the administrator."
            ) from None


def find_account(accounts: list[ServiceAccount], info: BackendInfo, provider_id: str) -> ServiceAccount:
    """The configured account for a back-end and provider, or `ServiceAccountNotConfigured` (HTTP 400) with a
    sentence. Each account is bound to one provider of its back-end and one issuer (see `bind_issuer`)."""
    mine = [account for account in accounts if account.matches(info.url, info.api_url)]
    for account in mine:
        if account.provider_for(info) == provider_id:
            account.bind_issuer(info.provider(provider_id).issuer)
            return account
    if mine:
        bound = ", ".join(sorted({account.provider_for(info) for account in mine}))
        raise ServiceAccountNotConfigured(
            f"The service account for {info.url} on this Jupyter server logs in with provider {bound}, not "
            f"{provider_id!r}; its secret goes to that provider only. Leave the provider out, or ask the "
            "administrator to configure an account for it."
        )
    raise ServiceAccountNotConfigured(
        f"No service account is configured for {info.url} on this Jupyter server. An administrator can add "
        "one with OpenEOAuth.client_credentials."
    )
