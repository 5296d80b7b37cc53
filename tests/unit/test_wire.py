"""The wire's names are one enumeration each, shared by the server, the kernel side and the TypeScript side."""

from __future__ import annotations

import re
from pathlib import Path

from jupyter_openeo_auth.wire import ClientReason, LoginState, Reason

API_TS = (Path(__file__).resolve().parents[2] / "labextension" / "src" / "api.ts").read_text()


def union(name: str) -> set[str]:
    """The string literals of `export type NAME = 'a' | 'b' ...;` in api.ts."""
    body = re.search(rf"export type {name} =(.*?);", API_TS, re.S)
    assert body, f"api.ts has no type {name}"
    return set(re.findall(r"'([a-z_]+)'", body.group(1)))


def test_the_typescript_unions_are_the_python_enumerations():
    assert union("Reason") == {r.value for r in Reason}
    assert union("LoginState") == {s.value for s in LoginState}
    assert union("ClientReason") <= {r.value for r in ClientReason}


def test_a_clients_reason_is_never_a_servers():
    assert not {r.value for r in ClientReason} & {r.value for r in Reason}
