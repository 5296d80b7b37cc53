"""The kernel side without a kernel or a server: the login widget against a stub of the server's REST client,
the choice of a session, and the startup file's place in the environment."""

from __future__ import annotations

import threading
import time

import pytest

from jupyter_openeo_auth.kernel import watch as watch_module
from jupyter_openeo_auth.kernel import widget as widget_module
from jupyter_openeo_auth.kernel.autoload import STARTUP_FILE, USERS_STARTUP, set_kernel_startup
from jupyter_openeo_auth.kernel.client import ServerClient, session_for, this_kernel_id
from jupyter_openeo_auth.oidc import OpenEOAuthError
from jupyter_openeo_auth.wire import Flow, Reason

BACKEND = "https://openeo.example.org"
ALICE = {"sub": "alice", "name": "Alice Liddell"}


def session(login: str = "L1", user: dict = ALICE, **fields) -> dict:
    return {
        "backend": BACKEND,
        "provider_id": "egi",
        "flow": Flow.DEVICE,
        "user": user,
        "login": login,
        "client_id": "default",
        "login_required": False,
        **fields,
    }


class StubServer:
    """What the widget asks of the Jupyter server, answered from attributes a test sets; the follower of a
    pending login is the real one, on these answers."""

    follow = ServerClient.follow

    def __init__(self, sessions=(), providers=(("egi", "EGI Check-in"),), hang: threading.Event | None = None):
        self.listed = list(sessions)
        self.providers_listed = [{"id": i, "title": t} for i, t in providers]
        self.hang = hang
        self.cancelled: list[tuple[str, bool]] = []
        self.cancel_answer: dict | Exception = {"id": "L", "state": "cancelled", "message": "The login was cancelled."}

    def providers(self, backend: str) -> dict:
        if self.hang is not None:
            self.hang.wait(10)
        if isinstance(self.providers_listed, Exception):
            raise self.providers_listed
        return {"providers": self.providers_listed}

    def sessions(self, backend: str | None = None) -> list:
        return list(self.listed)

    def start_login(self, backend: str, provider_id: str | None = None, **extra) -> dict:
        self.started = extra
        return {
            "id": "L",
            "state": "pending",
            "user_code": "WXYZ-1234",
            "verification_uri": "https://idp.example.org/device",
            "verification_uri_complete": "https://idp.example.org/device?user_code=WXYZ-1234",
            "expires_at": time.time() + 600,
        }

    def login(self, login_id: str) -> dict:
        return {"id": login_id, "state": "pending", "expires_at": time.time() + 600}

    def cancel(self, login_id: str, unless_waited_for: bool = False) -> dict:
        self.cancelled.append((login_id, unless_waited_for))
        if isinstance(self.cancel_answer, Exception):
            raise self.cancel_answer
        return self.cancel_answer


@pytest.fixture(autouse=True)
def quiet_watcher(monkeypatch):
    """The kernel's watcher thread asks every hour here: the tests call `_notice` themselves."""
    monkeypatch.setattr(watch_module, "WATCH_SECONDS", 3600.0)


def widget(server: StubServer, **kwargs) -> widget_module.LoginWidget:
    return widget_module.LoginWidget(BACKEND, client=server, **kwargs)  # type: ignore[arg-type]


def test_logged_in_already_says_who():
    w = widget(StubServer([session()]))
    assert w.state == "logged_in" and repr(w) == f"openEO login to {BACKEND}: logged in as Alice Liddell."
    assert "Alice Liddell" in w.status.value and w.logout_button in w.children


def test_not_logged_in_offers_the_button_and_says_how_in_text():
    w = widget(StubServer())
    assert w.state == "new" and w.login_button in w.children and w.picker not in w.children
    assert "display this widget, or call .start()" in repr(w)


def test_several_providers_get_a_picker():
    w = widget(StubServer(providers=[("egi", "EGI"), ("other", "Other")]))
    assert w.picker in w.children and w.picker.options == (("EGI", "egi"), ("Other", "other"))


