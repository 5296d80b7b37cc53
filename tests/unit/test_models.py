"""The kernel side's typed answers are the OpenAPI document's schemas, key for key."""

from __future__ import annotations

import pytest

from jupyter_openeo_auth.kernel import models
from jupyter_openeo_auth.server.openapi import openapi_document

SCHEMAS = openapi_document()["components"]["schemas"]


def schema_of(name: str) -> dict:
    if name == "Session":
        return SCHEMAS["Sessions"]["properties"]["sessions"]["items"]
    if name == "Provider":
        return SCHEMAS["Providers"]["properties"]["providers"]["items"]
    return SCHEMAS[name]


@pytest.mark.parametrize("name", ["Login", "Session", "Token", "Provider", "Providers", "Settings", "Logout"])
def test_each_answer_type_has_the_keys_of_its_schema(name):
    model, schema = getattr(models, name), schema_of(name)
    assert set(model.__required_keys__) == set(schema["required"])
    assert set(model.__required_keys__) | set(model.__optional_keys__) == set(schema["properties"])


def test_who_is_the_documents_user():
    user = schema_of("Login")["properties"]["user"]
    assert set(models.User.__optional_keys__) == set(user["properties"])
