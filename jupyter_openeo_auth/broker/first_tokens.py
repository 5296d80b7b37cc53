"""How each login flow gets its first tokens at a back-end's provider: the OAuth client for the flow, a device
authorization (then polled by the `LoginRunner`), or one token request for a service account or a password;
and who logged in when no id token came. The broker decides which; this room talks to the provider."""

from __future__ import annotations

import dataclasses
import logging

from ..flows import flow_of
from ..oidc import (
    AsyncDeviceAuthorization,
    AsyncHttpClient,
    AsyncOidcClient,
    BackendInfo,
    OpenEOAuthError,
    TokenSet,
    issuer_cache,
)
from ..wire import Flow
from .service_accounts import ServiceAccount, find_account
from .session_key import SessionKey


class FirstTokens:
    """Starts logins at providers, with the server's HTTP client and service accounts."""

    def __init__(
        self, http: AsyncHttpClient, service_accounts: list[ServiceAccount], secret_timeout: float, log: logging.Logger
    ):
        self.http = http
        self.service_accounts = service_accounts
        self.secret_timeout = secret_timeout
        self.log = log

    async def client(
        self,
        info: BackendInfo,
        provider_id: str | None,
        flow: str,
        client_id: str | None = None,
        secret: str | None = None,
    ) -> tuple[AsyncOidcClient, bool]:
        """(client, use PKCE) for a flow at one of the back-end's providers: the client asked for, else the
        back-end's default client for the flow."""
        provider = info.provider(provider_id)
        client_id, pkce = provider.choose_client(flow, client_id)  # PKCE for confidential clients too (RFC 9700)
        metadata = await issuer_cache.get(provider.issuer, self.http)
        client = AsyncOidcClient(metadata, client_id, client_secret=secret, scopes=provider.scopes, http=self.http)
        return client, pkce

    async def device(
        self, info: BackendInfo, provider_id: str, client_id: str | None, secret: str | None = None
    ) -> AsyncDeviceAuthorization:
        """A device authorization (RFC 8628, with PKCE where the client is public) for the user to approve;
        `secret` is a confidential client's own (the openeo client's auth-config.json), kept with the login."""
        client, pkce = await self.client(info, provider_id, Flow.DEVICE, client_id, secret)
        return await client.start_device_authorization(pkce)

    async def direct(
        self,
        info: BackendInfo,
        key: SessionKey,
        client_id: str | None,
        username: str | None,
        password: str | None,
        client_secret: str | None = None,
    ) -> tuple[AsyncOidcClient, TokenSet]:
        """One token request, no polling: the method the flow's rules name (`LoginFlow.first_tokens`)."""
        rules = flow_of(key.flow)
        if rules.interactive or not rules.first_tokens:
            raise OpenEOAuthError(f"The {key.flow} flow gets no tokens with one request.")
        request = getattr(self, rules.first_tokens)
        return await request(info, key, client_id, username, password, client_secret)

    async def service_account(
        self, info: BackendInfo, key: SessionKey, *_request: str | None
    ) -> tuple[AsyncOidcClient, TokenSet]:
        """Client credentials of the server's service account for the back-end (nothing of the request counts)."""
        account = find_account(self.service_accounts, info, key.provider_id)
        secret = await account.secret(self.secret_timeout)
        client, _ = await self.client(info, key.provider_id, key.flow, account.client_id, secret)
        return client, await client.client_credentials()

    async def password(
        self,
        info: BackendInfo,
        key: SessionKey,
        client_id: str | None,
        username: str | None,
        password: str | None,
        client_secret: str | None = None,
    ) -> tuple[AsyncOidcClient, TokenSet]:
        """The resource owner password grant; the password is not kept."""
        if not username or not password:
            raise OpenEOAuthError("The password flow needs a username and a password.")
        client, _ = await self.client(info, key.provider_id, key.flow, client_id, client_secret)
        return client, await client.password(username, password)

    async def with_user(self, client: AsyncOidcClient, tokens: TokenSet) -> TokenSet:
        """Who logged in, asked at the provider's userinfo endpoint with the new access token: the verified
        source of the name shown and kept (an id token in the answer is not trusted undecoded). Without an
        answer the login works on, unnamed."""
        try:
            claims = await client.userinfo(tokens.access_token)
        except OpenEOAuthError as e:
            self.log.info("Could not ask %s who logged in: %s", client.metadata.issuer, e)
            return tokens
        if not claims:
            self.log.info("%s did not say who logged in (no userinfo); the login has no name.", client.metadata.issuer)
        return dataclasses.replace(tokens, id_claims=claims)
