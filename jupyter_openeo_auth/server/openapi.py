"""The OpenAPI 3.1 description of the REST API, served at openeo-auth/api/openapi.json: the one description of
every route, request and answer, errors included. The tests validate every answer they receive against it
(tests/openapi_check.py), and a schemathesis run checks the live server against it. Answers are closed
(`additionalProperties: false`): a field the server sends must be described here first."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from .._version import __version__
from ..flows import STARTABLE
from ..wire import API_PREFIX, Flow, LoginState, Reason

S: dict[str, Any] = {"type": "string"}
N: dict[str, Any] = {"type": "number"}
B: dict[str, Any] = {"type": "boolean"}
URL = {
    "type": "string",
    "format": "uri",
    "minLength": 1,
    "description": "an openEO back-end URL (a bare host name is taken as https://HOST)",
}
USER = {
    "type": "object",
    "description": "who logged in: id token claims (sub, name, email, ...), or a service account's client id",
    "properties": {"sub": S, "name": S, "email": S},
    "additionalProperties": True,
}


def _obj(props: dict, required: Sequence[str] = (), closed: bool = True) -> dict:
    out: dict[str, Any] = {"type": "object", "properties": props, "required": list(required)}
    if closed:
        out["additionalProperties"] = False
    return out


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(desc: str, ref: str) -> dict:
    return {"description": desc, "content": {"application/json": {"schema": _ref(ref)}}}


def _body(ref: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": _ref(ref)}}}


def _q(name: str, required: bool = True, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema or S}


#: What each error status means; every operation lists the ones it can answer.
ERRORS = {
    "400": "bad input: a missing or malformed parameter, an invalid back-end URL, a flow the provider lacks",
    "401": "no credentials at all (neither the server's token, its login cookie, nor a kernel's key)",
    "403": "not authenticated (jupyter_server answers API requests without credentials with 403), or not allowed: "
    "a cookie-authenticated request another web site made the browser send (cross_site), not the server's "
    "owner, a back-end outside allowed_backends, an account the back-end refuses, an invalid kernel key",
    "404": "not found: no login for that back-end, no such login id, no such route; or a request a page of "
    "another web site sent with its Origin (jupyter_server answers those with 404)",
    "409": "log in again: the login can no longer be renewed",
    "410": "the login was deleted (cancelled) with DELETE logins/ID; the message says how it ended",
    "429": "too many logins waiting for approval",
    "502": "the back-end or the provider answered something unusable, or cannot be reached",
    "503": "the provider is unavailable for now (Retry-After when it said)",
}
#: What every operation may answer: no credentials, not allowed, or (jupyter_server's) a foreign Origin. (A method
#: a route does not answer gets 405 with an `Error`: it is no operation of the document.)
COMMON = ("401", "403", "404")


def _errors(*statuses: str) -> dict:
    out: dict[str, Any] = {
        s: {"description": ERRORS[s], "content": {"application/json": {"schema": _ref("Error")}}}
        for s in (*statuses, *COMMON)
    }
    if "503" in out:
        out["503"]["headers"] = {
            "Retry-After": {"description": "seconds until the server tries the provider again", "schema": S}
        }
    return out


SESSION = _obj(
    {
        "backend": S,
        "provider_id": S,
        "flow": _ref("Flow"),
        "user": USER,
        "access_expires_at": {"type": ["number", "null"]},
        "refreshable": B,
        "login_required": B,
        "account_problem": {"type": ["string", "null"]},
        "login": {"type": "string", "description": "names the login; the same for every back-end it serves"},
        "issuer": S,
        "client_id": {"type": "string", "description": "the OpenID client the login was made with (not a secret)"},
        "login_expires_at": {
            "type": ["number", "null"],
            "description": "when the login ends however often it is renewed (a provider's session maximum); "
            "null while the provider has not said",
        },
        "login_ending": {"type": "boolean", "description": "the end is near: log in again before login_expires_at"},
        "serves": {
            "type": "array",
            "items": S,
            "description": "every back-end this login serves (same issuer and client)",
        },
    },
    ["backend", "provider_id", "flow", "user", "access_expires_at", "refreshable"],
)

SCHEMAS = {
    "Flow": {
        "enum": [flow.value for flow in Flow],
        "description": "how a login was made; `hub`: JupyterHub's own login (Flow in wire.py and in api.ts)",
    },
    "LoginFlow": {
        "enum": [flow.value for flow in STARTABLE],
        "description": "the flows POST logins starts",
    },
    "LoginState": {"enum": [state.value for state in LoginState], "description": "where a login is"},
    "Reason": {
        "enum": [reason.value for reason in Reason],
        "description": "why a request failed, for programs (Reason in wire.py and api.ts); the message is for people",
    },
    "Error": _obj({"reason": _ref("Reason"), "message": S}, ["reason", "message"]),
    "Providers": _obj(
        {
            "backend": S,
            "api_url": S,
            "api_version": S,
            "providers": {
                "type": "array",
                "items": _obj(
                    {"id": S, "title": S, "issuer": S, "flows": {"type": "array", "items": _ref("LoginFlow")}},
                    ["id", "title", "issuer", "flows"],
                ),
            },
        },
        ["backend", "providers"],
    ),
    "LoginRequest": _obj(
        {
            "backend": URL,
            "provider_id": {"type": ["string", "null"]},
            "client_id": {"type": ["string", "null"]},
            "flow": {"anyOf": [_ref("LoginFlow"), {"type": "null"}], "description": "null: the device flow"},
            "username": {"type": ["string", "null"]},
            "password": {"type": ["string", "null"], "format": "password"},
            "client_secret": {
                "type": ["string", "null"],
                "format": "password",
                "description": "the secret of the confidential client `client_id` (openeo's auth-config.json)",
            },
        },
        ["backend"],
        closed=False,
    ),
    "Login": _obj(
        {
            "id": S,
            "state": _ref("LoginState"),
            "backend": S,
            "provider_id": S,
            "flow": _ref("Flow"),
            "message": S,
            "user": USER,
            "user_code": S,
            "verification_uri": S,
            "verification_uri_complete": S,
            "expires_at": N,
            "interval": N,
            "qr_svg": S,
            "through_server": B,
        },
        ["id", "state"],
    ),
    "Logins": _obj({"logins": {"type": "array", "items": _ref("Login")}}, ["logins"]),
    "Sessions": _obj({"sessions": {"type": "array", "items": SESSION}}, ["sessions"]),
    "Settings": _obj(
        {
            "default_backend": S,
            "service_account_backends": {"type": "array", "items": S},
            "allowed_backends": {"type": "array", "items": S},
        },
        ["default_backend"],
    ),
    "Logout": _obj(
        {
            "logged_out": {"type": "integer"},
            "revoked": B,
            "message": S,
            "backends": {"type": "array", "items": S, "description": "every back-end the ended logins served"},
        },
        ["logged_out", "revoked"],
    ),
    "TokenRequest": _obj(
        {
            "backend": URL,
            "provider_id": {"type": ["string", "null"]},
            "min_valid": {"type": ["number", "null"]},
            "flow": {"anyOf": [_ref("Flow"), {"type": "null"}]},
        },
        ["backend"],
        closed=False,
    ),
    "Token": _obj(
        {"access_token": S, "expires_at": {"type": ["number", "null"]}, "provider_id": S, "bearer": S, "user": USER},
        ["access_token", "expires_at", "provider_id", "bearer"],
    ),
}


_API = f"/{API_PREFIX}"
#: Every route, relative to the server's base URL.
PATHS: dict[str, Any] = {
    f"{_API}/providers": {
        "get": {
            "summary": "The OpenID providers of a back-end",
            "parameters": [_q("backend", schema=URL)],
            # a provider that cannot be asked now is listed with what the back-end says: no 503
            "responses": {"200": _json("providers", "Providers"), **_errors("400", "502")},
        }
    },
    f"{_API}/settings": {
        "get": {
            "summary": "What the login dialog shows: the default back-end, where service accounts are",
            "responses": {"200": _json("settings (never a secret)", "Settings"), **_errors()},
        }
    },
    f"{_API}/logins": {
        "get": {
            "summary": "The logins waiting for approval (a JupyterLab tab opened meanwhile shows them)",
            "responses": {"200": _json("pending logins", "Logins"), **_errors()},
        },
        "post": {
            "summary": "Start a login, or reuse a valid session",
            "requestBody": _body("LoginRequest"),
            "responses": {
                "200": _json("logged in", "Login"),
                "202": _json("pending device login", "Login"),
                **_errors("400", "404", "429", "502", "503"),
            },
        },
    },
    f"{_API}/logins/{{id}}": {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": S}],
        "get": {
            "summary": "A login's state",
            "responses": {"200": _json("login", "Login"), **_errors("404", "410")},
        },
        "delete": {
            "summary": "Cancel a pending login and forget it (a later GET answers 410)",
            "parameters": [
                {
                    "name": "unless_waited_for",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["true", "false"]},
                    "description": "true: the caller stops waiting; cancel only if nobody else asked lately",
                }
            ],
            "responses": {"200": _json("login", "Login"), **_errors("400", "404", "410")},
        },
    },
    f"{_API}/sessions": {
        "get": {
            "summary": "The sessions, one per back-end a login serves (never a token); with backend, a login "
            "that can serve it (same issuer and client, or the hub's) is listed for it too",
            "parameters": [_q("backend", False)],
            "responses": {"200": _json("sessions", "Sessions"), **_errors("400")},
        },
        "delete": {
            "summary": "Log out: forget, revoke and unpersist; ends the login for every back-end it serves",
            "parameters": [_q("backend", schema=URL), _q("provider_id", False)],
            "responses": {
                "200": _json("logged out; revoked says whether the provider revoked the login", "Logout"),
                # a provider that cannot be asked to revoke is said in the message: no 503
                **_errors("400", "502"),
            },
        },
    },
    f"{_API}/token": {
        "post": {
            "summary": "An access token valid for at least min_valid seconds",
            "requestBody": _body("TokenRequest"),
            "responses": {
                "200": _json("token (Cache-Control: no-store)", "Token"),
                **_errors("400", "404", "409", "502", "503"),
            },
        }
    },
    f"{_API}/openapi.json": {
        "get": {
            "summary": "This document",
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}, **_errors()},
        }
    },
}


#: Every route answers a CORS preflight (jupyter_server's): no credentials, no body, nothing changes. It lets
#: another site in only where jupyter_server's `allow_origin` names it (Access-Control-Allow-Origin); else
#: the browser sends nothing further.
OPTIONS = {
    "summary": "CORS preflight (jupyter_server's): changes nothing",
    "security": [],
    "responses": {
        "200": {
            "description": "the methods and headers a request may use (no body)",
            "headers": {
                "Access-Control-Allow-Methods": {"schema": S},
                "Access-Control-Allow-Headers": {"schema": S},
                "Access-Control-Allow-Origin": {
                    "schema": S,
                    "description": "only for a site jupyter_server's allow_origin settings name",
                },
            },
        },
    },
}
for _template, _path in PATHS.items():
    # logins/{id} is left out: its preflight answers alike whether or not the login exists (it carries no
    # credentials, so it must not tell), which a reader would take for the login's existence.
    if "{id}" not in _template:
        _path["options"] = OPTIONS

#: Where schemathesis's stateful phase (and a reader) goes from a new login: its state, and its cancellation.
PATHS[f"{_API}/logins"]["post"]["responses"]["202"]["links"] = {
    "GetLogin": {"operationId": "getLogin", "parameters": {"id": "$response.body#/id"}},
    "CancelLogin": {"operationId": "cancelLogin", "parameters": {"id": "$response.body#/id"}},
}
PATHS[f"{_API}/logins/{{id}}"]["get"]["operationId"] = "getLogin"
PATHS[f"{_API}/logins/{{id}}"]["delete"]["operationId"] = "cancelLogin"


def openapi_document(base_url: str = "/", example_backend: str | None = None) -> dict:
    """The document. Paths are relative to the server's base URL, which `servers` names. The served one names
    the server's default back-end as the example of `backend`: a reader (and schemathesis) can try a login."""
    schemas = SCHEMAS
    if example_backend:
        schemas = copy.deepcopy(SCHEMAS)
        for name in ("LoginRequest", "TokenRequest"):
            schemas[name]["properties"]["backend"] = {**URL, "examples": [example_backend]}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "jupyter-openeo-auth",
            "version": __version__,
            "description": "openEO logins held by the Jupyter server. Every route needs the server's authentication.",
        },
        "servers": [{"url": base_url.rstrip("/") or "/", "description": "this Jupyter server's base URL"}],
        "security": [{"jupyterToken": []}],
        "paths": PATHS,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "jupyterToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`token SERVER_TOKEN` (or the server's login cookie); kernels: `openeo-kernel KEY`",
                }
            },
        },
    }
