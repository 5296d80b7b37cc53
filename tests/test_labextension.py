"""The JupyterLab extension in real JupyterLab, in Debian's Chromium driven by Playwright: the status bar,
the login dialog, the commands, and escaping of what a provider or back-end says."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
import requests
from playwright.sync_api import expect
from session_limits import limited_backend
from ws_kernel import WebSocketKernel

from jupyter_openeo_auth.devstack import backend_service, jupyter_service
from jupyter_openeo_auth.devstack.user import ProviderUser

pytestmark = pytest.mark.slow

HOSTILE = '<img src=x onerror="window.__pwned=1">'
#: Where the README's screenshots are kept; the test run writes them.
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs"


class Lab:
    def __init__(self, service, token, settings_dir):
        self.service, self.token, self.settings_dir = service, token, settings_dir
        self.url = f"{service.url}/lab?token={token}"

    def api(self, method, path, **kwargs):
        resp = requests.request(
            method,
            f"{self.service.url}/openeo-auth/api/{path}",
            headers={"Authorization": f"token {self.token}"},
            timeout=30,
            **kwargs,
        )
        return resp.status_code, resp.json()


@pytest.fixture
def hostile_backend(stack):
    """A back-end whose provider title is HTML that would run if it were not escaped."""
    service = backend_service(stack.provider.url, provider_title=HOSTILE).start()
    yield service
    service.cleanup()


@pytest.fixture
def lab(stack, tmp_path):
    token = secrets.token_hex(16)
    settings_dir = tmp_path / "lab-settings"
    news = settings_dir / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    (tmp_path / "root").mkdir()
    service = jupyter_service(
        tmp_path / "root",
        token,
        app="lab",
        config={"OpenEOAuth": {"persist": "never", "default_backend": stack.backend.url}},
        env={"JUPYTERLAB_SETTINGS_DIR": str(settings_dir)},
    ).start(timeout=120)
    yield Lab(service, token, settings_dir)
    service.cleanup()


def open_lab(page, lab):
    page.goto(lab.url)
    status = page.locator(".jp-OpenEOAuth-status")
    expect(status).to_be_visible(timeout=60000)
    return status


def log_in_through_the_dialog(page, status, qr=True):
    """Open the dialog from the status bar and start a login; returns the dialog and the code it shows. The QR
    code is there for a web address, absent for a path on the server (`qr=False`)."""
    status.click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".jp-OpenEOAuth-login")).to_be_enabled(timeout=30000)
    dialog.locator(".jp-OpenEOAuth-login").click()
    code = dialog.locator(".jp-OpenEOAuth-code")
    expect(code).to_be_visible(timeout=30000)
    if qr:
        expect(dialog.locator(".jp-OpenEOAuth-qr svg")).to_be_visible()
    else:
        expect(dialog.locator(".jp-OpenEOAuth-qr svg")).to_have_count(0)
    expect(dialog.locator(".jp-OpenEOAuth-countdown")).to_contain_text(re.compile(r"expires in \d+:\d\d"))
    return dialog, code.inner_text().strip()


def test_log_in_from_the_status_bar_and_out_from_the_palette(stack, lab, page, issued_secrets):
    status = open_lab(page, lab)
    expect(status).to_have_text("openEO: not logged in")
    dialog, user_code = log_in_through_the_dialog(page, status)
    if os.environ.get("JOA_SCREENSHOTS", "1") == "1":
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "jupyterlab-login-dialog.png"))
    ProviderUser("alice").approve(f"{stack.provider.url}/device?user_code={user_code}", user_code)
    expect(dialog.locator(".jp-OpenEOAuth-success")).to_have_text(
        "Logged in as Alice Liddell (alice@example.org)", timeout=30000
    )
    host = stack.backend.url.split("://")[1]
    expect(status).to_have_text(f"openEO: Alice Liddell @ {host}", timeout=5000)
    expect(page.locator(".jp-Dialog")).to_have_count(0, timeout=10000)  # closes by itself
    assert "alice" in status.get_attribute("title") or "Alice" in status.get_attribute("title")
    if os.environ.get("JOA_SCREENSHOTS", "1") == "1":
        page.screenshot(path=str(SCREENSHOTS / "jupyterlab-status-bar.png"))
    # A notebook's kernel started afterwards gets the server's tokens without a login of its own.
    kernel = WebSocketKernel(lab.service.url, lab.token)
    try:
        out = kernel.run(
            f"import jupyter_openeo_auth as joa\ncon = joa.connect({stack.backend.url!r})\n"
            "print(con.describe_account()['user_id'])"
        )
        assert out.strip() == "alice"
        check_storage_and_settings(page, lab, stack, issued_secrets)
        log_out_from_the_palette(page, status, stack)
        out = kernel.run("con.describe_account()")  # the kernel's next request
        assert out.startswith("NotLoggedIn: Not logged in to")
    finally:
        kernel.close()


def check_storage_and_settings(page, lab, stack, issued_secrets):
    # No token, refresh token or device code in the browser's storage or in the settings written to disk.
    storage = page.evaluate("() => JSON.stringify({...window.localStorage, ...window.sessionStorage})")
    on_disk = "".join(p.read_text() for p in Path(lab.settings_dir).rglob("*") if p.is_file())
    canaries = issued_secrets()
    assert [c for c in canaries if c in storage + on_disk] == []
    assert stack.backend.url in on_disk  # the last back-end used is remembered


def open_the_dialog_on_the_pending_login(page, status):
    """Click the status bar while a login is pending: the dialog shows that login's code at once, no form."""
    status.click()
    dialog = page.locator(".jp-Dialog")
    code = dialog.locator(".jp-OpenEOAuth-code")
    expect(code).to_be_visible(timeout=30000)
    expect(dialog.locator(".jp-OpenEOAuth-login")).to_have_count(0)
    expect(dialog.locator(".jp-OpenEOAuth-countdown")).to_contain_text(re.compile(r"expires in \d+:\d\d"))
    return dialog, code.inner_text().strip()