def test_an_unknown_provider_gets_the_openeo_clients_sentence():
    w = widget(StubServer(), provider_id="x")
    assert w.state == "failed"
    assert w.message == "Requested OIDC provider 'x' not available. Should be one of ['egi']."


def test_a_server_that_cannot_reach_the_backend_is_a_sentence_and_a_retry_button():
    server = StubServer()
    server.providers_listed = OpenEOAuthError("Cannot connect to the back-end.")  # type: ignore[assignment]
    w = widget(server)
    assert w.state == "failed" and w.retry_button in w.children and "Cannot connect" in repr(w)


def test_a_slow_server_does_not_hold_the_widget_back():
    hang = threading.Event()
    started = time.monotonic()
    w = widget(StubServer(hang=hang))
    assert time.monotonic() - started < widget_module.DISPLAY_WAIT + 0.5
    assert repr(w).endswith("asking the Jupyter server…") and "Asking the Jupyter server" in w.status.value
    hang.set()
    assert w.state == "new"  # `state` waits for the answer


def test_a_started_login_shows_link_and_code_as_text_too():
    server = StubServer()
    w = widget(server, client_id="mine", client_secret="secret-canary")
    w.start()
    assert w.state == "pending" and server.started == {"client_id": "mine", "client_secret": "secret-canary"}
    assert repr(w) == (
        f"openEO login to {BACKEND}: open https://idp.example.org/device?user_code=WXYZ-1234, log in there and "
        "enter the code WXYZ-1234."
    )
    assert "secret-canary" not in repr(w) + w.code.value + str(w.get_state())
    assert 'data-login="L"' in w.code.value and "Cancel the login" in w.code.value


def test_a_kernel_that_stops_waiting_leaves_the_login_to_others():
    server = StubServer()
    w = widget(server)
    w.start()
    server.cancel_answer = {"id": "L", "state": "pending"}  # the dialog still waits for it
    w.cancel(unless_waited_for=True)
    assert server.cancelled == [("L", True)] and w.state == "pending"


def test_a_cancel_after_the_page_cancelled_it_is_not_an_error():
    server = StubServer()
    w = widget(server)
    w.start()
    gone = OpenEOAuthError("The login was cancelled.")
    gone.reason = Reason.CANCELLED  # as the kernel's client raises a 410 `cancelled`
    server.cancel_answer = gone
    w.cancel()
    assert w.state == "cancelled" and w.message == "The login was cancelled."


def test_a_logout_elsewhere_ends_what_the_widget_shows():
    server = StubServer([session()])
    w = widget(server)
    server.listed = []
    w._notice(None)
    assert w.state == "new" and w.status.value == widget_module.ENDED and w.login_button in w.children


def test_a_newer_login_elsewhere_replaces_what_the_widget_shows():
    server = StubServer([session()])
    w = widget(server)
    server.listed = [session(login="L2", user={"sub": "bob", "name": "Bob"})]
    w._notice(server.listed[0])
    assert w.state == "logged_in" and w.user["sub"] == "bob" and w.status.value.startswith(widget_module.ENDED)


def test_a_login_needing_a_new_login_ends_too():
    server = StubServer([session()])
    w = widget(server)
    server.listed = [session(login_required=True)]
    w._notice(server.listed[0])
    assert w.state == "new" and w.status.value == widget_module.ENDED


def test_a_login_made_elsewhere_shows_in_a_waiting_widget():
    server = StubServer()
    w = widget(server)
    server.listed = [session()]
    w._notice(server.listed[0])
    assert w.state == "logged_in" and w._login == "L1"


@pytest.mark.parametrize(
    "provider_id, client_id, found",
    [(None, None, "L1"), ("egi", None, "L1"), ("other", None, None), (None, "default", "L1"), (None, "mine", None)],
)
def test_which_session_serves_a_widget(provider_id, client_id, found):
    got = session_for([session()], BACKEND + "/", provider_id, client_id)
    assert (got and got["login"]) == found


