"""Issue 21, finding 9: sessions and tokens can be revoked. A password reset, a deactivation, a
role removed and a logout end every session (copies of the cookie included) and every API token
of the user; owners and their administrators list and revoke tokens. Each test failed before the
fix (said per test)."""
from __future__ import annotations

import hashlib

import pytest

from orchestrator.extensions import db
from orchestrator.services.auth import create_user

from ..admin_client import PASSWORD, BackOffice

VICTIM = "revocation.victim"


@pytest.fixture
def victim(app) -> int:
    """An officer of 00070 (province 01) with two roles, so one can be removed."""
    with app.app_context():
        user = create_user(db.session, VICTIM, PASSWORD, [("specialist", "00070"), ("reception", "00070")])
        db.session.commit()
        return user.id


def _token(client, username: str = VICTIM, password: str = PASSWORD) -> str:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["token"]


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _works(client, token: str) -> bool:
    status = client.get("/api/v1/notifications", headers=_bearer(token)).status_code
    assert status in (200, 401), status
    return status == 200


def _logged_in(app, username: str = VICTIM) -> tuple[BackOffice, str]:
    """A back-office session of the user, and a copy of its cookie (as a thief would keep it)."""
    office = BackOffice(app.test_client())
    assert office.login(username).status_code == 302
    cookie = office.client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    return office, cookie.value


def _replay_opens_inbox(app, cookie: str) -> bool:
    """Another browser presenting the copied cookie: does the officers' inbox open?"""
    other = app.test_client()
    other.set_cookie(app.config.get("SESSION_COOKIE_NAME", "session"), cookie)
    r = other.get("/admin/inbox")
    if r.status_code in (302, 303):
        assert "/admin/login" in r.headers["Location"]
        return False
    assert r.status_code == 200, r.status_code
    return True


def _admin(app, username: str = "admin.01") -> BackOffice:
    office = BackOffice(app.test_client())
    assert office.login(username).status_code == 302
    return office


def test_password_reset_ends_the_old_token_and_session(app, client, victim):
    # Before: both kept working until the token expired (USER_TOKEN_HOURS) or the browser closed.
    token = _token(client)
    office, cookie = _logged_in(app)
    assert _works(client, token) and _replay_opens_inbox(app, cookie)
    assert _admin(app).post(f"/users/{victim}/password", {"password": "new-secret-9"}).status_code == 303
    assert not _works(client, token)
    assert not _replay_opens_inbox(app, cookie)
    assert office.get("/inbox").status_code == 302  # the browser that was logged in: back to the login page
    assert _works(client, _token(client, password="new-secret-9"))  # the new password opens a new one


def test_deactivation_ends_them_for_good(app, client, victim):
    # Before: reactivating the account brought the old token and session back to life.
    token = _token(client)
    _office, cookie = _logged_in(app)
    admin = _admin(app)
    assert admin.post(f"/users/{victim}/active", {"active": "0"}).status_code == 303
    assert not _works(client, token) and not _replay_opens_inbox(app, cookie)
    assert admin.post(f"/users/{victim}/active", {"active": "1"}).status_code == 303
    assert not _works(client, token) and not _replay_opens_inbox(app, cookie)


def test_role_removal_ends_the_token(app, client, victim):
    # Before: the token (and the session) went on working with the remaining role.
    token = _token(client)
    _office, cookie = _logged_in(app)
    with app.app_context():
        from orchestrator.models import User

        pair = next(a.id for a in db.session.get(User, victim).assignments if a.role == "reception")
    assert _admin(app).post(f"/users/{victim}/roles/{pair}/delete").status_code == 303
    assert not _works(client, token) and not _replay_opens_inbox(app, cookie)


def test_logout_ends_a_copied_cookie_and_the_tokens(app, client, victim):
    # Before: the session cookie, copied before logging out, still opened the back office.
    token = _token(client)
    office, cookie = _logged_in(app)
    assert _replay_opens_inbox(app, cookie)
    assert office.post("/logout").status_code == 302
    assert not _replay_opens_inbox(app, cookie)
    assert not _works(client, token)  # "log out" ends every session and token of the user


def test_a_session_of_the_old_format_is_sent_to_login(app, client, victim):
    # Before: the session kept only the user id, which never changes.
    with client.session_transaction() as session:
        session["_user_id"] = str(victim)
        session["_fresh"] = True
    r = client.get("/admin/inbox")
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]