def run_from_the_palette(page, label: str) -> None:
    page.keyboard.press("Control+Shift+c")
    palette = page.locator(".lm-CommandPalette-input")
    expect(palette).to_be_focused(timeout=10000)
    page.keyboard.type(label)
    expect(page.locator(".lm-CommandPalette-item.lm-mod-active")).to_contain_text(label, timeout=10000)
    page.keyboard.press("Enter")


def log_out_from_the_palette(page, status, stack):
    run_from_the_palette(page, "Log out of openEO")
    page.locator(".jp-Dialog").get_by_role("button", name="Log out").click()  # asked first
    expect(page.locator(".jp-Dialog")).to_contain_text(f"Logged out of {stack.backend.url}", timeout=15000)
    page.keyboard.press("Enter")
    expect(status).to_have_text("openEO: not logged in", timeout=5000)


def test_what_a_backend_says_is_shown_as_text(stack, lab, page, hostile_backend):
    status = open_lab(page, lab)
    status.click()
    dialog = page.locator(".jp-Dialog")
    url = dialog.locator(".jp-OpenEOAuth-backend")
    url.fill(hostile_backend.url)
    url.dispatch_event("change")
    expect(dialog.locator(".jp-OpenEOAuth-message")).to_have_text(f"Provider: {HOSTILE}", timeout=30000)
    expect(dialog.locator(".jp-OpenEOAuth-dialog img")).to_have_count(0)
    assert page.evaluate("() => window.__pwned") is None


def test_the_menu_and_palette_have_the_commands(lab, page):
    open_lab(page, lab)
    page.get_by_role("menuitem", name="openEO").click()
    for label in ("Log in to openEO…", "Log out of openEO", "Show openEO sessions"):
        expect(page.get_by_role("menuitem", name=label)).to_be_visible()
    page.get_by_role("menuitem", name="Show openEO sessions").click()
    expect(page.locator(".jp-Dialog")).to_contain_text("Not logged in to openEO.", timeout=15000)
    # (the palette runs "Log out of openEO" in the first test)


