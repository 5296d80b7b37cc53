"""The OpenAPI 3 description of the REST API (served at openeo-auth/api/openapi.json)."""

from __future__ import annotations

from .. import __version__

STATES = ["pending", "logged_in", "denied", "expired", "failed", "cancelled"]


def _obj(props: dict, required=()) -> dict:
    return {"type": "object", "properties": props, "required": list(required)}


S, N, B = {"type": "string"}, {"type": "number"}, {"type": "boolean"}
ERROR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(desc: str, ref: str) -> dict:
    return {"description": desc, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _body(ref: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _q(name: str, required: bool = True) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": S}


SCHEMAS = {
    "Error": _obj({"reason": S, "message": S}, ["reason", "message"]),
    "Providers": _obj(
        {
            "backend": S,
            "api_url": S,
            "api_version": S,
            "providers": {
                "type": "array",
                "items": _obj({"id": S, "title": S, "issuer": S, "flows": {"type": "array", "items": S}}),
            },
        },
        ["backend", "providers"],
    ),
    "LoginRequest": _obj(
        {
            "backend": S,
            "provider_id": S,
            "client_id": S,
            "flow": {"enum": ["device", "client_credentials", "password"]},
            "username": S,
            "password": {"type": "string", "format": "password"},
        },
        ["backend"],
    ),
    "Login": _obj(
        {
            "id": S,
            "state": {"enum": STATES},
            "backend": S,
            "provider_id": S,
            "flow": S,
            "message": S,
            "user": _obj({"sub": S, "name": S, "email": S}),
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
    "Sessions": _obj(
        {
            "sessions": {
                "type": "array",
                "items": _obj(
                    {
                        "backend": S,
                        "provider_id": S,
                        "flow": S,
                        "user": _obj({"sub": S, "name": S, "email": S}),
                        "access_expires_at": {"type": ["number", "null"]},
                        "refreshable": B,
                        "login_required": B,
                        "account_problem": {"type": ["string", "null"]},
                        "login": {
                            "type": "string",
                            "description": "names the login; the same for every back-end it serves",
                        },
                        "issuer": S,
                        "serves": {
                            "type": "array",
                            "items": S,
                            "description": "every back-end this login serves (same issuer and client)",
                        },
                    }
                ),
            }
        },
        ["sessions"],
    ),
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
            "backend": S,
            "provider_id": S,
            "min_valid": N,
            "flow": {"enum": ["device", "client_credentials", "password", "hub"]},
        },
        ["backend"],
    ),
    "Token": _obj(
        {
            "access_token": S,
            "expires_at": {"type": ["number", "null"]},
            "provider_id": S,
            "bearer": S,
            "user": _obj({"sub": S, "name": S, "email": S}),
        },
        ["access_token", "expires_at", "provider_id", "bearer"],
    ),
}


def openapi_document() -> dict:
    """The document; paths are relative to the server's base_url."""
    paths = {
        "/openeo-auth/api/providers": {
            "get": {
                "summary": "The OpenID providers of a back-end",
                "parameters": [_q("backend")],
                "responses": {"200": _json("providers", "Providers"), "400": ERROR, "502": ERROR},
            }
        },
        "/openeo-auth/api/settings": {
            "get": {
                "summary": "What the login dialog shows: the default back-end, where service accounts are",
                "responses": {"200": _json("settings (never a secret)", "Settings")},
            }
        },
        "/openeo-auth/api/logins": {
            "post": {
                "summary": "Start a login, or reuse a valid session",
                "requestBody": _body("LoginRequest"),
                "responses": {
                    "200": _json("logged in", "Login"),
                    "202": _json("pending device login", "Login"),
                    "400": ERROR,
                    "403": ERROR,
                    "429": ERROR,
                    "502": ERROR,
                    "503": ERROR,
                },
            }
        },
        "/openeo-auth/api/logins/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": S}],
            "get": {"summary": "A login's state", "responses": {"200": _json("login", "Login"), "404": ERROR}},
            "delete": {
                "summary": "Cancel a pending login",
                "responses": {"200": _json("login", "Login"), "404": ERROR},
            },
        },
        "/openeo-auth/api/sessions": {
            "get": {
                "summary": "The sessions, one per back-end a login serves (never a token); with backend, a login "
                "that can serve it (same issuer and client, or the hub's) is listed for it too",
                "parameters": [_q("backend", False)],
                "responses": {"200": _json("sessions", "Sessions")},
            },
            "delete": {
                "summary": "Log out: forget, revoke and unpersist",
                "parameters": [_q("backend"), _q("provider_id", False)],
                "responses": {
                    "200": _json("logged out; revoked says whether the provider revoked the login", "Logout"),
                    "400": ERROR,
                },
            },
        },
        "/openeo-auth/api/token": {
            "post": {
                "summary": "An access token valid for at least min_valid seconds",
                "requestBody": _body("TokenRequest"),
                "responses": {
                    "200": _json("token (Cache-Control: no-store)", "Token"),
                    "404": ERROR,
                    "409": ERROR,
                    "503": ERROR,
                },
            }
        },
        "/openeo-auth/api/openapi.json": {
            "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3"}}}
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "jupyter-openeo-auth",
            "version": __version__,
            "description": "openEO logins held by the Jupyter server. Every route needs the server's authentication.",
        },
        "paths": paths,
        "components": {"schemas": SCHEMAS},
    }
