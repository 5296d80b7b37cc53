"""HTTP for the OIDC core: every call has a timeout, and every failure becomes an error with a sentence."""

from __future__ import annotations

import json
from typing import Optional, Tuple, Type
from urllib.parse import urlsplit

import requests

from .errors import BadResponse, OpenEOAuthError, ProviderUnavailable

DEFAULT_TIMEOUT = 10.0


def _where(url: str) -> str:
    """The URL without query string: query strings may carry codes, and the path is what the user needs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class HttpClient:
    """A small `requests` wrapper: JSON in, JSON out, errors as `OpenEOAuthError` types."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, session: Optional[requests.Session] = None):
        self.timeout = timeout
        self.session = session or requests.Session()

    def __repr__(self) -> str:
        return f"HttpClient(timeout={self.timeout})"

    def _send(self, method: str, url: str, unavailable: Type[OpenEOAuthError], **kwargs) -> requests.Response:
        try:
            return self.session.request(method, url, timeout=self.timeout, allow_redirects=True, **kwargs)
        except requests.Timeout:
            raise unavailable(f"{_where(url)} did not answer within {self.timeout:g} s. Try again later.") from None
        except requests.ConnectionError:
            raise unavailable(
                f"Cannot connect to {_where(url)}: the service is down or the address is wrong. "
                "Check the URL and your network, then try again."
            ) from None
        except requests.RequestException as e:
            raise unavailable(f"Request to {_where(url)} failed ({type(e).__name__}). Try again later.") from None

    @staticmethod
    def _json(resp: requests.Response) -> Optional[dict]:
        """The JSON object of a response, or None when the body is not a JSON object."""
        try:
            data = resp.json()
        except (ValueError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None

    @staticmethod
    def _bad(resp: requests.Response) -> BadResponse:
        kind = resp.headers.get("Content-Type", "no content type").split(";")[0]
        return BadResponse(
            f"{_where(resp.url)} answered HTTP {resp.status_code} with {kind} instead of JSON; "
            "the service may be down or under maintenance. Try again later.",
            status=resp.status_code,
        )

    def get_json(
        self, url: str, *, headers: Optional[dict] = None, unavailable: Type[OpenEOAuthError] = ProviderUnavailable
    ) -> Tuple[int, dict]:
        """GET a JSON object: (status, body). Raises `BadResponse` when the body is not a JSON object."""
        resp = self._send("GET", url, unavailable, headers={"Accept": "application/json", **(headers or {})})
        data = self._json(resp)
        if data is None:
            raise self._bad(resp)
        return resp.status_code, data

    def post_form(self, url: str, data: dict, *, auth: Optional[Tuple[str, str]] = None) -> Tuple[int, dict]:
        """POST a form to an OAuth endpoint: (status, JSON body). A 5xx or non-JSON answer raises."""
        resp = self._send("POST", url, ProviderUnavailable, data=data, auth=auth, headers={"Accept": "application/json"})
        body = self._json(resp)
        if resp.status_code >= 500:
            raise ProviderUnavailable(
                f"The OpenID provider at {_where(url)} answered HTTP {resp.status_code}; it may be under "
                "maintenance. Try again later."
            )
        if body is None:
            if resp.status_code < 300 and not resp.content:
                return resp.status_code, {}
            raise self._bad(resp)
        return resp.status_code, body
