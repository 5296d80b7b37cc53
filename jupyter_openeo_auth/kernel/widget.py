"""The login widget: back-end and provider, a login button, the code to enter (link, large code, QR code,
countdown) and the outcome. It follows the login in a background thread, so its cell returns at once.
It holds no token: the server keeps them; the widget only shows the user code and who logged in."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import ipywidgets as w

from ..errors import LoginEnded, OpenEOAuthError
from ..wire import NOT_STARTED, LoginState
from .client import ServerClient, ended_by, login_link, server, session_for
from .describe import name_of, renewal
from .watch import WATCH, after_this_cell

if TYPE_CHECKING:
    from .models import Login, Session, User

POLL_SECONDS = 1.0
#: A widget offering "Log in" shows a login made elsewhere (the JupyterLab dialog, another notebook) for this
#: long; a widget saying "Logged in" shows when that login ends for as long as it lives (see `watch.py`).
WATCH_FOR = 3600.0
#: How long a new widget waits for the server's first answer before it shows "asking…" and goes on.
DISPLAY_WAIT = 0.5
ENDED = "The login shown here ended (logged out, revoked or replaced elsewhere)."
#: Buttons as wide as their label ("Log in to openEO" is cut off at ipywidgets' default width), at the start of
#: their line (a box stretches its children across the whole cell otherwise).
FIT = w.Layout(width="auto", align_self="flex-start")
RED = '<span style="color:var(--jp-error-color1, #b00)">{}</span>'
#: "Cancel the login" while the kernel is busy waiting for it (`authenticate_oidc()`): the kernel would see the
#: click only after the wait, so the page itself asks the server (same origin, JupyterLab's XSRF cookie) to
#: cancel; the kernel's wait ends as the login does. Outside a Jupyter page it clicks the widget's own button.
CANCEL_SCRIPT = (
    "const b=this,c=document.getElementById('jupyter-config-data'),"
    "own=b.closest('.widget-vbox')&&b.closest('.widget-vbox').querySelector('.joa-cancel');"
    "if(!c){if(own)own.click();return;}"
    "const x=(document.cookie.match(/(?:^|; )_xsrf=([^;]*)/)||[])[1]||'';b.disabled=true;"
    "fetch(JSON.parse(c.textContent).baseUrl+'openeo-auth/api/logins/'+encodeURIComponent(b.dataset.login),"
    "{method:'DELETE',credentials:'same-origin',headers:{'X-XSRFToken':decodeURIComponent(x)}})"
    ".catch(()=>{b.disabled=false;if(own)own.click();});"
)


def _code_spans(text: str) -> str:
    """A note as HTML: escaped, with `names` in backticks shown as code (as Markdown would)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _countdown(expires_at: float) -> str:
    left = max(0, int(expires_at - time.time()))
    return f"The code expires in {left // 60}:{left % 60:02d}."