def test_status_bar_and_notebook_widgets_follow_each_other(stack, lab, page, tmp_path):
    nb = nbformat.v4.new_notebook(
        # var=None: a widget that waits for its button (displayed with the default var, it would log in at once)
        cells=[
            nbformat.v4.new_code_cell(
                f"import jupyter_openeo_auth as joa\nw = joa.login({stack.backend.url!r}, var=None)\nw"
            )
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "root" / "widget.ipynb")
    page.goto(f"{lab.service.url}/lab/tree/widget.ipynb?token={lab.token}")
    status = page.locator(".jp-OpenEOAuth-status")
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=60000)
    page.locator(".jp-Cell").first.click()
    page.keyboard.press("Shift+Enter")
    out = page.locator(".jp-Cell").first.locator(".jp-OutputArea")
    widget_button = out.get_by_role("button", name="Log in to openEO")
    expect(widget_button).to_be_visible(timeout=60000)

    # A login finished in the dialog turns the notebook's widget to "Logged in as" within 2 seconds.
    dialog, user_code = log_in_through_the_dialog(page, status)
    ProviderUser("alice").approve(f"{stack.provider.url}/device?user_code={user_code}", user_code)
    expect(dialog.locator(".jp-OpenEOAuth-success")).to_be_visible(timeout=30000)
    expect(out).to_contain_text("Logged in as Alice Liddell", timeout=2000)

    # A login finished in the widget turns the status bar within 2 seconds.
    lab.api("DELETE", "sessions", params={"backend": stack.backend.url})
    expect(status).to_have_text("openEO: not logged in", timeout=5000)
    page.locator(".jp-Cell").first.click()
    page.keyboard.press("Control+Enter")  # run the cell again: a new widget
    expect(widget_button).to_be_visible(timeout=30000)
    widget_button.click()
    code = out.locator("p[style*='font-size:2em']")
    expect(code).to_be_visible(timeout=30000)
    expect(out.get_by_text("Open the login page")).to_be_visible()
    user_code = code.inner_text().strip()
    expect(status).to_have_text("openEO: logging in…", timeout=2000)
    ProviderUser("alice").approve(f"{stack.provider.url}/device?user_code={user_code}", user_code)
    expect(out).to_contain_text("Logged in as Alice Liddell", timeout=30000)
    expect(status).to_have_text(re.compile("openEO: Alice Liddell @ "), timeout=2000)

    # A widget showing a code switches when the same login is completed from the dialog.
    lab.api("DELETE", "sessions", params={"backend": stack.backend.url})
    page.locator(".jp-Cell").first.click()
    page.keyboard.press("Control+Enter")
    expect(widget_button).to_be_visible(timeout=30000)
    widget_button.click()
    expect(code).to_be_visible(timeout=30000)
    widget_code = code.inner_text().strip()
    dialog, dialog_code = open_the_dialog_on_the_pending_login(page, status)
    assert dialog_code == widget_code  # one pending login per back-end: the dialog rejoins it
    ProviderUser("alice").approve(f"{stack.provider.url}/device?user_code={dialog_code}", dialog_code)
    expect(dialog.locator(".jp-OpenEOAuth-success")).to_be_visible(timeout=30000)
    expect(out).to_contain_text("Logged in as Alice Liddell", timeout=2000)


def test_a_refused_account_and_a_hostile_user_name_in_the_status_bar(stack, lab, page):
    status = open_lab(page, lab)
    code, login = lab.api("POST", "logins", json={"backend": stack.backend.url})
    ProviderUser("mark").approve(login["verification_uri_complete"], login["user_code"])
    expect(status).to_have_text("openEO: account not accepted", timeout=30000)
    title = status.get_attribute("title")
    assert 'Mark <img src=x onerror="window.__pwned=1">' in title  # the name, as text
    assert "No access for Mark." in title
    expect(page.locator(".jp-OpenEOAuth-status img")).to_have_count(0)
    assert page.evaluate("() => window.__pwned") is None


