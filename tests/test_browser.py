"""The login widget in real JupyterLab, in Debian's Chromium driven by Playwright (no downloaded browser)."""

from __future__ import annotations

import re
import secrets

import nbformat
import pytest
from playwright.sync_api import expect, sync_playwright

from jupyter_openeo_auth.demo import demo_notebook
from jupyter_openeo_auth.devstack import jupyter_service
from jupyter_openeo_auth.devstack.user import ProviderUser

CHROMIUM = "/usr/bin/chromium"
# Flags for a closed network: no background connections to Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


@pytest.fixture
def lab(stack, tmp_path):
    token = secrets.token_hex(16)
    nb = demo_notebook(stack.backend.url)  # the demo's notebook: its kernelspec, its cells
    nb.cells = [c for c in nb.cells if c.cell_type == "code"][:3]
    nbformat.write(nb, tmp_path / "login.ipynb")
    service = jupyter_service(tmp_path, token, app="lab", config={"OpenEOAuth": {"persist": "never"}}).start(timeout=120)
    yield f"{service.url}/lab/tree/login.ipynb?token={token}"
    service.cleanup()


@pytest.fixture
def page(tmp_path):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        yield page
        page.screenshot(path=str(tmp_path / "last.png"))
        browser.close()


def test_widget_in_jupyterlab_shows_the_code_and_then_who_logged_in(lab, page, tmp_path):
    page.goto(lab)
    expect(page.locator(".jp-Notebook")).to_be_visible(timeout=60000)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=60000)
    page.locator(".jp-Cell").first.click()
    page.keyboard.press("Shift+Enter")  # %load_ext
    page.keyboard.press("Shift+Enter")  # %openeo_login

    code = page.locator("p[style*='font-size:2em']")
    expect(code).to_be_visible(timeout=60000)
    user_code = code.inner_text().strip()
    assert re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", user_code)
    link = page.locator(".jp-OutputArea a[target=_blank]")
    href = link.get_attribute("href")
    assert href.startswith("http://127.0.0.1:") and user_code in href and link.get_attribute("rel") == "noopener noreferrer"
    expect(page.locator(".jp-OutputArea svg").first).to_be_visible()  # the QR code
    expect(page.get_by_text(re.compile(r"The code expires in \d+:\d\d"))).to_be_visible()
    page.screenshot(path=str(tmp_path / "code.png"))

    ProviderUser("alice").approve(href, user_code)
    expect(page.get_by_text("renewed automatically")).to_be_visible(timeout=30000)
    expect(page.locator(".jp-OutputArea", has_text="Logged in as")).to_contain_text("Logged in as Alice Liddell (alice@example.org)")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    # The connection is bound before "Logged in" shows, and the note sits in the widget, not in a later cell.
    expect(page.locator(".jp-OutputArea", has_text="Logged in as")).to_contain_text(
        "`connection` is an authenticated openeo.Connection"
    )

    page.keyboard.press("Shift+Enter")  # the next cell uses the bound connection
    expect(page.locator(".jp-OutputArea-output").get_by_text("'user_id': 'alice'")).to_be_visible(timeout=30000)
    expect(page.get_by_text("NameError")).to_have_count(0)
