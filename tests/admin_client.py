"""Driving the back office through Flask's test client: log in, keep the CSRF token, post forms."""
from __future__ import annotations

import re

PASSWORD = "demo1234"
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class BackOffice:
    def __init__(self, client):
        self.client = client
        self.token = None

    def _token(self) -> str:
        if self.token is None:
            page = self.client.get("/admin/login").get_data(as_text=True)
            self.token = TOKEN_RE.search(page).group(1)
        return self.token

    def login(self, username: str, password: str = PASSWORD):
        return self.client.post("/admin/login", data={"username": username, "password": password,
                                                      "csrf_token": self._token()})

    def get(self, path: str, **kw):
        return self.client.get(f"/admin{path}", **kw)

    def post(self, path: str, data: dict | None = None, referrer: str | None = None, follow: bool = False, **kw):
        """A form post as the browser sends it: with the token and the page it came from."""
        data = {"csrf_token": self._token(), **(data or {})}
        headers = {"Referer": f"http://localhost/admin{referrer or path}"}
        return self.client.post(f"/admin{path}", data=data, headers=headers, follow_redirects=follow, **kw)

    def text(self, response) -> str:
        return response.get_data(as_text=True)


def user_id(app, username: str) -> int:
    """The id of a seeded user (what back-office URLs of a user carry)."""
    from sqlalchemy import select

    from orchestrator.extensions import db
    from orchestrator.models import User

    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == username))
        db.session.remove()
    assert uid is not None, username
    return uid