def test_the_status_bar_says_which_backends_share_a_login(stack, second_backend, lab, page):
    status = open_lab(page, lab)
    code, login = lab.api("POST", "logins", json={"backend": stack.backend.url})
    ProviderUser("alice").approve(login["verification_uri_complete"], login["user_code"])
    expect(status).to_have_text(re.compile("openEO: Alice Liddell @"), timeout=30000)
    assert lab.api("POST", "token", json={"backend": second_backend.url})[0] == 200  # a notebook of the second
    page.keyboard.press("Escape")
    expect(status).to_have_text("openEO: Alice Liddell +1", timeout=30000)  # the event updates the status bar
    title = status.get_attribute("title")
    host = second_backend.url.split("//")[1]
    assert f"{stack.backend.url} (local): Alice Liddell, device login" in title and f"one login with {host}" in title
    assert re.search(r"token valid until \d\d:\d\d \(renewed automatically\)", title)  # as the CLI says it


@pytest.fixture
def short_login(stack):
    """A back-end whose provider lets one login last 40 s however often it is renewed, with 20 s access tokens
    (Keycloak-like limits in front of the test provider)."""
    with limited_backend(access=20, idle=60, max_life=40) as (backend, _):
        yield backend


def test_the_status_bar_and_the_cli_say_by_when_to_log_in_again(lab, page, short_login):
    status = open_lab(page, lab)
    _, login = lab.api("POST", "logins", json={"backend": short_login.url})
    ProviderUser("alice").approve(login["verification_uri_complete"], login["user_code"])
    began = time.time()
    expect(status).to_have_text(re.compile("openEO: Alice Liddell @"), timeout=30000)
    # A renewal shows that the provider's session maximum is near: the tooltip says by when, as the CLI does.
    expect(status).to_have_attribute("title", re.compile(r"log in again by \d\d:\d\d"), timeout=40000)
    by = re.search(r"log in again by (\d\d:\d\d)", status.get_attribute("title")).group(1)
    cli = subprocess.run(
        ["jupyter", "openeo-auth", "status"],
        env={**os.environ, "JUPYTER_OPENEO_AUTH_SERVER": lab.service.url, "JUPYTER_TOKEN": lab.token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert f"log in again by {by}" in cli.stdout, cli
    assert status.inner_text().startswith("openEO: Alice Liddell")  # not yet in the status bar itself
    # In the last tenth of the login's life the status bar item says it, without any pop-up.
    expect(status).to_have_text(f"openEO: log in again by {by}", timeout=40000)
    assert time.time() > began + 30
    expect(status).to_have_text("openEO: log in again", timeout=30000)
    expect(page.locator(".jp-Dialog, .jp-toast-container .Toastify__toast")).to_have_count(0)


def test_the_dialogs_layout(stack, lab, page):
    """One provider: no provider list and no empty row where it would be. A back-end that cannot be reached:
    its sentence and Retry, no empty lists and no Log in button."""
    status = open_lab(page, lab)
    status.click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".jp-OpenEOAuth-login")).to_be_enabled(timeout=30000)
    expect(dialog.locator(".jp-OpenEOAuth-provider")).to_be_hidden()
    box = {name: dialog.locator(f".jp-OpenEOAuth-{name}").bounding_box() for name in ("backend", "flow")}
    gap = box["flow"]["y"] - (box["backend"]["y"] + box["backend"]["height"])
    assert gap < 20, f"{gap:.0f} px between the back-end field and the way to log in"
    url = dialog.locator(".jp-OpenEOAuth-backend")
    url.fill("http://127.0.0.1:9")  # nothing listens there
    url.dispatch_event("change")
    expect(dialog.locator(".jp-OpenEOAuth-retry")).to_be_visible(timeout=30000)
    expect(dialog.locator(".jp-OpenEOAuth-message")).to_contain_text("127.0.0.1:9")
    for part in ("provider", "flow", "login"):
        expect(dialog.locator(f".jp-OpenEOAuth-{part}")).to_be_hidden()
    url.fill(stack.backend.url)
    dialog.locator(".jp-OpenEOAuth-retry").click()
    expect(dialog.locator(".jp-OpenEOAuth-login")).to_be_enabled(timeout=30000)
    expect(dialog.locator(".jp-OpenEOAuth-retry")).to_be_hidden()