class LoginWidget(w.VBox):
    """`LoginWidget(backend)`; `.start()` (or the button) logs in. `on_login(callback)` is called with the
    login's JSON once logged in. `.state` is pending / logged_in / denied / expired / failed / cancelled."""

    def __init__(
        self,
        backend: str,
        provider_id: str | None = None,
        client: ServerClient | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
    ):
        super().__init__()
        self.backend = backend
        self.provider_id = provider_id
        self.client_id = client_id
        #: A confidential client's secret (openeo's auth-config.json): sent to the server once, never shown.
        self._client_secret = client_secret
        self.client = client or server()
        self._state = NOT_STARTED
        #: Set once the server first said how this back-end stands (see `state`).
        self._checked = threading.Event()
        #: The server's name of the login this widget shows as logged in (to notice when it ends).
        self._login: str | None = None
        self._watch_until = time.monotonic() + WATCH_FOR
        self._handle: Any = None  # IPython's DisplayHandle, once displayed
        self.message: str | None = None
        self.user: User | None = None
        self._callbacks: list[Callable[[Login], str | None]] = []
        self._thread: threading.Thread | None = None
        self._login_id: str | None = None
        self._on_display: Callable[[], None] | None = None
        #: While a login waits: where to approve it, as text (see `__repr__`).
        self._instructions = ""

        self._titles: dict = {}
        self.title = w.HTML()
        self.picker = w.Dropdown(description="Provider")
        self.login_button = w.Button(description="Log in to openEO", button_style="primary", icon="sign-in", layout=FIT)
        self.logout_button = w.Button(description="Log out", icon="sign-out", layout=FIT)
        self.retry_button = w.Button(description="Retry", icon="refresh", layout=FIT)
        # Shown as part of the code (see CANCEL_SCRIPT); kept for front ends that are not Jupyter pages.
        self.cancel_button = w.Button(description="Cancel the login", icon="times", layout=w.Layout(display="none"))
        self.cancel_button.add_class("joa-cancel")
        self.code = w.HTML()
        self.status = w.HTML()
        self.login_button.on_click(lambda _: self.start())
        self.retry_button.on_click(lambda _: self.start())
        self.logout_button.on_click(lambda _: self.logout())
        self.cancel_button.on_click(lambda _: self.cancel())
        self._show_title()
        # The server's first answer may take a while (a back-end that does not answer): the widget shows at once.
        self._show(status=f"Asking the Jupyter server about {html.escape(backend)}…")
        threading.Thread(target=self._first_check, daemon=True, name="openeo-login-check").start()
        self._checked.wait(DISPLAY_WAIT)  # usually answered by then: the widget is as the server says at once

    @property
    def state(self) -> str:
        """pending / logged_in / denied / expired / failed / cancelled, or new (offering "Log in"); waits for the
        server's first answer about the back-end (at most the server's discovery deadline)."""
        self._checked.wait()
        return self._state

    def _first_check(self) -> None:
        try:
            self._check_existing()
        except Exception as e:  # noqa: BLE001 - whatever went wrong, the widget says it and nobody waits forever
            self._state, self.message = LoginState.FAILED, f"Could not ask the Jupyter server about {self.backend}: {e}"
            self._show_error(self.message)
        finally:
            self._checked.set()
        if self._handle is not None:
            self._handle.update(self)
        WATCH.add(self)

    def display(self) -> None:
        """Show the widget in this cell now. What a front end without widgets keeps (its text/plain) is brought
        up to date when the server answers and when the login starts, so that a notebook run headless has the
        sentence, or the link and the code."""
        from IPython.display import display

        answered = self._checked.is_set()
        self._handle = display(self, display_id=True)
        if not answered and self._checked.is_set():  # answered while it was shown: the update may have missed it
            self._handle.update(self)

    def __repr__(self) -> str:
        """What a front end without widgets shows, and what a notebook run headless keeps (its text/plain):
        the link and the code while the login waits, else how it stands."""
        where = f"openEO login to {self.backend}"
        if not self._checked.is_set():
            return f"{where}: asking the Jupyter server…"
        if self._state == LoginState.PENDING and self._instructions:
            return f"{where}: {self._instructions}"
        if self._state == LoginState.LOGGED_IN:
            return f"{where}: logged in as {name_of(self.user)}."
        if self.message:
            return f"{where}: {self._state}. {self.message}"
        return f"{where}: not logged in (display this widget, or call .start())."

    def when_displayed(self, action: Callable[[], None]) -> None:
        """Run `action` once, when the widget is first displayed (`joa.login()` binds its connection then)."""
        self._on_display = action

    def _repr_mimebundle_(self, **kwargs):
        action, self._on_display = self._on_display, None
        if action is not None:
            if self._checked.is_set():  # the server answered at once: act now, before the cell goes on
                action()
            else:  # show the widget now ("asking…"), act once it is out, before the next cell runs
                after_this_cell(action)
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):  # ipywidgets cuts its text/plain at 110 characters: a link is longer
            bundle["text/plain"] = repr(self)
        return bundle

    # --- what the user sees ------------------------------------------------------------------------------

    def _show_title(self, provider: str | None = None) -> None:
        provider = provider or self.provider_id
        provider = self._titles.get(provider, provider)
        provider = f" — {html.escape(provider)}" if provider else ""
        self.title.value = f"<b>openEO login</b>: {html.escape(self.backend)}{provider}"

    def _show(self, *parts: w.Widget, status: str = "", buttons: Sequence[w.Widget] = ()) -> None:
        """Title, what this step shows, the sentence, then the buttons that belong to the sentence."""
        self.status.value = status
        self.children = [self.title, *parts, self.status, *buttons]

    def _show_error(self, message: str) -> None:
        self._show(status=RED.format(html.escape(message)), buttons=[self.retry_button])

    def _show_logged_in(
        self,
        user: Mapping[str, Any] | None,
        notes: Sequence[str | None] = (),
        problem: str | None = None,
        flow: str = "",
    ) -> None:
        self._state, self.user = LoginState.LOGGED_IN, cast("User", dict(user or {}))
        name = html.escape(name_of(self.user))
        email = f" ({html.escape(self.user['email'])})" if self.user.get("email") else ""
        extra = "".join(f"<br>{_code_spans(n)}" for n in notes if n)
        how = renewal(flow)
        status = f"Logged in as <b>{name}</b>{email} — {how}{extra}"
        if problem:  # the provider said yes, the back-end says no: not a green "Logged in"
            status = f"Logged in as <b>{name}</b>{email}, but:<br>" + RED.format(html.escape(problem))
        self._show(status=status, buttons=[self.logout_button])

    def _show_code(self, login: Login) -> bool:
        link = login_link(login)
        if link is None:
            self._state, self.message = (
                LoginState.FAILED,
                (
                    "The OpenID provider sent a verification address that is not an http(s) link; it is not shown. "
                    "Report this to the back-end's operators."
                ),
            )
            self.client.cancel(login["id"])
            self._show_error(self.message)
            return False
        on_server = " at the address of this JupyterLab" if link.startswith("/") else ""
        self._instructions = f"open {link}{on_server}, log in there and enter the code {login.get('user_code', '')}."
        code = html.escape(login.get("user_code", ""), quote=True)
        self.code.value = (
            f'<p><a class="jupyter-button mod-primary" href="{html.escape(link, quote=True)}" target="_blank" '
            'rel="noopener noreferrer" style="display:inline-flex;align-items:center;padding:0 12px;'
            'text-decoration:none;width:auto">Open the login page</a> '
            f'<span style="font-size:0.85em">{html.escape(link)}</span></p>'
            "<p>Log in there and enter this code:</p>"
            f'<p style="font-size:2em;font-family:monospace;user-select:all;margin:0">{code}</p>'
            f'<button class="jupyter-button" data-code="{code}" style="width:auto" '
            'onclick="navigator.clipboard.writeText(this.dataset.code)">Copy code</button>'
            f"<div>{login.get('qr_svg', '')}</div>"  # rendered by the server from the link
            f'<button class="jupyter-button" data-login="{html.escape(login["id"], quote=True)}" '
            f'style="width:auto" onclick="{html.escape(CANCEL_SCRIPT, quote=True)}">Cancel the login</button>'
        )
        self._show(self.code, status=_countdown(login["expires_at"]), buttons=[self.cancel_button])
        return True

    # --- what it does --------------------------------------------------------------------------------------

    def _session(self) -> Session | None:
        """The server's session for this back-end (and provider, and client), if it has one."""
        return session_for(self.client.sessions(self.backend), self.backend, self.provider_id, self.client_id)

    def _check_existing(self):
        """Logged in already? Then say so at once; else offer the button (and the provider picker), and
        watch for a login made elsewhere."""
        try:
            providers = self.client.providers(self.backend)["providers"]
            session = self._session()
        except OpenEOAuthError as e:
            self._state, self.message = LoginState.FAILED, e.message
            self._show_error(e.message)
            return
        self._titles = {p["id"]: p["title"] for p in providers}
        listed = [p["id"] for p in providers]
        if self.provider_id and self.provider_id not in listed:  # as the openeo client says it
            self._state = LoginState.FAILED
            self.message = f"Requested OIDC provider {self.provider_id!r} not available. Should be one of {listed}."
            self._show_error(self.message)
            return
        if session is not None and not session.get("login_required"):
            self._login = session["login"]
            self._show_title(session["provider_id"])
            self._show_logged_in(session["user"], problem=session.get("account_problem"), flow=session["flow"])
            return
        self.picker.options = [(p["title"], p["id"]) for p in providers]
        self.picker.value = self.provider_id or providers[0]["id"]
        self._show_title(providers[0]["id"] if len(providers) == 1 else None)
        self._show(*([self.picker] if len(providers) > 1 else []), buttons=[self.login_button])

    def _watched(self) -> bool:
        """Does this widget show something the server's logins can change?"""
        return self.comm is not None and (
            self._state == LoginState.LOGGED_IN or (self._state == NOT_STARTED and time.monotonic() < self._watch_until)
        )

    def _notice(self, session: Session | None) -> None:
        """The server's login for this widget's back-end, as the kernel's watcher just found it."""
        usable = session if session is not None and not session.get("login_required") else None
        if self._state == NOT_STARTED and usable:  # logged in elsewhere
            session = usable
            self._login = session["login"]
            self._show_title(session["provider_id"])
            login: Login = {"id": "", "state": LoginState.LOGGED_IN, "user": session["user"], "flow": session["flow"]}
            problem = session.get("account_problem")
            if problem:
                login["message"] = problem
            self._finish(login)
        elif self._state == LoginState.LOGGED_IN and usable and self._login is None:  # logged in here: which login
            self._login = usable["login"]
        elif self._state == LoginState.LOGGED_IN and (not usable or usable["login"] != self._login):
            self._state, self.user, self._login = NOT_STARTED, None, None
            self._check_existing()  # a newer login, or "Log in" again
            self.status.value = f"{ENDED}<br>{self.status.value}" if self._state == LoginState.LOGGED_IN else ENDED

    def on_login(self, callback: Callable[[Login], str | None]) -> None:
        """Call `callback(login)` once logged in (at once when already logged in). A string it returns is
        shown under "Logged in as"; it runs before that line appears, so what it binds is ready by then."""
        if self.state == LoginState.LOGGED_IN:
            callback({"id": self._login_id or "", "state": LoginState.LOGGED_IN, "user": self.user or {}})
        else:
            self._callbacks.append(callback)

    def start(self) -> None:
        """Start (or rejoin) a login and follow it in the background."""
        if self.state in (LoginState.PENDING, LoginState.LOGGED_IN):
            return
        if self.picker.options:
            self.provider_id = self.picker.value
        try:
            client = {"client_id": self.client_id} if self.client_id else {}
            if self._client_secret:
                client["client_secret"] = self._client_secret
            login = self.client.start_login(self.backend, self.provider_id, **client)
        except OpenEOAuthError as e:
            self._state, self.message = LoginState.FAILED, e.message
            self._show_error(e.message)
            return
        self._login_id = login["id"]
        if login["state"] == LoginState.LOGGED_IN:
            self._finish(login)
            return
        self._state = LoginState.PENDING
        if self._show_code(login):
            if self._handle is not None:  # the link and the code, for a front end without widgets too
                self._handle.update(self)
            self._thread = threading.Thread(target=self._follow, args=(login,), daemon=True, name="openeo-login")
            self._thread.start()

    def _follow(self, login: Login) -> None:
        def tick(login: Login) -> None:
            self.status.value = _countdown(login["expires_at"])

        self._finish(self.client.follow(login, POLL_SECONDS, tick))

    def _finish(self, login: Login) -> None:
        if login["state"] != LoginState.LOGGED_IN:
            self._state, self.message = login["state"], login.get("message") or f"The login ended: {login['state']}."
            self._show_error(self.message)
            return
        notes = [callback(login) for callback in self._callbacks]
        self._callbacks.clear()
        self._show_logged_in(login.get("user"), notes, problem=login.get("message"), flow=login.get("flow", ""))

    def wait(self, timeout: float = 600) -> str:
        """Block until the login ends (for scripts); returns the final state."""
        deadline = time.time() + timeout
        while self.state == LoginState.PENDING and time.time() < deadline:
            time.sleep(0.2)
        return self._state

    def outcome(self, timeout: float = 600) -> str | None:
        """Wait until the login ends: None when logged in, else the sentence of how it ended. A login nobody
        approved within `timeout` seconds is cancelled, and so is one whose wait is interrupted (the kernel's
        Interrupt), unless someone else (the JupyterLab dialog) waits for it too."""
        try:
            state = self.wait(timeout)
        except KeyboardInterrupt:
            self.cancel(unless_waited_for=True)
            raise
        if state == LoginState.PENDING:
            self.cancel()
            return f"Nobody approved the openEO login within {timeout:g} s, so it was cancelled. Log in again."
        return None if self._state == LoginState.LOGGED_IN else self.message or f"The login ended: {self._state}."

    def result(self, timeout: float = 600) -> User:
        """Wait until the login ends: who logged in, else `LoginEnded` with the login's sentence."""
        problem = self.outcome(timeout)
        if problem is not None:
            raise LoginEnded(problem, self._state)
        return self.user or {}

    def cancel(self, unless_waited_for: bool = False) -> None:
        """Cancel the pending login; `unless_waited_for`: this kernel stops waiting for it, and the server
        cancels it only when nobody else waits for it."""
        if self._state == LoginState.PENDING and self._login_id:
            try:
                login = self.client.cancel(self._login_id, unless_waited_for)
            except OpenEOAuthError as e:  # cancelled already (by the page itself, say: 410 cancelled)
                login = ended_by(e, self._login_id)
            if login["state"] != LoginState.PENDING:
                self._finish(login)

    def logout(self) -> None:
        """Log out on the server (revokes the refresh token) and offer a new login; says when the provider
        could not revoke the login."""
        result = self.client.logout(self.backend, self.provider_id)
        self._state, self.user, self._login = NOT_STARTED, None, None
        self._check_existing()
        if self._state == NOT_STARTED:
            self.status.value = html.escape(result.get("message") or "Logged out.")
