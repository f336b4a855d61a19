"""Browser tests: Playwright drives Debian's Chromium against the app served on a local port.

With ``TEST_SCREENSHOTS=1`` the journeys save full-page screenshots of their screens to
``test-output/screenshots`` (git-ignored), for a person to look at; without it they take none
(a full-page PNG costs a tenth of a second or more, and nothing reads them in CI).
"""

import os
import pathlib
import threading

import pytest
from werkzeug.serving import make_server

from tests.helpers import unavailable

CHROMIUM = pathlib.Path("/usr/bin/chromium")
SCREENSHOTS = pathlib.Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM.exists():
        unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": [
            "--no-sandbox",
            "--headless",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def live_server(app):
    """The app served over HTTP on a free local port; its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def screenshot(request, backend):
    """``screenshot(page, name)`` saves a full-page PNG named after the test and backend (with
    ``TEST_SCREENSHOTS=1``; else it does nothing)."""
    wanted = os.environ.get("TEST_SCREENSHOTS") == "1"
    test_name = request.node.originalname

    def take(page, name):
        if not wanted:
            return None
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{test_name}-{name}-{backend}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def new_page(browser):
    """``new_page()``: a page in a browser context of its own (another person's session)."""
    contexts = []

    def make():
        context = browser.new_context()
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
