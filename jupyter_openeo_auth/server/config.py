"""Checks of settings that traitlets cannot check by type: a value that cannot be used stops the extension
with a sentence that names the setting and shows a correct example, instead of failing later per request."""

from __future__ import annotations

import ast
import json
import typing

from traitlets import Any
from traitlets import List as ListTrait

from ..broker import ServiceAccount
from ..oidc import InvalidBackendUrl, normalize_url

EXAMPLE = (
    'c.OpenEOAuth.client_credentials = [{"backend": "https://openeo.cloud", "client_id": "my-service", '
    '"secret_env": "OPENEO_SERVICE_SECRET"}]   # or on the command line: '
    """--OpenEOAuth.client_credentials='[{"backend": "https://openeo.cloud", "client_id": "my-service", """
    """"secret_file": "~/.openeo-service-secret"}]'"""
)
SOURCES = ("secret_env", "secret_file", "secret_keyring")
KNOWN = {"backend", "client_id", "provider_id", "issuer", *SOURCES}


class BadSetting(ValueError):
    """A setting that cannot be used; the message names it and shows how to write it."""


class EntryList(ListTrait):
    """A list of dicts that also takes the JSON (or Python literal) a command line gives: traitlets hands an
    extension's `--OpenEOAuth.x='[{...}]'` over as a string. Entries are checked by `service_accounts`, so
    that a wrong one stops the extension with a sentence instead of a warning that is easy to miss."""

    def __init__(self, **kwargs):
        super().__init__(Any(), **kwargs)

    def validate(self, obj, value):
        if isinstance(value, str):
            value = [value]
        items = []
        for item in super().validate(obj, value) or ():
            if isinstance(item, str):
                item = _literal(item)
            items.extend(item if isinstance(item, list) else [item])
        return items


def _literal(text: str) -> typing.Any:
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError):
            pass
    return text


def service_accounts(entries: typing.Any) -> list[ServiceAccount]:
    """`OpenEOAuth.client_credentials` as service accounts, or `BadSetting`."""
    accounts = []
    for i, entry in enumerate(entries):
        where = f"OpenEOAuth.client_credentials[{i}]"
        if not isinstance(entry, dict):
            raise BadSetting(f"{where} must be a dict, not {type(entry).__name__}. Example: {EXAMPLE}")
        if "client_secret" in entry or "secret" in entry:
            raise BadSetting(
                f"{where} must say where the secret is ({', '.join(SOURCES)}), never hold the "
                f"secret itself. Example: {EXAMPLE}"
            )
        unknown = sorted(set(entry) - KNOWN)
        sources = [k for k in SOURCES if entry.get(k)]
        problem = None
        if unknown:
            problem = f"has unknown keys {unknown}"
        elif not isinstance(entry.get("client_id"), str) or not entry["client_id"]:
            problem = "needs a client_id"
        elif len(sources) != 1 or not all(isinstance(entry[k], str) for k in sources):
            problem = f"needs exactly one of {', '.join(SOURCES)} (a string)"
        else:
            try:
                normalize_url(entry.get("backend"))  # type: ignore[arg-type] # a missing one is refused
            except InvalidBackendUrl as e:
                problem = f"needs a valid backend URL ({e.message})"
        if problem:
            raise BadSetting(f"{where} {problem}. Example: {EXAMPLE}")
        accounts.append(ServiceAccount.from_config(entry))
    return accounts


def checked_urls(urls: typing.Any, setting: str) -> list[str]:
    """A list of back-end URLs, normalised, or `BadSetting` naming the one that is not a URL."""
    try:
        return [normalize_url(u) for u in urls]
    except InvalidBackendUrl as e:
        raise BadSetting(
            f'OpenEOAuth.{setting}: {e.message} Example: c.OpenEOAuth.{setting} = ["https://openeo.cloud"]'
        ) from None
