"""Issue 14, point 6: security headers on every answer, and no inline script for the
Content-Security-Policy to block. Every back-office page reachable from each kind of user's
navigation, a dossier, a task, a procedure and its versions, the modeler, the login page, the
citizens' tracking page and error pages are fetched and checked; then the session cookie's
attributes, with and without the HTTPS setting."""
from __future__ import annotations

import lxml.html
import pytest

from orchestrator import create_app

from ..admin_client import BackOffice
from ..conftest import _config
from ..lifecycle_helpers import BRANCH_OFFICER, RECEPTION, accepted, task

# one of each kind of demo user: designers (national, province), administrator, supervisor, officers
USERS = ["designer.VN", "designer.01", "admin.01", "supervisor.01", RECEPTION, BRANCH_OFFICER, "leader.00454"]
PROCEDURE = "/procedures/1.001193"


def _csp(response) -> dict[str, list[str]]:
    policy = response.headers.get("Content-Security-Policy", "")
    return {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}


def header_problems(response, html: bool = True) -> list[str]:
    h, csp, problems = response.headers, _csp(response), []
    if html:
        expected = {"default-src": ["'self'"], "script-src": ["'self'"], "object-src": ["'none'"],
                    "base-uri": ["'self'"], "form-action": ["'self'"], "frame-ancestors": ["'none'"]}
        problems += [f"CSP {k} is {csp.get(k)}" for k, v in expected.items() if csp.get(k) != v]
        if not {"'self'", "data:"} <= set(csp.get("img-src", [])):
            problems.append(f"CSP img-src is {csp.get('img-src')}")
    elif csp.get("default-src") != ["'none'"]:
        problems.append(f"CSP is {h.get('Content-Security-Policy')!r}")
    if h.get("X-Frame-Options") != "DENY":
        problems.append(f"X-Frame-Options {h.get('X-Frame-Options')}")
    if h.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"X-Content-Type-Options {h.get('X-Content-Type-Options')}")
    if h.get("Referrer-Policy") not in ("same-origin", "strict-origin-when-cross-origin"):
        problems.append(f"Referrer-Policy {h.get('Referrer-Policy')}")
    if "Strict-Transport-Security" in h:
        problems.append("HSTS without the HTTPS setting")
    return problems


def inline_code(html: str) -> list[str]:
    """What script-src 'self' would block: inline <script>, on...= handlers, javascript: URLs. A
    `<script type="application/json">` is data a page's own script reads, never run: not blocked."""
    found = []
    for el in lxml.html.fromstring(html).iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag == "script" and not el.get("src") and (el.get("type") or "").lower() != "application/json":
            found.append(f"inline <script>{(el.text or '')[:40]}")
        for name, value in el.attrib.items():
            if name.lower().startswith("on"):
                found.append(f"<{el.tag} {name}={value[:40]!r}>")
            elif name in ("href", "src", "action", "formaction") and value.strip().lower().startswith("javascript:"):
                found.append(f"<{el.tag} {name}={value[:40]!r}>")
    return found


class Checker:
    """Fetches pages and collects every problem, so one run names all the pages at fault."""

    def __init__(self):
        self.problems: list[str] = []
        self.pages = 0

    def page(self, client, url: str, status: int = 200, inline: bool = True, who: str = "anonymous") -> str:
        r = client.get(url)
        where = f"{who} GET {url}"
        if r.status_code != status:
            self.problems.append(f"{where}: status {r.status_code}, expected {status}")
        if r.mimetype != "text/html":
            self.problems.append(f"{where}: {r.mimetype}, not a page")
            return ""
        self.pages += 1
        text = r.get_data(as_text=True)
        self.problems += [f"{where}: {p}" for p in header_problems(r) + (inline_code(text) if inline else [])]
        return text

    def other(self, response, where: str) -> None:
        self.problems += [f"{where}: {p}" for p in header_problems(response, html=False)]


def _login(client, who: str) -> BackOffice:
    office = BackOffice(client)
    r = office.login(who)
    assert r.status_code == 302, (who, r.status_code)
    return office


def _session_cookie(response) -> str:
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))


