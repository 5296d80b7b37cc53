"""The login widget in real JupyterLab, in Debian's Chromium driven by Playwright (no downloaded browser)."""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect

from jupyter_openeo_auth.demo import demo_notebook
from jupyter_openeo_auth.devstack import jupyter_service
from jupyter_openeo_auth.devstack.user import ProviderUser

pytestmark = pytest.mark.slow


@dataclass
class Lab:
    url: str
    notebook: Path
    server_secrets: list[str]  # the server's token and the kernel key: canaries too


@pytest.fixture
def lab(stack, tmp_path):
    token = secrets.token_hex(16)
    nb = demo_notebook(stack.backend.url)  # the demo's notebook: its kernelspec, its cells
    nb.cells = [c for c in nb.cells if c.cell_type == "code"]
    nbformat.write(nb, tmp_path / "login.ipynb")
    # "Save widget state automatically": JupyterLab then writes the widgets' state into the .ipynb on save.
    settings = tmp_path / "lab-settings" / "@jupyter-widgets" / "jupyterlab-manager"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"saveState": True}))
    service = jupyter_service(
        tmp_path,
        token,
        app="lab",
        config={"OpenEOAuth": {"persist": "never"}},
        env={"JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-settings")},
    ).start(timeout=120)
    [key_file] = service.runtime_dir.glob("jupyter-openeo-auth-*.json")
    yield Lab(
        f"{service.url}/lab/tree/login.ipynb?token={token}",
        tmp_path / "login.ipynb",
        [token, json.loads(key_file.read_text())["key"]],
    )
    service.cleanup()


def button_width(button) -> float:
    return button.bounding_box()["width"]


def output_width(page) -> float:
    return page.locator(".jp-OutputArea-output").first.bounding_box()["width"]


def test_widget_in_jupyterlab_shows_the_code_and_then_who_logged_in(lab, page, tmp_path, issued_secrets):
    page.goto(lab.url)
    expect(page.locator(".jp-Notebook")).to_be_visible(timeout=60000)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=60000)
    page.locator(".jp-Cell").first.click()
    page.keyboard.press("Shift+Enter")  # %openeo_login (the server loaded it in the kernel: nothing to %load_ext)

    code = page.locator("p[style*='font-size:2em']")
    expect(code).to_be_visible(timeout=60000)
    user_code = code.inner_text().strip()
    assert re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", user_code)
    link = page.locator(".jp-OutputArea a[target=_blank]")
    href = link.get_attribute("href")
    assert (
        href.startswith("http://127.0.0.1:")
        and user_code in href
        and link.get_attribute("rel") == "noopener noreferrer"
    )
    expect(page.locator(".jp-OutputArea svg").first).to_be_visible()  # the QR code
    expect(page.get_by_text(re.compile(r"The code expires in \d+:\d\d"))).to_be_visible()
    cancel = page.get_by_role("button", name="Cancel the login")  # named as in the dialog
    assert button_width(cancel) < output_width(page) / 2  # as wide as its label, not the whole cell
    page.screenshot(path=str(tmp_path / "code.png"))

    ProviderUser("alice").approve(href, user_code)
    expect(page.get_by_text("renewed automatically")).to_be_visible(timeout=30000)
    expect(page.locator(".jp-OutputArea", has_text="Logged in as")).to_contain_text(
        "Logged in as Alice Liddell (alice@example.org)"
    )
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert button_width(page.get_by_role("button", name="Log out")) < output_width(page) / 2
    # The connection is bound before "Logged in" shows, and the note sits in the widget, not in a later cell.
    note = page.locator(".jp-OutputArea", has_text="Logged in as")
    expect(note).to_contain_text("connection is an authenticated openeo.Connection")
    expect(note.locator("code", has_text="connection")).to_be_visible()  # a name, not literal backticks
    expect(note).not_to_contain_text("`")

    page.keyboard.press("Shift+Enter")  # the next cell uses the bound connection
    expect(page.locator(".jp-OutputArea-output").get_by_text("'user_id': 'alice'")).to_be_visible(timeout=30000)
    expect(page.get_by_text("NameError")).to_have_count(0)

    # Saved by JupyterLab with the widget state: the .ipynb shows who logged in, and holds no secret.
    page.keyboard.press("Control+s")
    saved = wait_for_saved_widget_state(lab.notebook)
    assert "Logged in as <b>Alice Liddell</b>" in saved
    canaries = issued_secrets() + lab.server_secrets
    assert len(canaries) > 4  # device code, access and refresh tokens, service secret, server secrets
    assert [c for c in canaries if c in saved] == []


