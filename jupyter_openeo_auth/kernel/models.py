"""The REST API's answers as the kernel side and the CLI read them: one TypedDict per schema of openapi.json
(required keys in the first class, the others in its `total=False` subclass; a unit test checks both against
the document). Only for type checking: at run time they are the JSON dicts the server sent."""

from __future__ import annotations

from typing import TypedDict


class User(TypedDict, total=False):
    sub: str
    name: str
    email: str


class _Login(TypedDict):
    id: str
    state: str  # a wire.LoginState


class Login(_Login, total=False):
    """`GET logins/ID`, `POST logins`, `DELETE logins/ID`."""

    backend: str
    provider_id: str
    flow: str  # a wire.Flow
    message: str
    user: User
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_at: float
    interval: float
    qr_svg: str
    through_server: bool


class _Session(TypedDict):
    backend: str
    provider_id: str
    flow: str
    user: User
    access_expires_at: float | None
    refreshable: bool


class Session(_Session, total=False):
    """One entry of `GET sessions`: never a token."""

    login_required: bool
    account_problem: str | None
    login: str
    issuer: str
    client_id: str
    login_expires_at: float | None
    login_ending: bool
    serves: list[str]


class _Token(TypedDict):
    access_token: str
    expires_at: float | None
    provider_id: str
    bearer: str


class Token(_Token, total=False):
    """`POST token`."""

    user: User


class Provider(TypedDict):
    id: str
    title: str
    issuer: str
    flows: list[str]


class _Providers(TypedDict):
    backend: str
    providers: list[Provider]


class Providers(_Providers, total=False):
    """`GET providers`."""

    api_url: str
    api_version: str


class _Settings(TypedDict):
    default_backend: str


class Settings(_Settings, total=False):
    """`GET settings`."""

    service_account_backends: list[str]
    allowed_backends: list[str]


class _Logout(TypedDict):
    logged_out: int
    revoked: bool


class Logout(_Logout, total=False):
    """`DELETE sessions`."""

    message: str
    backends: list[str]