def test_every_page_has_the_headers_and_no_inline_script(app, api, api_key):
    body = accepted(api, api_key())  # received: its receipt exists, the land branch's step is open
    code, task_id = body["code"], task(body, "Task_FileCheck")["id"]
    check = Checker()

    # a published version that is no longer in force shows the rollback form (it asks to confirm)
    designer = _login(app.test_client(), "designer.VN")
    copy = designer.post(f"{PROCEDURE}/v/1/copy", referrer=f"{PROCEDURE}/v/1")
    draft = copy.headers["Location"].rsplit("/", 1)[1]
    published = designer.post(f"{PROCEDURE}/v/{draft}/publish", {"confirm": "1"}, referrer=f"{PROCEDURE}/v/{draft}",
                              follow=True)
    assert "Đã công bố" in designer.text(published)

    for who in USERS:
        client = app.test_client()
        _login(client, who)
        landing = client.get("/admin/", follow_redirects=True)
        assert landing.status_code == 200, who
        nav = lxml.html.fromstring(landing.get_data(as_text=True)).xpath("//header//nav//a/@href")
        assert nav, f"{who} has no navigation"
        for url in nav:
            text = check.page(client, url, who=who)
            if who == "designer.VN" and url.endswith("/admin/procedures"):
                assert "data-autosubmit" in text  # the scope list that submitted itself inline before
        check.page(client, "/admin/no-such-page", 404, who=who)

    officer = app.test_client()
    _login(officer, BRANCH_OFFICER)
    check.page(officer, f"/admin/dossiers/{code}", who=BRANCH_OFFICER)
    check.page(officer, f"/admin/tasks/{task_id}", who=BRANCH_OFFICER)
    check.page(officer, "/admin/procedures", 403, who=BRANCH_OFFICER)
    # the printable document: its print button works from the static script too
    text = check.page(officer, f"/admin/dossiers/{code}/documents/receipt", who=BRANCH_OFFICER)
    assert "data-print" in text and "forms.js" in text

    for url in (PROCEDURE, f"{PROCEDURE}/v/1", f"{PROCEDURE}/v/{draft}", f"{PROCEDURE}/v/1/compare",
                f"{PROCEDURE}/v/1/dry-run", f"{PROCEDURE}/v/1/modeler", "/procedures/upload"):
        text = check.page(designer.client, f"/admin{url}", who="designer.VN")
        if url == f"{PROCEDURE}/v/1":
            # issue 22: restoring goes through a confirmation page (checked below as a page too)
            assert 'id="rollback"' in text and f'href="/admin{PROCEDURE}/v/1/publish"' in text
    check.page(designer.client, f"/admin{PROCEDURE}/v/1/publish", who="designer.VN")

    anonymous = app.test_client()
    check.page(anonymous, "/admin/login")
    check.page(anonymous, "/tra-cuu")
    check.page(anonymous, f"/tra-cuu?code={code}")
    check.page(anonymous, "/tra-cuu?code=00000-000000-0000", 404)
    check.page(anonymous, "/no-such-page", 404)

    # the JSON API, the health check and static files: nothing to run, sniff or frame
    check.other(api.get("/units?level=province", "designer.01"), "GET /api/v1/units")
    check.other(api.get("/no-such-route", "designer.01"), "GET /api/v1/no-such-route")
    check.other(anonymous.get("/healthz"), "GET /healthz")
    check.other(anonymous.get("/admin/static/forms.js"), "GET /admin/static/forms.js")

    assert check.problems == [], "\n".join(check.problems)
    assert check.pages >= 40


def test_swagger_ui_script_is_allowed_by_its_hash_only(client):
    docs = client.get("/api/v1/docs")
    script_src = _csp(docs)["script-src"]
    assert script_src[0] == "'self'" and len(script_src) == 2 and script_src[1].startswith("'sha256-")
    assert _csp(client.get("/admin/login"))["script-src"] == ["'self'"]


def test_session_cookie_is_httponly_and_lax_and_not_secure_over_http(client):
    office = BackOffice(client)
    r = office.login("designer.01")
    assert r.status_code == 302
    cookie = _session_cookie(r)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Strict-Transport-Security" not in r.headers


def test_https_setting_adds_secure_cookie_and_hsts(database_uri):
    from orchestrator.extensions import db

    app = create_app({**_config(database_uri), "HTTPS": True})
    try:
        client = app.test_client()
        https = {"base_url": "https://localhost"}
        page = client.get("/admin/login", **https)
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        token = BackOffice(client)._token()
        r = client.post("/admin/login", data={"username": "designer.01", "password": "demo1234", "csrf_token": token},
                        headers={"Referer": "https://localhost/admin/login"}, **https)
        assert r.status_code == 302, r.get_data(as_text=True)
        cookie = _session_cookie(r)
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Strict-Transport-Security" in r.headers
        assert "Strict-Transport-Security" in client.get("/healthz", **https).headers
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("html, found", [
    ('<p><script>alert(1)</script></p>', True),
    ('<p><select onchange="this.form.submit()"></select></p>', True),
    ('<p><a href="javascript:history.back()">x</a></p>', True),
    ('<p><script src="/admin/static/forms.js" defer></script><select data-autosubmit></select></p>', False),
    ('<p><script type="application/json" id="data">{"a": 1}</script></p>', False),
    ('<p><script type="text/javascript">alert(1)</script></p>', True),
])
def test_the_inline_code_finder_finds_what_csp_blocks(html, found):
    assert bool(inline_code(html)) is found
