"""Sphinx configuration: the documentation site, from Markdown (MyST) as Jupyter projects write theirs.

    python -m sphinx -W -b html docs docs/_build/html

The REST reference is written from the package's own OpenAPI document at every build (`rest.md`), so it cannot
drift from what the server serves."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from jupyter_openeo_auth._version import __version__  # noqa: E402
from jupyter_openeo_auth.server.openapi import openapi_document  # noqa: E402

project = "jupyter-openeo-auth"
author = "The jupyter-openeo-auth authors"
copyright = "2026, The jupyter-openeo-auth authors"
version = release = __version__

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
html_theme = "alabaster"
# Every internal reference must resolve (with -W, a broken one fails the build).
nitpicky = True


def _rest_reference() -> str:
    """The REST API, operation by operation, from openapi.json."""
    doc = openapi_document()
    out = [
        "# REST API reference",
        "",
        f"Generated from `openapi.json` (OpenAPI {doc['openapi']}), which the server also serves at "
        "`{base_url}openeo-auth/api/openapi.json`. Every answer in the test suite is validated against it.",
        "",
    ]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            out += [f"## `{method.upper()} {path}`", "", op.get("summary", ""), ""]
            params = [*item.get("parameters", []), *op.get("parameters", [])]
            if params:
                out += ["| parameter | in | required | description |", "| --- | --- | --- | --- |"]
                for p in params:
                    desc = str(p.get("description", "")).replace("|", "\\|")
                    out.append(f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} | {desc} |")
                out.append("")
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                out += [f"Request body: `{body.get('$ref', '').rsplit('/', 1)[-1] or 'JSON'}`", ""]
            statuses = ", ".join(f"{code} ({r.get('description', '')})" for code, r in op.get("responses", {}).items())
            out += [f"Answers: {statuses}.", ""]
    out += ["## Schemas", ""]
    for name, schema in doc["components"]["schemas"].items():
        out += [f"### `{name}`", "", "```json", json.dumps(schema, indent=2), "```", ""]
    return "\n".join(out)


(HERE / "rest.md").write_text(_rest_reference())