def wait_for_saved_widget_state(path: Path, timeout: float = 30) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = path.read_text()
        if json.loads(text)["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json"):
            return text
        time.sleep(0.2)
    raise AssertionError(f"JupyterLab did not save the widget state into {path}")


def test_restart_kernel_and_run_all_waits_for_the_login(stack, lab, page):
    """JupyterLab's "Restart Kernel and Run All Cells" on the demo notebook: the cells after the login wait while
    the widget shows the code; once the user approves, the account answers as her, and no NameError."""
    nbformat.write(demo_notebook(stack.backend.url), lab.notebook)
    page.goto(lab.url)
    expect(page.locator(".jp-Notebook")).to_be_visible(timeout=60000)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=60000)
    # The notebook's own toolbar button, as a user clicks it (the command palette, opened while a fresh notebook
    # still takes the focus, can close again and pass the typed keys to the notebook as shortcuts).
    page.get_by_role("button", name="Restart the kernel and run all cells").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Confirm Kernel Restart").click()

    code = page.locator("p[style*='font-size:2em']")
    expect(code).to_be_visible(timeout=60000)
    href = page.locator(".jp-OutputArea a[target=_blank]").get_attribute("href")
    account = page.locator(".jp-Cell", has_text="connection.describe_account()")
    expect(account.locator(".jp-InputPrompt")).to_have_text("[*]:")  # waiting for the login, not failed
    ProviderUser("bob").approve(href, code.inner_text().strip())
    expect(account.locator(".jp-OutputArea-output")).to_contain_text("'user_id': 'bob'", timeout=60000)
    expect(page.get_by_text("NameError")).to_have_count(0)


def test_cancel_in_the_widget_ends_a_waiting_authenticate_oidc(stack, lab, page):
    """Issue 29: the kernel is busy in `authenticate_oidc()` and would see a click on the widget's button only
    after the wait; "Cancel the login" asks the server from the page, and the cell ends within seconds saying
    so (it waited for `max_poll_time`, 300 s, before)."""
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(f"import openeo\nopeneo.connect({stack.backend.url!r}).authenticate_oidc()")]
    )
    nb.metadata = demo_notebook(stack.backend.url).metadata
    nbformat.write(nb, lab.notebook)
    page.goto(lab.url)
    expect(page.locator(".jp-Notebook")).to_be_visible(timeout=60000)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=60000)
    page.get_by_role("button", name="Restart the kernel and run all cells").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Confirm Kernel Restart").click()
    expect(page.locator("p[style*='font-size:2em']")).to_be_visible(timeout=60000)
    cell = page.locator(".jp-Cell").first
    expect(cell.locator(".jp-InputPrompt")).to_have_text("[*]:")  # the kernel waits for the login
    clicked = time.monotonic()
    cell.get_by_role("button", name="Cancel the login").click()
    outputs = cell.locator(".jp-OutputArea")
    expect(outputs).to_contain_text("LoginEnded", timeout=10000)
    took = time.monotonic() - clicked
    expect(outputs).to_contain_text("The login was cancelled.")
    expect(cell.locator(".jp-InputPrompt")).not_to_have_text("[*]:")
    print(f"Cancel to the cell's end: {took:.2f} s")
    assert took < 4, took  # the kernel's poll (1 s) and wait (0.2 s), with the browser's own pace
