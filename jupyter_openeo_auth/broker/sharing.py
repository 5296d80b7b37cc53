"""One login per account at a provider, not per back-end. A refresh token belongs to an issuer and the client
it was issued to: every back-end whose `/credentials/oidc` lists that issuer, and would use that client, can be
served by the same login (the openeo client keys its refresh-token store the same way). JupyterHub's login is
the hub's own client, so it serves every back-end that lists its issuer."""

from __future__ import annotations

from ..flows import flow_of
from ..oidc import OidcProviderInfo, OpenEOAuthError, same_url
from .sessions import Session

#: Do two issuer URLs name the same provider (case of the host, default port, trailing slash aside)?
same_issuer = same_url


def client_for(provider: OidcProviderInfo, flow: str, client_id: str | None = None) -> str | None:
    """The client a back-end's provider entry would use for a flow (the one asked for, else its default client
    for the flow); None when it lists none."""
    if client_id:
        return client_id
    try:
        return provider.choose_client(flow)[0]
    except OpenEOAuthError:
        return None


def can_serve(session: Session, provider: OidcProviderInfo, client_id: str | None = None) -> bool:
    """May this login serve a back-end through this provider entry: same issuer and, except for JupyterHub's
    login, the same client the back-end would use?"""
    flow = session.key.flow
    if not flow_of(flow).shared or not session.usable:
        return False
    if not same_issuer(session.client.metadata.issuer, provider.issuer):
        return False
    return flow_of(flow).any_client or client_for(provider, flow, client_id) == session.client.client_id
