"""What each login flow is, in one place: which grant types a provider's client must list for it, whether users
start it and how it gets its first tokens, how it is renewed, whether its refresh token is stored, which
back-ends and clients it may serve, who it says logged in and how it is described. The OIDC core, the broker's
rooms and the kernel side ask the flow (`flow_of(key.flow).stored`) instead of checking `flow == …`; a unit
test (tests/unit/test_layout.py) finds no such check anywhere else.

Adding a flow: one `LoginFlow` here and its entry in `FLOWS`, its name in `wire.Flow` and in openapi.json's
`Flow` (and `LoginFlow` when users start it), and, when users start it, its first token request: the method
of `broker.first_tokens.FirstTokens` that `first_tokens` names.
"""

from __future__ import annotations

from dataclasses import dataclass

from .wire import Flow

#: openEO's grant type names (`default_clients[].grant_types` of `GET /credentials/oidc`).
DEVICE_PKCE = "urn:ietf:params:oauth:grant-type:device_code+pkce"
DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class LoginFlow:
    """One login flow's rules (google-auth has one credentials class per grant; this is their common face)."""

    name: Flow
    #: The grant types a provider's client may list for it, most preferred first (none: not at a provider).
    grant_types: tuple[str, ...] = ()
    #: How its first tokens are had: the `FirstTokens` method (none: they come from elsewhere, the hub).
    first_tokens: str = ""
    #: How its renewal is described to the user ("Logged in as NAME — renewed automatically").
    renewal: str = "renewed automatically"
    #: Users start it with `POST logins` (JupyterHub's login comes from the hub).
    startable: bool = True
    #: The user approves it at the provider (device code, which needs the provider's device endpoint, with PKCE
    #: unless the client lists the plain device grant); else one token request makes it.
    interactive: bool = False
    #: Its refresh token goes to the store (a service account's secret is configured; the hub keeps its own).
    stored: bool = True
    #: Its refresh token is one account's at a provider: it may serve every back-end listing the same issuer
    #: (and client). A service account's configuration names its back-end.
    shared: bool = True
    #: Renewed by logging in again with the configured credentials, not with a refresh token.
    renews_by_logging_in_again: bool = False
    #: Can new tokens be had without a refresh token (credentials again, or the hub's own renewal)?
    renews_without_refresh_token: bool = False
    #: Who logged in is a person, asked at the provider's userinfo endpoint and checked at the back-end
    #: (`GET /me`); else the client itself (a service account) is who it is.
    has_a_person: bool = True
    #: Serves a notebook whatever client it names (JupyterHub's login is the hub's client).
    any_client: bool = False
    #: Other flows whose logins a request for this one may use (a device login request takes the hub's login).
    reuses: tuple[Flow, ...] = ()
    #: Its tokens come from JupyterHub's own login (`broker.hub_sessions`), asked for when first needed.
    from_the_hub: bool = False


FLOWS: dict[str, LoginFlow] = {
    Flow.DEVICE: LoginFlow(Flow.DEVICE, (DEVICE_PKCE, DEVICE), "device", interactive=True, reuses=(Flow.HUB,)),
    Flow.CLIENT_CREDENTIALS: LoginFlow(
        Flow.CLIENT_CREDENTIALS,
        ("client_credentials",),
        "service_account",
        stored=False,
        shared=False,
        renews_by_logging_in_again=True,
        renews_without_refresh_token=True,
        has_a_person=False,
    ),
    Flow.PASSWORD: LoginFlow(Flow.PASSWORD, ("password",), "password"),
    Flow.HUB: LoginFlow(
        Flow.HUB,
        renewal="through JupyterHub",
        startable=False,
        stored=False,
        renews_without_refresh_token=True,
        any_client=True,
        from_the_hub=True,
    ),
}

#: The flows `POST logins` starts (openapi.json's `LoginFlow`), and those whose logins may serve other back-ends.
STARTABLE = tuple(f.name for f in FLOWS.values() if f.startable)
SHARED = tuple(f.name for f in FLOWS.values() if f.shared)


def flow_of(name: str) -> LoginFlow:
    """The rules of a flow by its wire name (KeyError for a name that is none)."""
    return FLOWS[name]
