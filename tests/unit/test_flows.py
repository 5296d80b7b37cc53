"""The login flows' rules, read in one table (flows.py): what the broker's rooms ask of a flow."""

from __future__ import annotations

import pytest

from jupyter_openeo_auth.flows import FLOWS, SHARED, STARTABLE, flow_of
from jupyter_openeo_auth.server.openapi import openapi_document
from jupyter_openeo_auth.wire import Flow


def test_every_wire_flow_has_its_rules_and_the_document_names_the_startable_ones():
    assert set(FLOWS) == set(Flow) and all(flow_of(name).name == name for name in Flow)
    schemas = openapi_document()["components"]["schemas"]
    assert schemas["LoginFlow"]["enum"] == list(STARTABLE) and schemas["Flow"]["enum"] == list(Flow)


@pytest.mark.parametrize(
    "flow, startable, stored, shared, has_a_person, any_client",
    [
        (Flow.DEVICE, True, True, True, True, False),
        (Flow.PASSWORD, True, True, True, True, False),
        (Flow.CLIENT_CREDENTIALS, True, False, False, False, False),
        (Flow.HUB, False, False, True, True, True),
    ],
)
def test_what_each_flow_is(flow, startable, stored, shared, has_a_person, any_client):
    rules = flow_of(flow)
    assert (rules.startable, rules.stored, rules.shared, rules.has_a_person, rules.any_client) == (
        startable,
        stored,
        shared,
        has_a_person,
        any_client,
    )
    assert (flow in SHARED) is shared and (flow in STARTABLE) is startable


def test_only_the_device_flow_waits_for_the_user_and_takes_the_hubs_login():
    assert [f for f in Flow if flow_of(f).interactive] == [Flow.DEVICE]
    assert flow_of(Flow.DEVICE).reuses == (Flow.HUB,)


def test_a_service_account_renews_by_logging_in_again():
    assert [f for f in Flow if flow_of(f).renews_by_logging_in_again] == [Flow.CLIENT_CREDENTIALS]
    assert {f for f in Flow if flow_of(f).renews_without_refresh_token} == {Flow.CLIENT_CREDENTIALS, Flow.HUB}


def test_a_name_that_is_no_flow_is_a_key_error():
    with pytest.raises(KeyError):
        flow_of("implicit")


def test_each_startable_flow_names_how_it_gets_its_first_tokens():
    from jupyter_openeo_auth.broker.first_tokens import FirstTokens

    for flow in STARTABLE:
        rules = flow_of(flow)
        assert rules.grant_types, flow  # a provider's client lists it
        assert callable(getattr(FirstTokens, rules.first_tokens)), flow
    assert not flow_of("hub").first_tokens and flow_of("hub").from_the_hub  # the hub's tokens come from the hub


def test_the_grant_types_a_provider_must_list_come_from_the_table():
    from jupyter_openeo_auth.oidc.discovery import FLOW_GRANTS

    assert FLOW_GRANTS == {name: FLOWS[name].grant_types for name in STARTABLE}
    assert FLOW_GRANTS["device"][0].endswith("device_code+pkce")  # PKCE first (RFC 9700)


def test_how_each_flow_is_described():
    assert flow_of("hub").renewal == "through JupyterHub"
    assert {flow_of(f).renewal for f in STARTABLE} == {"renewed automatically"}