def test_owner_lists_and_revokes_a_token_on_the_api(app, client, victim):
    # Before: no route listed or revoked a user's tokens.
    mine, other = _token(client), _token(client)
    r = client.get("/api/v1/auth/tokens", headers=_bearer(mine))
    assert r.status_code == 200
    items = r.get_json()["items"]
    assert len(items) == 2 and set(items[0]) == {"id", "created_at", "expires_at", "revoked_at", "current"}
    assert [i["current"] for i in items] == [False, True]  # newest first: `other`, then the caller's
    body = r.get_data(as_text=True)
    for secret in (mine, other):  # never the token, never its hash
        assert secret not in body and hashlib.sha256(secret.encode()).hexdigest() not in body
    other_id = items[0]["id"]
    assert client.delete(f"/api/v1/auth/tokens/{other_id}", headers=_bearer(mine)).status_code == 204
    assert not _works(client, other) and _works(client, mine)  # a revoked token gets 401
    listed = client.get("/api/v1/auth/tokens", headers=_bearer(mine)).get_json()["items"]
    assert next(i for i in listed if i["id"] == other_id)["revoked_at"] is not None
    # someone else's token: 404, whether it exists or not
    specialist = _token(client, "specialist.00070")
    assert client.delete(f"/api/v1/auth/tokens/{other_id}", headers=_bearer(specialist)).status_code == 404
    assert client.delete("/api/v1/auth/tokens/999999", headers=_bearer(mine)).status_code == 404
    assert client.get(f"/api/v1/auth/tokens?user={VICTIM}", headers=_bearer(specialist)).status_code == 404


def test_owner_revokes_a_token_in_the_back_office(app, client, victim):
    # Before: the back office showed no tokens at all.
    token = _token(client)
    office, _cookie = _logged_in(app)
    page = office.text(office.get("/account"))
    token_id = client.get("/api/v1/auth/tokens", headers=_bearer(token)).get_json()["items"][0]["id"]
    assert f'data-token="{token_id}"' in page and hashlib.sha256(token.encode()).hexdigest() not in page
    assert 'href="/admin/account"' in page  # linked from the header
    assert office.client.post(f"/admin/account/tokens/{token_id}/revoke").status_code == 400  # no CSRF token
    assert _works(client, token)
    assert office.post(f"/account/tokens/{token_id}/revoke").status_code == 303
    assert not _works(client, token)
    assert "đã thu hồi" in office.text(office.get("/account"))


def test_an_administrator_of_the_province_revokes_and_another_province_sees_nothing(app, client, victim):
    # Before: no administrator could end a user's token or sessions before they expired.
    token, spare = _token(client), _token(client)
    ids = [i["id"] for i in client.get("/api/v1/auth/tokens", headers=_bearer(token)).get_json()["items"]]
    admin01, admin19 = _token(client, "admin.01"), _token(client, "admin.19")
    listed = client.get(f"/api/v1/auth/tokens?user={VICTIM}", headers=_bearer(admin01))
    assert listed.status_code == 200 and {i["id"] for i in listed.get_json()["items"]} == set(ids)
    assert not any(i["current"] for i in listed.get_json()["items"])
    assert client.get(f"/api/v1/auth/tokens?user={VICTIM}", headers=_bearer(admin19)).status_code == 404
    assert client.delete(f"/api/v1/auth/tokens/{ids[0]}", headers=_bearer(admin19)).status_code == 404
    assert _works(client, spare)
    assert client.delete(f"/api/v1/auth/tokens/{ids[0]}", headers=_bearer(admin01)).status_code == 204
    assert not _works(client, spare) and _works(client, token)
    # the back office: Thái Nguyên's administrator does not reach the user's tokens
    other = _admin(app, "admin.19")
    assert other.post(f"/users/{victim}/tokens/{ids[1]}/revoke").status_code == 404
    assert other.post(f"/users/{victim}/logout-everywhere").status_code == 404
    assert _works(client, token)
    # Hà Nội's administrator sees the token on the user page and logs the user out everywhere
    _office, cookie = _logged_in(app)
    admin = _admin(app)
    page = admin.text(admin.get(f"/users/{victim}"))
    assert f'data-token="{ids[1]}"' in page and f"/users/{victim}/tokens/{ids[1]}/revoke" in page
    assert "Đăng xuất khỏi mọi nơi" in page
    assert admin.post(f"/users/{victim}/logout-everywhere").status_code == 303
    assert not _works(client, token) and not _replay_opens_inbox(app, cookie)
    assert _works(client, admin01)  # the administrator's own token is untouched


def test_revocations_are_in_the_audit_log(app, client, victim):
    token = _token(client)
    token_id = client.get("/api/v1/auth/tokens", headers=_bearer(token)).get_json()["items"][0]["id"]
    admin = _admin(app)
    assert admin.post(f"/users/{victim}/tokens/{token_id}/revoke").status_code == 303
    assert admin.post(f"/users/{victim}/logout-everywhere").status_code == 303
    with app.app_context():
        from sqlalchemy import select

        from orchestrator.models import AuditEvent

        actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "admin.01")))
    assert {"token.revoke", "token.revoke_all"} <= actions