def test_the_hubs_login_serves_whatever_client_is_named():
    assert session_for([session(flow=Flow.HUB, client_id="jupyterhub")], BACKEND, None, "mine") is not None


def test_outside_a_kernel_there_is_no_kernel_id():
    assert this_kernel_id() is None


# --- the startup file in the kernels' environment ---------------------------------------------------------------


def test_the_startup_file_is_named_and_put_back():
    environ: dict[str, str] = {}
    undo = set_kernel_startup(environ)
    assert environ["PYTHONSTARTUP"] == STARTUP_FILE
    undo()
    assert environ == {}


def test_the_users_own_startup_file_is_kept_for_ours_to_run():
    environ = {"PYTHONSTARTUP": "/home/me/startup.py"}
    undo = set_kernel_startup(environ)
    assert environ == {"PYTHONSTARTUP": STARTUP_FILE, USERS_STARTUP: "/home/me/startup.py"}
    undo()
    assert environ == {"PYTHONSTARTUP": "/home/me/startup.py"}


@pytest.mark.parametrize("first_stops_first", [True, False])
def test_two_servers_of_one_process_keep_the_file_until_the_last_stops(first_stops_first):
    environ: dict[str, str] = {}
    undo_first, undo_second = set_kernel_startup(environ), set_kernel_startup(environ)
    (undo_first if first_stops_first else undo_second)()
    assert environ["PYTHONSTARTUP"] == STARTUP_FILE  # the other one still starts kernels
    (undo_second if first_stops_first else undo_first)()
    assert environ == {}


@pytest.mark.parametrize("name", ["connect", "get_token", "login", "logout"])
def test_the_public_face_takes_the_same_parameters_as_the_kernel_api(name):
    """`jupyter_openeo_auth.connect` and friends are typed and take what `kernel.api`'s take (`flow` too)."""
    import inspect

    import jupyter_openeo_auth
    from jupyter_openeo_auth.kernel import api

    public, inner = inspect.signature(getattr(jupyter_openeo_auth, name)), inspect.signature(getattr(api, name))
    assert [(p.name, p.default) for p in public.parameters.values()] == [
        (p.name, p.default) for p in inner.parameters.values()
    ]
    assert all(p.annotation is not inspect.Parameter.empty for p in public.parameters.values())
    assert public.return_annotation is not inspect.Signature.empty


def test_one_follower_waits_out_a_pending_login_and_says_how_it_ended():
    answers = [{"id": "L", "state": "pending", "expires_at": 1.0}] * 2 + [{"id": "L", "state": "logged_in"}]
    stub, ticks = StubServer(), []
    stub.login = lambda login_id: answers.pop(0)  # type: ignore[method-assign]
    assert stub.follow({"id": "L", "state": "pending"}, 0, ticks.append)["state"] == "logged_in"
    assert len(ticks) == 2  # once per answer while it waited

    def gone(login_id):
        error = OpenEOAuthError("The login was cancelled.")
        error.reason = Reason.CANCELLED  # as the client makes of a 410 answer
        raise error

    stub.login = gone  # type: ignore[method-assign]
    ended = stub.follow({"id": "L", "state": "pending"}, 0)
    assert ended == {"id": "L", "state": "cancelled", "message": "The login was cancelled."}


def test_one_line_describes_a_session_for_the_cli_and_says_how_the_hubs_login_renews():
    from jupyter_openeo_auth.kernel.describe import session_line

    line = session_line(session(user={"sub": "alice", "email": "a@example.org"}, access_expires_at=None))
    assert line == f"{BACKEND} (egi): alice (a@example.org), device login, token without expiry (renewed automatically)"
    assert "(through JupyterHub)" in session_line(session(flow=Flow.HUB, login_required=True))
    assert session_line(session(login_required=True)).endswith(" — log in again")
