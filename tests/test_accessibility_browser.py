"""axe-core (from the npm registry, node_modules/axe-core) on every main page of the back office
and on the citizens' tracking page (issue 22, point 6): no serious or critical violation of WCAG
2.x A/AA. Each page's results (rules run, violations by impact) are printed in the test output
(`pytest -s` or the captured output of a failure)."""
from __future__ import annotations

import json

import pytest

from .lifecycle_helpers import accepted
from .test_admin_browser import ROOT, browser, login, new_page, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.sqlite_only
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture
def page(browser):  # noqa: F811
    """A page where axe-core may be injected (the product's CSP allows only its own scripts)."""
    yield from new_page(browser, 1366, 768, bypass_csp=True)


def axe(page, name: str) -> list[dict]:
    """Run axe-core on the page as it is; print a one-line summary; the serious and critical ones."""
    if not AXE.exists():
        pytest.fail(f"{AXE} missing: `make venv` installs axe-core from the npm registry", pytrace=False)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    counts: dict[str, int] = {}
    for v in result["violations"]:
        counts[v["impact"]] = counts.get(v["impact"], 0) + 1
    print(f"axe-core {result['testEngine']['version']} {name}: {len(result['passes'])} rules passed, "
          f"violations {json.dumps(counts or {})}")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    for v in bad:
        print(f"  {v['impact']} {v['id']}: {v['help']} — {[n['target'] for n in v['nodes'][:5]]}")
    return bad


def _login(page, server, username: str) -> None:
    page.context.clear_cookies()  # as another person, on a fresh login page
    login(page, server, username)
    page.wait_for_url(lambda url: "/admin/login" not in url)


def _check(page, server, pages: list[tuple[str, str]]) -> None:
    failures = {}
    for name, path in pages:
        response = page.goto(f"{server}{path}")
        assert response is not None and response.status < 400, (path, response and response.status)
        page.wait_for_load_state("networkidle")
        bad = axe(page, name)
        if bad:
            failures[name] = [f"{v['impact']} {v['id']}: {[n['target'] for n in v['nodes'][:3]]}" for v in bad]
    assert failures == {}, json.dumps(failures, ensure_ascii=False, indent=1)


def test_officers_pages_have_no_serious_accessibility_violation(api, api_key, page, server):  # noqa: F811
    dossier = accepted(api, api_key())
    task = dossier["current_tasks"][0]["id"] if dossier.get("current_tasks") else None
    _login(page, server, "specialist.00454")  # the commune accepted() receives at
    pages = [("inbox", "/admin/inbox"), ("dossiers", "/admin/dossiers"),
             ("dossier", f"/admin/dossiers/{dossier['code']}"), ("notifications", "/admin/notifications"),
             ("tracking-book", "/admin/tracking-book")]
    if task:
        pages.append(("task", f"/admin/tasks/{task}"))
    _check(page, server, pages)


def test_desk_and_login_pages_have_no_serious_accessibility_violation(page, server):  # noqa: F811
    page.goto(f"{server}/admin/login")
    assert axe(page, "login") == []
    _login(page, server, "reception.00070")
    _check(page, server, [("desk", "/admin/desk")])
    _login(page, server, "leader.00070")
    _check(page, server, [("absence", "/admin/absence"), ("unit-inbox", "/admin/inbox?view=unit")])


def test_designer_pages_have_no_serious_accessibility_violation(page, server):  # noqa: F811
    _login(page, server, "designer.01")
    _check(page, server, [("catalogue", "/admin/procedures"), ("procedure", "/admin/procedures/1.001193"),
                          ("version", "/admin/procedures/1.001193/v/1"), ("upload", "/admin/procedures/upload")])


def test_administrator_and_supervisor_pages_have_no_serious_accessibility_violation(page, server):  # noqa: F811
    _login(page, server, "admin.01")
    _check(page, server, [("users", "/admin/users"), ("units", "/admin/units"), ("calendar", "/admin/calendar"),
                          ("audit", "/admin/audit"), ("operations", "/admin/operations")])
    _login(page, server, "supervisor.01")
    _check(page, server, [("statistics", "/admin/statistics")])


def test_citizen_tracking_page_has_no_serious_accessibility_violation(api, api_key, page, server):  # noqa: F811
    dossier = accepted(api, api_key())
    page.set_viewport_size({"width": 390, "height": 844})
    _check(page, server, [("tracking", "/tra-cuu"),
                          ("tracking-result", f"/tra-cuu?code={dossier['code']}&phone=5678")])
