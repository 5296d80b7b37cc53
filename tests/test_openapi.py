"""openapi.json is the one description of the REST API: a property-based run (schemathesis) against a live
server finds nothing it does not describe, the TypeScript types name what it names, and the names both sides
share are those of `jupyter_openeo_auth.wire`. (Every answer the other tests receive is checked too: see
openapi_check.py.)"""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path

import pytest
import requests

from jupyter_openeo_auth.broker import LoginState
from jupyter_openeo_auth.devstack import jupyter_service
from jupyter_openeo_auth.flows import STARTABLE
from jupyter_openeo_auth.server.openapi import SCHEMAS, openapi_document
from jupyter_openeo_auth.wire import Flow, Reason

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: Every check is on; tests/schemathesis.toml says which statuses are right by design where a check would
#: otherwise expect another.
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture
def live_server(stack, tmp_path):
    token = secrets.token_hex(16)
    service = jupyter_service(
        tmp_path,
        token,
        config={"OpenEOAuth": {"persist": "never", "default_backend": stack.backend.url}},
        argv=["--ServerApp.base_url=/a@b/"],  # a base URL that needs quoting catches URL-joining bugs
    ).start()
    yield service, token
    service.cleanup()


def test_a_property_based_run_finds_nothing_the_document_does_not_describe(live_server, tmp_path):
    import subprocess

    service, token = live_server
    schema_url = f"{service.url}/a@b/openeo-auth/api/openapi.json"
    served = requests.get(schema_url, headers={"Authorization": f"token {token}"}, timeout=30).json()
    assert served["servers"] == [{"url": "/a@b", "description": "this Jupyter server's base URL"}]
    done = subprocess.run(
        [
            shutil.which("schemathesis") or "schemathesis",
            "--config-file",
            str(CONFIG),
            "run",
            schema_url,  # the routes from its `servers` entry
            "-H",
            f"Authorization: token {token}",
            "--checks",
            "all",
            "--max-examples",
            "50",
            "--seed",
            "20261130",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    report = done.stdout[-8000:] + done.stderr[-2000:]
    assert done.returncode == 0 and " passed" in report, report
    links = re.search(r"API Links:\s+(\d+) covered", report)
    assert links and int(links.group(1)) >= 2, report  # the stateful phase followed POST logins to its login
    assert token not in report


def typescript_fields(interface: str) -> set[str]:
    """The top-level field names of an exported TypeScript interface in labextension/src/api.ts."""
    source = (ROOT / "labextension" / "src" / "api.ts").read_text()
    body = re.search(rf"export interface {interface} \{{(.*?)\n\}}", source, re.S)
    assert body, interface
    fields, depth = set(), 0
    for line in body.group(1).splitlines():
        if depth == 0:
            found = re.match(r"\s*(\w+)\??:", line)
            if found:
                fields.add(found.group(1))
        depth += line.count("{") - line.count("}")
    return fields


@pytest.mark.parametrize(
    "interface, schema",
    [
        ("ISession", SCHEMAS["Sessions"]["properties"]["sessions"]["items"]),
        ("ILogin", SCHEMAS["Login"]),
        ("ILoginRequest", SCHEMAS["LoginRequest"]),
        ("IProvider", SCHEMAS["Providers"]["properties"]["providers"]["items"]),
        ("IToken", SCHEMAS["Token"]),
    ],
)
def test_the_typescript_types_name_what_the_document_names(interface, schema):
    # Flow and interval are not used by the labextension, which may leave them out; nothing else.
    ts = typescript_fields(interface)
    assert ts <= set(schema["properties"]), f"{interface} has fields openapi.json does not describe"
    assert set(schema["properties"]) - ts <= {"flow", "interval"}, f"{interface} lacks fields openapi.json names"


def typescript_union(name: str) -> list[str]:
    """The string literals of an exported TypeScript union type in labextension/src/api.ts."""
    source = (ROOT / "labextension" / "src" / "api.ts").read_text()
    found = re.search(rf"export type {name} =(.*?);", source, re.S)
    assert found, name
    return re.findall(r"'(\w+)'", found.group(1))


@pytest.mark.parametrize("name", ["Flow", "LoginFlow", "LoginState", "Reason"])
def test_flows_states_and_reasons_are_one_enumeration_on_each_side(name):
    document = openapi_document("/base/")
    named = document["components"]["schemas"][name]["enum"]
    python = {"Flow": Flow, "LoginFlow": STARTABLE, "LoginState": LoginState, "Reason": Reason}[name]
    assert named == [member.value for member in python]
    assert sorted(typescript_union(name)) == sorted(named), f"api.ts's {name} differs from openapi.json"


def test_every_flow_state_and_reason_field_names_the_enumeration():
    schemas = openapi_document("/base/")["components"]["schemas"]
    assert schemas["Error"]["properties"]["reason"] == {"$ref": "#/components/schemas/Reason"}
    assert schemas["Login"]["properties"]["state"] == {"$ref": "#/components/schemas/LoginState"}
    assert schemas["Login"]["properties"]["flow"] == {"$ref": "#/components/schemas/Flow"}
    assert schemas["LoginRequest"]["properties"]["flow"]["anyOf"][0] == {"$ref": "#/components/schemas/LoginFlow"}
    assert schemas["Sessions"]["properties"]["sessions"]["items"]["properties"]["flow"]["$ref"].endswith("/Flow")
