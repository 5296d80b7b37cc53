"""Kernels never left in the dark (issue 29): a login cell shows its widget at once, a back-end that cannot be
used gets a sentence and no transport traceback, the end of a login reaches the widgets that show it, and a
login started by a kernel ends with the kernel's wait (Cancel, restart)."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
from faults import FaultServer
from kernels import kernel
from test_kernel import approve_pending

from jupyter_openeo_auth.devstack import free_port
from jupyter_openeo_auth.devstack.user import ProviderUser

pytestmark = pytest.mark.slow

#: What must not reach a notebook from a back-end that cannot be reached: a transport library's words.
TRANSPORT_WORDS = ("Traceback", "urllib3", "Max retries", "HTTPConnectionPool", "requests.exceptions")


@pytest.fixture(scope="module")
def hanging():
    """A back-end address that accepts connections and never answers (within any client's patience)."""
    with FaultServer(hang_seconds=120) as server:
        yield server.url + "/hang"


class Timed:
    """A person watching the cell: when (after the cell started) its first output showed up, and all of it."""

    def __init__(self):
        self.started = time.monotonic()
        self.first_shown: float | None = None

    def __call__(self, msg) -> None:
        if msg["msg_type"] in ("display_data", "execute_result", "stream") and self.first_shown is None:
            self.first_shown = time.monotonic() - self.started


@pytest.mark.parametrize("cell", ["%openeo_login {url}", "import jupyter_openeo_auth as joa\njoa.login({url!r})"])
async def test_a_login_cell_shows_at_once_and_a_refused_backend_gets_its_sentence(stack, jp_serverapp, broker, cell):
    refused = f"http://127.0.0.1:{free_port()}"
    async with kernel(jp_serverapp) as k:
        await k.run("import ipywidgets")  # the kernel's first import of ipywidgets is not the cell's to pay
        timed = Timed()
        out = await k.run(cell.format(url=refused), watch=timed, timeout=60)
        took = time.monotonic() - timed.started
        bound = await k.run("print('connection' in globals())")
    assert timed.first_shown is not None and timed.first_shown < 1.0, timed.first_shown
    assert took < 3, took  # 33 s before: openeo.connect retried the refused port
    assert f"openEO login to {refused}: failed." in out and "Cannot connect to" in out, out
    assert not [word for word in TRANSPORT_WORDS if word in out], out
    assert bound.strip() == "False"  # nothing bound to a back-end the server cannot use


@pytest.mark.parametrize("cell", ["%openeo_login {url}", "import jupyter_openeo_auth as joa\njoa.login({url!r})"])
async def test_a_hanging_backend_shows_the_widget_then_its_sentence(stack, jp_serverapp, broker, hanging, cell):
    """The widget is there within a second ("asking…"); the server's discovery deadline ends the wait with
    a sentence. The magic no longer calls openeo.connect (20-minute timeout) before it shows anything."""
    async with kernel(jp_serverapp) as k:
        await k.run("import ipywidgets")
        timed = Timed()
        out = await k.run(cell.format(url=hanging), watch=timed, timeout=120)
        took = time.monotonic() - timed.started
        widget = await k.run(  # the widget the cell showed, as the notebook now sees it
            "import gc\nfrom jupyter_openeo_auth.kernel import LoginWidget\n"
            "print(repr([o for o in gc.get_objects() if isinstance(o, LoginWidget)][-1]))\n"
            "print('connection' in globals())"
        )
    assert timed.first_shown is not None and timed.first_shown < 1.0, timed.first_shown
    assert "asking the Jupyter server" in out  # what was shown while the server waited for the back-end
    assert took < 30, took  # the server's deadline (http_timeout=5 s per request), not openeo.connect's 20 min
    assert widget.startswith(f"openEO login to {hanging}: failed. ") and widget.endswith("False\n"), widget
    assert not [word for word in TRANSPORT_WORDS if word in out + widget], out + widget


async def test_a_logout_elsewhere_reaches_the_widgets_that_show_the_login(stack, jp_serverapp, broker, api, alice):
    """Logged out in JupyterLab (or the CLI): a widget that said "Logged in as Alice" says the login ended
    within 5 s and offers a new one; logged in again elsewhere, it shows the new login."""
    async with kernel(jp_serverapp) as k:
        await api.login(stack.backend.url, alice)
        shown = await k.run(f"import jupyter_openeo_auth as joa\nw = joa.login({stack.backend.url!r}, var=None)\nw")
        assert "logged in as Alice Liddell" in shown
        await api.delete("sessions", backend=stack.backend.url)
        started = time.monotonic()
        said = await k.run(
            "import time\ndeadline = time.time() + 10\n"
            "while w._state == 'logged_in' and time.time() < deadline:\n    time.sleep(0.1)\n"
            "print(w._state, w.status.value, w.login_button in w.children)"
        )
        took = time.monotonic() - started
        assert took < 5, took
        assert said.strip() == "new The login shown here ended (logged out, revoked or replaced elsewhere). True"
        await api.login(stack.backend.url, ProviderUser("bob"))
        again = await k.run(
            "deadline = time.time() + 10\nwhile w._state != 'logged_in' and time.time() < deadline:\n"
            "    time.sleep(0.1)\nprint(repr(w))"
        )
        assert again.strip().endswith("logged in as Bob Builder."), again


async def pending_login(broker):
    for _ in range(100):
        pending = [login for login in broker.logins.values() if login.pending]
        if pending:
            return pending[0]
        await asyncio.sleep(0.1)
    raise AssertionError("no login became pending")


async def ended(login, within: float = 5.0) -> bool:
    for _ in range(int(within * 10)):
        if not login.pending:
            return True
        await asyncio.sleep(0.1)
    return False


@pytest.mark.parametrize("died", [False, True], ids=["restarted", "died"])
@pytest.mark.parametrize("also_waiting", [False, True], ids=["alone", "dialog-waits-too"])
async def test_a_restarted_kernel_cancels_the_login_it_waited_for(stack, jp_serverapp, broker, api, also_waiting, died):
    """Restarting a kernel whose `authenticate_oidc()` waits ends its login on the server (the status bar said
    "logging in…" for the code's whole life before), unless someone else (the JupyterLab dialog) waits too;
    so does a kernel that dies (killed, it says nothing itself: the server restarts it and cancels)."""
    async with kernel(jp_serverapp) as k:
        waiting = asyncio.ensure_future(
            k.execute(f"import openeo\nopeneo.connect({stack.backend.url!r}).authenticate_oidc()")
        )
        login = await pending_login(broker)
        if also_waiting:  # the dialog shows the same login and asks how it stands
            code, _ = await api.get(f"logins/{login.id}")
            assert code == 200
        if died:
            os.kill(jp_serverapp.kernel_manager.get_kernel(k.kernel_id).provisioner.pid, signal.SIGKILL)
        else:
            await jp_serverapp.kernel_manager.restart_kernel(k.kernel_id)  # interrupts, then asks it to end
        waiting.cancel()
        if also_waiting:
            assert not await ended(login, 8 if died else 2) and login.pending
            await approve_pending(broker, ProviderUser("alice"))  # and the dialog's user still logs in with it
            assert await ended(login) and login.state.value == "logged_in"
        else:
            assert await ended(login, 20) and login.state.value == "cancelled"
            if died:  # the server's doing, when its restarter brought the kernel back
                assert login.message == (
                    "The kernel that waited for this login was restarted or shut down, so it was cancelled."
                )
            code, gone = await api.get(f"logins/{login.id}")
            assert code == 410 and gone["reason"] == "cancelled"


async def test_a_logout_cancels_the_login_waiting_for_approval(stack, jp_serverapp, broker, api):
    """`jupyter openeo-auth logout` (DELETE sessions) while a login waits: approving it later would log the user
    in again, so it is cancelled, and the waiting kernel's cell ends with that sentence."""
    async with kernel(jp_serverapp) as k:
        waiting = asyncio.ensure_future(
            k.execute(f"import openeo\nopeneo.connect({stack.backend.url!r}).authenticate_oidc()")
        )
        login = await pending_login(broker)
        code, answer = await api.delete("sessions", backend=stack.backend.url)
        assert code == 200 and "The login waiting for approval was cancelled too." in answer["message"]
        error = await asyncio.wait_for(waiting, 10)
    assert login.state.value == "cancelled"
    assert error["ename"] == "LoginEnded" and f"Cancelled by the logout of {stack.backend.url}." in error["evalue"]