def test_closing_the_dialog_keeps_the_login_and_cancel_ends_it(stack, lab, page):
    """The dialog says it may be closed; closed (its button or Escape), the login goes on, opening it again
    (after a reload of the page too) shows its code at once, and the status bar shows the login's end.
    "Cancel the login" ends the login at the server, says so, and offers Retry."""
    status = open_lab(page, lab)
    dialog, _ = log_in_through_the_dialog(page, status)
    expect(dialog.locator(".jp-OpenEOAuth-hint")).to_contain_text("You may close this window")
    body = dialog.locator(".jp-Dialog-body")
    assert body.evaluate("b => b.scrollHeight <= b.clientHeight + 1"), "the code's stage does not fit the dialog"
    expect(dialog.locator(":focus")).to_have_count(1)  # the clicked "Log in" is gone; Escape still reaches the dialog
    dialog.get_by_role("button", name="Cancel the login").click()
    expect(dialog.locator(".jp-OpenEOAuth-error")).to_have_text("The login was cancelled.", timeout=15000)
    expect(status).to_have_text("openEO: not logged in", timeout=5000)
    assert lab.api("GET", "sessions") == (200, {"sessions": []})

    dialog.locator(".jp-OpenEOAuth-retry").click()
    expect(dialog.locator(".jp-OpenEOAuth-login")).to_be_enabled(timeout=30000)
    dialog.locator(".jp-OpenEOAuth-login").click()
    code = dialog.locator(".jp-OpenEOAuth-code")
    expect(code).to_be_visible(timeout=30000)
    user_code = code.inner_text().strip()
    dialog.get_by_role("button", name="Close", exact=True).click()
    expect(page.locator(".jp-Dialog")).to_have_count(0, timeout=10000)
    expect(status).to_have_text("openEO: logging in…", timeout=5000)
    _, again = open_the_dialog_on_the_pending_login(page, status)
    assert again == user_code
    page.keyboard.press("Escape")
    expect(page.locator(".jp-Dialog")).to_have_count(0, timeout=10000)
    status = open_lab(page, lab)  # a reloaded page knows the pending login too
    expect(status).to_have_text("openEO: logging in…", timeout=10000)
    _, after_reload = open_the_dialog_on_the_pending_login(page, status)
    assert after_reload == user_code
    page.keyboard.press("Escape")
    expect(page.locator(".jp-Dialog")).to_have_count(0, timeout=10000)
    ProviderUser("alice").approve(f"{stack.provider.url}/device?user_code={user_code}", user_code)
    host = stack.backend.url.split("://")[1]
    expect(status).to_have_text(f"openEO: Alice Liddell @ {host}", timeout=30000)


def test_a_remembered_backend_that_no_longer_answers_gives_way_to_the_default(stack, lab, page):
    remembered = Path(lab.settings_dir) / "jupyter-openeo-auth" / "plugin.jupyterlab-settings"
    remembered.parent.mkdir(parents=True, exist_ok=True)
    remembered.write_text(json.dumps({"lastBackend": "http://127.0.0.1:9"}))  # an ended demo's back-end
    status = open_lab(page, lab)
    status.click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".jp-OpenEOAuth-login")).to_be_enabled(timeout=30000)
    assert dialog.locator(".jp-OpenEOAuth-backend").input_value() == stack.backend.url
    expect(dialog.locator(".jp-OpenEOAuth-message")).to_contain_text(
        "http://127.0.0.1:9, the back-end you used last, does not answer"
    )


@pytest.fixture
def notebook_7(stack, tmp_path):
    """Jupyter Notebook 7 with the extension, its default back-end the stack's; (service, token)."""
    token = secrets.token_hex(16)
    service = jupyter_service(
        tmp_path,
        token,
        app="notebook",
        config={"OpenEOAuth": {"persist": "never", "default_backend": stack.backend.url}},
    )
    service.start(timeout=120)
    yield service, token
    service.cleanup()


