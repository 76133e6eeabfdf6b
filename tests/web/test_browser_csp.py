"""In a real Chromium: every main page, the Django admin and the API docs carry a Content-Security-Policy without
'unsafe-inline' or 'unsafe-eval' for scripts, and none of them breaks it (no violation reported) while HTMX
loads fragments and the charts draw. A page that does break it is caught: the check can fail."""

from __future__ import annotations

import re

import pytest

from bestby.pipeline.models import Deal
from tests.web.test_browser import (  # noqa: F401 - fixtures: one Chromium per module, a page per test
    _orm_beside_playwright, at, browser, expect, page, sign_in, workspace)

pytestmark = pytest.mark.django_db(transaction=True)

#: the pages of the navigation (an admin sees them all), the deal page with its HTMX-loaded curve. Not
#: /backtest/: it computes its replay on the request, past 90 s on this store (issue 15 moves that work to the
#: background); its template has no inline script or style either
PAGES = ["/", "/today/", "/board/", "/cadences/", "/clearance/", "/shelf-life/", "/forecast/", "/coverage/",
         "/funnel/", "/adherence/", "/goals/", "/accounts/", "/settings/", "/import/", "/deals/D1/"]
ADMIN = ["/admin/", "/admin/pipeline/deal/", "/admin/pipeline/deal/add/", "/admin/people/user/"]

# Recorded by the page itself (an init script runs before the page's own and is not subject to its policy)
LISTENER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
    `${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile || location.pathname}:${e.lineNumber}`));
"""


@pytest.fixture
def watched(page):
    """The page with every CSP violation collected: from the DOM event and from the console."""
    page.context.add_init_script(LISTENER)
    page.set_default_timeout(90_000)  # the engine's pages (forecast, coverage...) take seconds on first use
    expect.set_options(timeout=60_000)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.csp_console = console
    try:
        yield page
    finally:
        expect.set_options(timeout=10_000)  # test_browser.py's setting, for the modules after this one


def visit(page, path: str) -> str:
    """Open ``path``, wait until it and its HTMX requests are done; return its CSP header."""
    response = page.goto(path)
    assert response.status == 200, f"{path}: {response.status}"
    page.wait_for_load_state("networkidle")
    return response.headers.get("content-security-policy", "")


def violations(page) -> list[str]:
    page.wait_for_timeout(100)  # the violation event is queued as a task: let it run
    return page.evaluate("window.__csp") + page.csp_console


def directive(policy: str, name: str) -> list[str]:
    found = [part.split()[1:] for part in policy.split(";") if part.split()[:1] == [name]]
    assert found, f"no {name} in {policy!r}"
    return found[0]


def assert_strict_scripts(path: str, policy: str) -> None:
    scripts = directive(policy, "script-src")
    assert scripts == ["'self'"], f"{path}: script-src {scripts}"
    assert directive(policy, "object-src") == ["'none'"] and directive(policy, "frame-ancestors") == ["'none'"]


def test_every_main_page_keeps_its_policy_and_htmx_and_charts_work(watched, workspace):
    sign_in(watched, "root")
    at(watched, "/")
    for path in PAGES:
        policy = visit(watched, path)
        assert_strict_scripts(path, policy)
        assert directive(policy, "style-src") == ["'self'"], path  # the pages carry no inline style either
        assert violations(watched) == [], path
    # the deal page's curve comes in through HTMX (hx-trigger="load") in place of the link to it
    with watched.expect_response(lambda r: r.url.endswith("/deals/D1/curve/")
                                 and r.request.headers.get("hx-request") == "true") as curve:
        watched.goto("/deals/D1/")
    assert curve.value.status == 200
    expect(watched.locator("#curve")).not_to_contain_text("Show the win-probability curve")
    expect(watched.locator("#curve")).to_contain_text("win")
    # the board's filter form refreshes the board through HTMX, and pushes the address
    visit(watched, "/board/")
    with watched.expect_response(lambda r: "/board/?" in r.url and r.request.headers.get("hx-request") == "true") as r:
        watched.locator("form.filters select[name=state]").select_option(index=1)
    assert r.value.status == 200
    watched.wait_for_load_state("networkidle")
    expect(watched).to_have_url(re.compile(r"/board/\?.*state="))  # hx-push-url
    assert violations(watched) == []
    # the home page's share bars keep their widths without inline styles. The admin sees both teams' open
    # deals: Proposal 2500 + 1250 + 30000 = 33750 (the largest: 100 %), Qualify 1000 + 500 + 7000 = 8500 (25.2 %)
    visit(watched, "/")
    expect(watched.locator('tr[data-stage="Proposal"] .bar rect')).to_have_attribute("width", "100.0")
    expect(watched.locator('tr[data-stage="Qualify"] .bar rect')).to_have_attribute("width", "25.2")
    expect(watched.locator('tr[data-stage="Qualify"] td').last).to_have_text("")  # a drawing, not text
    box = watched.locator('tr[data-stage="Qualify"] .bar rect').bounding_box()
    full = watched.locator('tr[data-stage="Proposal"] .bar rect').bounding_box()
    assert full["width"] > 50 and box["width"] == pytest.approx(8500 / 33750 * full["width"], abs=1.5)
    assert violations(watched) == []


def test_admin_and_api_docs_work_under_their_policy(watched, workspace):
    sign_in(watched, "root")
    at(watched, "/")
    for path in ADMIN:
        policy = visit(watched, path)
        assert_strict_scripts(path, policy)
        assert violations(watched) == [], path
    # the admin's own scripts run: the change list's select-all box checks every row
    visit(watched, "/admin/pipeline/deal/")
    watched.locator("#action-toggle").check()
    expect(watched.locator("input.action-select:checked")).to_have_count(Deal.objects.count())
    # the admin's date widgets (calendar and clock shortcuts) are drawn by its scripts
    deal = Deal.objects.get(external_id="D1")
    visit(watched, f"/admin/pipeline/deal/{deal.pk}/change/")
    expect(watched.locator(".datetimeshortcuts").first).to_be_visible()
    assert violations(watched) == []
    # Swagger UI draws the API's operations from the OpenAPI document
    policy = visit(watched, "/api/docs")
    assert_strict_scripts("/api/docs", policy)
    expect(watched.locator(".opblock-summary-path").first).to_be_visible()
    assert watched.locator(".opblock").count() > 20
    assert violations(watched) == []


def test_a_page_that_breaks_the_policy_is_caught(watched, workspace):
    sign_in(watched, "rep_a")
    at(watched, "/")
    assert violations(watched) == []
    watched.evaluate("""() => {
        const s = document.createElement('script');
        s.textContent = 'window.__ran = true';
        document.body.appendChild(s);
        document.body.insertAdjacentHTML('beforeend', '<style>body { color: red }</style>');
    }""")
    found = violations(watched)
    assert any(re.match(r"script-src-elem blocked inline", v) for v in found), found
    assert any(re.match(r"style-src-elem blocked inline", v) for v in found), found
    assert watched.evaluate("window.__ran === undefined")  # the inline script never ran
