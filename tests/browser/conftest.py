"""Real Chromium, driven by Playwright, against pytest-django's live server.

The browser is Debian's `chromium` package (CHROMIUM names another binary); Playwright's own
browser download is never used. Without a browser the tests are skipped, except on CI
(CI=true), where a missing browser is an error: CI must not pass by skipping them.

Every test here gets the `browser` marker, a transactional database (the live server answers
from another thread, so the test's rows must be committed) and a serialized rollback (the
flush after a transactional test would otherwise drop the role groups and reasons that the
migrations create, which `make_staff` and later tests need).
"""

import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import sync_playwright

HERE = Path(__file__).parent

# Each flag keeps Chromium from something that cannot work or does not belong in a test.
CHROMIUM_ARGS = [
    # Tests run as root on CI, where Chromium's sandbox refuses to start.
    "--no-sandbox",
    # No GPU on these machines: software rendering without probing for one.
    "--disable-gpu",
    # The machines have no outside network: keep Chromium from reaching for Google's services
    # (QUIC probes, component and variations updates, sync), connections that can only hang
    # or fail here.
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A container's /dev/shm is often 64 MB, too small for Chromium's shared memory.
    "--disable-dev-shm-usage",
]
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
# Long enough for a slow CI machine, short enough that a missing element fails in seconds
# rather than Playwright's default 30.
TIMEOUT_MS = 10_000


def chromium_path():
    """The Chromium binary to drive, or None when there is none. CHROMIUM, when set, is the
    only candidate: a wrong path there should not quietly fall back to another browser."""
    configured = os.environ.get("CHROMIUM")
    candidates = [configured] if configured else [shutil.which("chromium"), "/usr/bin/chromium"]
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    # Runs before pytest's -m selection, so `-m "not browser"` leaves these out. The hook sees
    # the whole session's items, hence the path check.
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so that the page fixture knows it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for the tests of this package.

    Package scope rather than session: between its calls Playwright's sync API leaves its
    event loop marked as the test thread's running loop, from start() until stop(). Stopping
    it after the last browser test keeps that loop, and the two workarounds below, away from
    the rest of the suite.
    """
    executable = chromium_path()
    if executable is None:
        configured = os.environ.get("CHROMIUM")
        where = f"CHROMIUM={configured} is not executable" if configured else "none on PATH"
        message = (
            f"Chromium not found ({where}); install Debian's chromium package "
            "(apt-get install chromium) or set CHROMIUM to a Chromium binary"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}. CI must run the browser tests, not skip them.")
        pytest.skip(message)

    # With a running loop in the thread, Django takes the test code for async code:
    # 1. Every ORM call (creating rows in a test, the flush between tests) would raise
    #    SynchronousOnlyOperation. The calls are plain synchronous ones made between Playwright
    #    calls, never from inside the loop, so the check is switched off while Chromium runs.
    # 2. `connections` would hand out new connection objects, kept per async context instead of
    #    per thread. Those lack the serialized rows that the serialized rollback restores,
    #    would not be the connection that an in-memory SQLite test database shares with the
    #    live server, and would be left open. So that context gets the thread's own ones.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    thread_connections = {alias: connections[alias] for alias in connections}
    playwright = sync_playwright().start()
    try:
        for alias, connection in thread_connections.items():
            connections[alias] = connection
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _artifacts_dir(config):
    artifacts = config.rootpath / "test-artifacts" / "browser"
    artifacts.mkdir(parents=True, exist_ok=True)
    return artifacts


@pytest.fixture
def artifacts(request):
    """test-artifacts/browser/, created: where a test keeps a screenshot worth looking at."""
    return _artifacts_dir(request.config)


def _open_page(request, browser, live_server, options):
    """A page in a fresh context (no cookies shared between tests); its screenshot is kept in
    test-artifacts/browser/ when the test fails, then the context is closed."""
    context = browser.new_context(base_url=live_server.url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        yield page
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            page.screenshot(path=_artifacts_dir(request.config) / f"{name}.png", full_page=True)
    finally:
        context.close()


@pytest.fixture
def page(request, browser, live_server, django_db_serialized_rollback):
    """A desktop-sized page (1280x800) whose relative URLs go to the live server."""
    yield from _open_page(request, browser, live_server, DESKTOP)


@pytest.fixture
def phone_page(request, browser, live_server, django_db_serialized_rollback):
    """A phone-sized page (390x844, touch, 2x pixels) whose relative URLs go to the live
    server."""
    yield from _open_page(request, browser, live_server, PHONE)


def log_in(page, live_server, username, password):
    """Log in through the login form as a person would; returns the response to the POST."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Log in").click()
    return navigation.value


@pytest.fixture
def login():
    """`login(page, live_server, username, password)`: log in through the login form."""
    return log_in


@contextmanager
def _without_reload(page):
    # A full page load starts a new window object, which drops the marker.
    page.evaluate("window.__noReload = 1")
    yield
    assert page.evaluate("window.__noReload") == 1, "the page was reloaded, not updated by htmx"


@pytest.fixture
def without_reload():
    """`with without_reload(page): ...`: the actions in the block update the page in place
    (htmx) instead of loading a new one. Assert what the update shows inside the block, so that
    it has happened before the check."""
    return _without_reload


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Every browser test creates people and logs one in: with the production hasher (hundreds
    of milliseconds a hash) that is most of a test's time, and not what these tests are about.
    The live server runs in this process, so it checks passwords with the same hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