def test_notebook_7_shows_the_login_state_in_its_top_bar(stack, notebook_7, tmp_path, page):
    """Issue 31: Notebook 7 has no status bar; its top bar shows the login state in the tree and notebook views,
    following logins made anywhere on the server, and a click there opens the account or the dialog."""
    service, token = notebook_7
    kernelspec = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")], metadata={"kernelspec": kernelspec})
    nbformat.write(notebook, tmp_path / "nb.ipynb")
    page.goto(f"{service.url}/tree?token={token}")
    state = page.locator("#top-panel .jp-OpenEOAuth-status")
    expect(state).to_have_text("openEO: not logged in", timeout=60000)
    headers = {"Authorization": f"token {token}"}
    login = requests.post(
        f"{service.url}/openeo-auth/api/logins", json={"backend": stack.backend.url}, headers=headers, timeout=30
    ).json()
    ProviderUser("alice").approve(login["verification_uri_complete"], login["user_code"])
    host = stack.backend.url.split("://")[1]
    expect(state).to_have_text(f"openEO: Alice Liddell @ {host}", timeout=30000)  # the event bus, no reload
    page.goto(f"{service.url}/notebooks/nb.ipynb?token={token}")
    state = page.locator("#top-panel .jp-OpenEOAuth-status")
    expect(state).to_have_text(f"openEO: Alice Liddell @ {host}", timeout=60000)
    state.click()
    expect(page.locator(".jp-Dialog")).to_contain_text("Alice Liddell (alice@example.org)")


def test_notebook_7_has_the_menu_and_the_dialog(stack, notebook_7, page):
    service, token = notebook_7
    page.goto(f"{service.url}/tree?token={token}")
    menu = page.get_by_role("menuitem", name="openEO")
    expect(menu).to_be_visible(timeout=60000)
    menu.click()
    page.get_by_role("menuitem", name="Log in to openEO…").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".jp-OpenEOAuth-backend")).to_have_value(stack.backend.url, timeout=30000)
    expect(dialog.locator(".jp-OpenEOAuth-message")).to_have_text("Provider: Local demo provider", timeout=30000)


def test_the_source_is_formatted_and_linted_as_the_extension_template_does_it():
    """Prettier and ESLint with the extension template's settings (labextension/package.json and
    eslint.config.mjs), installed by `npm ci`; no warning allowed."""
    import subprocess

    folder = Path(__file__).resolve().parents[1] / "labextension"
    done = subprocess.run(["npm", "run", "-s", "lint:check"], cwd=folder, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_status_bar_shows_the_account_and_every_log_out_asks_first(stack, second_backend, lab, page):
    """Issue 31: clicking the status bar while logged in shows who, at which provider, which back-ends the login
    serves and how it is renewed, with Log out; every Log out asks first, and Cancel keeps the login."""
    status = open_lab(page, lab)
    _, login = lab.api("POST", "logins", json={"backend": stack.backend.url})
    ProviderUser("alice").approve(login["verification_uri_complete"], login["user_code"])
    expect(status).to_have_text(re.compile("openEO: Alice Liddell @"), timeout=30000)
    assert lab.api("POST", "token", json={"backend": second_backend.url})[0] == 200  # shared with a second one
    expect(status).to_have_text("openEO: Alice Liddell +1", timeout=30000)

    status.click()
    account = page.locator(".jp-Dialog")
    expect(account.locator(".jp-Dialog-header")).to_have_text("openEO account")
    expect(account).to_contain_text("Alice Liddell (alice@example.org)")
    expect(account).to_contain_text(f"local ({stack.provider.url})")
    expect(account).to_contain_text(f"{stack.backend.url}, {second_backend.url}")
    expect(account).to_contain_text("Renewed automatically")
    account.get_by_role("button", name="Log out").click()
    confirm = page.locator(".jp-Dialog")
    expect(confirm.locator(".jp-Dialog-header")).to_have_text("Log out of openEO?")
    confirm.get_by_role("button", name="Cancel").click()  # asked first: nothing happens
    expect(page.locator(".jp-Dialog")).to_have_count(0)
    expect(status).to_have_text("openEO: Alice Liddell +1")

    run_from_the_palette(page, "Log out of openEO")  # the menu's and the palette's Log out ask too
    confirm = page.locator(".jp-Dialog")
    expect(confirm.locator(".jp-Dialog-header")).to_have_text("Log out of openEO?", timeout=10000)
    confirm.get_by_role("button", name="Log out").click()
    expect(page.locator(".jp-Dialog")).to_contain_text(f"Logged out of {stack.backend.url}", timeout=15000)
    page.keyboard.press("Enter")
    expect(status).to_have_text("openEO: not logged in", timeout=10000)
