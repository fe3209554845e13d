"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium) against live_server.

Chromium is installed by `.ci/run` (apt-get install -y chromium); `playwright install` is never
used. The live server runs in a thread that touches the ORM from Playwright's event loop, hence
DJANGO_ALLOW_ASYNC_UNSAFE.
"""
import os
import re
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium`.")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"],
        )
        yield browser
        browser.close()


# Runs in every page before its own scripts (Playwright injects it; the page's CSP does not apply
# to it): every Content-Security-Policy violation becomes a console error the fixture collects.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile || e.documentURI}:${e.lineNumber}`);
});
"""
# A page that answers 403/404 on purpose (tests of refused access) logs this for the document.
EXPECTED_CONSOLE = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")


@pytest.fixture
def page(browser, live_server, request):
    """A fresh browser context on the live server. The pages run under the portal's real
    Content-Security-Policy; any CSP violation, uncaught script error or unexpected console
    error fails the test (after its own assertions)."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    problems = []

    def on_console(message):
        if message.type == "error" and not (EXPECTED_CONSOLE.match(message.text)
                                             and "/static/" not in message.location.get("url", "")):
            problems.append(f"console error on {page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"script error on {page.url}: {error}"))
    page.browser_problems = problems
    yield page
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    if problems:
        pytest.fail("The browser reported problems (CSP violations or script errors):\n" + "\n".join(problems))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def sign_in(page, email, password):
    """Sign in and wait until the browser has left the sign-in page (a condition, not a delay:
    `wait_for_load_state` right after a click can return before the navigation even starts)."""
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
