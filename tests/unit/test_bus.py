"""The broker's event bus, and the event names the server, its event schema and JupyterLab share."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import yaml

from jupyter_openeo_auth.broker.bus import Bus
from jupyter_openeo_auth.broker.session_key import SessionKey
from jupyter_openeo_auth.wire import EVENT_SCHEMA, EventAction, Flow

ROOT = Path(__file__).resolve().parents[2]
KEY = SessionKey("https://openeo.example/openeo/1.2", "egi", Flow.DEVICE, "")


def test_the_event_names_are_one_enumeration_in_python_the_schema_and_typescript():
    schema = yaml.safe_load((ROOT / "jupyter_openeo_auth" / "server" / "events" / "session.yaml").read_text())
    assert schema["properties"]["action"]["enum"] == [action.value for action in EventAction]
    model_ts = (ROOT / "labextension" / "src" / "model.ts").read_text()
    followed = set(re.findall(r"action === '([a-z_]+)'", model_ts))
    assert followed and followed <= {action.value for action in EventAction}, followed
    # and the schema they come under is one id, written once per language
    assert schema["$id"] == EVENT_SCHEMA and f"'{EVENT_SCHEMA}'" in model_ts


def test_an_event_says_what_happened_where_and_leaves_out_what_is_empty():
    heard = []
    bus = Bus(logging.getLogger("test.bus"))
    bus.subscribe(heard.append)
    bus.publish(EventAction.SESSION_ENDED, KEY, "https://openeo.example", state="logged_out", user={}, login_id=None)
    [event] = heard
    assert event.as_dict() == {
        "action": "session_ended",
        "backend": "https://openeo.example",
        "provider_id": "egi",
        "flow": "device",
        "state": "logged_out",
        "user": {},
    }


def test_a_listeners_trouble_is_logged_and_the_others_still_hear(caplog):
    heard = []
    bus = Bus(logging.getLogger("test.bus"))

    def broken(event):
        raise RuntimeError("a listener broke")

    bus.subscribe(broken)
    bus.subscribe(heard.append)
    bus.publish(EventAction.LOGIN_STARTED, KEY, "https://openeo.example", login_id="abc")
    assert [e.action for e in heard] == [EventAction.LOGIN_STARTED]
    assert "Announcing an openEO login_started event failed." in caplog.text
