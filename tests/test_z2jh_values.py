"""The Zero to JupyterHub values in docs/z2jh-values.yaml, checked against what the chart and the installed
JupyterHub and OAuthenticator take. (The chart's own JSON schema ships with the Helm chart, which is neither
on PyPI nor npm; this test checks the keys the chart reads and the traits they end up in.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from jupyterhub.app import JupyterHub
from jupyterhub.crypto import CryptKeeper
from oauthenticator.generic import GenericOAuthenticator

pytestmark = pytest.mark.slow

VALUES = Path(__file__).resolve().parents[1] / "docs" / "z2jh-values.yaml"


def test_the_values_use_keys_the_chart_and_the_hub_know():
    values = yaml.safe_load(VALUES.read_text())
    assert set(values) == {"hub", "singleuser"}
    hub = values["hub"]
    assert set(hub) <= {
        "image",
        "config",
        "services",
        "service",
        "networkPolicy",
        "loadRoles",
        "extraConfig",
        "extraEnv",
    }
    assert {"name", "tag"} <= set(hub["image"]) and {"name", "tag"} <= set(values["singleuser"]["image"])
    classes = {"JupyterHub": JupyterHub, "GenericOAuthenticator": GenericOAuthenticator, "CryptKeeper": CryptKeeper}
    for section, settings in hub["config"].items():
        for name in settings:
            assert classes[section].class_traits().get(name) is not None, f"{section}.{name} is not a setting"
    assert hub["config"]["GenericOAuthenticator"]["enable_auth_state"] is True
    # The token service: started by the hub from this package, reachable from users' pods, the only reader of
    # auth_state; users and their servers may ask it.
    [(name, service)] = hub["services"].items()
    assert service["command"][1:] == ["-m", "jupyter_openeo_auth.hub"]
    port = int(service["url"].rsplit(":", 1)[1])
    assert [p["port"] for p in hub["service"]["extraPorts"]] == [port]
    assert [p["port"] for rule in hub["networkPolicy"]["ingress"] for p in rule["ports"]] == [port]
    assert values["singleuser"]["extraEnv"]["JUPYTER_OPENEO_AUTH_HUB_SERVICE"] == f"{service['url']}/services/{name}/"
    roles = hub["loadRoles"]
    assert roles[name] == {"services": [name], "scopes": ["read:users", "admin:auth_state"]}
    for role in ("user", "server"):
        assert f"access:services!service={name}" in roles[role]["scopes"], role
        assert not [s for s in roles[role]["scopes"] if s.startswith("admin:auth_state")], role
    import importlib

    assert callable(importlib.import_module("jupyter_openeo_auth.hub").main)
    from traitlets.config import Config

    from jupyter_openeo_auth import hub as hub_module

    for name, code in hub["extraConfig"].items():  # the hub runs it as Python, with its config as `c`
        c = Config()
        exec(compile(code, name, "exec"), {"c": c})
    assert c.GenericOAuthenticator.refresh_user_hook is hub_module.refresh_user_hook
    assert c.KubeSpawner.pre_spawn_hook is hub_module.store_key_hook
    assert "refresh_user_hook" in hub["extraConfig"]["openeo-auth"]
    # Sealed logins: the spawner's hook, and the hub's secret from a Kubernetes secret.
    assert "c.KubeSpawner.pre_spawn_hook = store_key_hook" in hub["extraConfig"]["openeo-auth"]
    assert set(hub["extraEnv"]["JUPYTER_OPENEO_AUTH_HUB_SECRET"]["valueFrom"]["secretKeyRef"]) == {"name", "key"}
    assert values["singleuser"]["extraEnv"]["OPENEO_BACKEND"].startswith("https://")
