"""Issue 21, findings 7 and 8: guessing the tracking page's phone digits and officers' passwords.

Failures back off per key (orchestrator/services/throttle.py): after 5 failures the key waits 1 s,
doubling with every further failure; the tests wait out that first second for real."""
from __future__ import annotations

import statistics
import time
from datetime import timedelta

from sqlalchemy import delete, select, update
from werkzeug.security import generate_password_hash

from orchestrator.extensions import db
from orchestrator.models import Throttle, User

from ..admin_client import BackOffice
from ..lifecycle_helpers import accepted

RIGHT_DIGITS = "5678"  # the demo applicant's phone ends so (tests/lifecycle_helpers.py)
WAIT = "Vui lòng đợi"


def _from(ip: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": ip}}


def _track(client, code, phone=None, ip="198.51.100.1"):
    query = f"/tra-cuu?code={code}" + (f"&phone={phone}" if phone else "")
    return client.get(query, **_from(ip))


def test_wrong_digits_from_elsewhere_never_lock_the_citizen_out(api, api_key, client):
    # Before: 20 wrong guesses per dossier from any address locked the details for 24 h (429 here).
    code = accepted(api, api_key())["code"]
    for i in range(25):
        _track(client, code, f"{i:04d}", ip=f"203.0.113.{i % 3 + 1}")
    r = _track(client, code, RIGHT_DIGITS, ip="198.51.100.77")
    assert r.status_code == 200 and 'id="details"' in r.get_data(as_text=True)


def test_same_address_backs_off_and_is_told_how_long(api, api_key, client):
    # Before: no backoff and no word on waiting (20 free guesses a day, then a day's lockout for all).
    code = accepted(api, api_key())["code"]
    for i in range(4):
        assert _track(client, code, f"000{i}").status_code == 200
    r = _track(client, code, "0009")  # the fifth failure: from now on this address waits
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "không khớp" in page and WAIT in page
    r = _track(client, code, RIGHT_DIGITS)  # not even checked while waiting
    page = r.get_data(as_text=True)
    assert r.status_code == 429 and WAIT in page and "giây" in page and 'id="details"' not in page
    assert int(r.headers["Retry-After"]) >= 1
    assert 'id="status"' in page  # the status itself stays visible
    assert 'id="details"' in _track(client, code, RIGHT_DIGITS, ip="198.51.100.2").get_data(as_text=True)
    time.sleep(1.2)
    assert 'id="details"' in _track(client, code, RIGHT_DIGITS).get_data(as_text=True)


def test_status_lookups_are_limited_per_code_prefix(app, api, api_key, client):
    # Before: only 60/min per address, so many addresses could walk a unit's sequential codes.
    code = accepted(api, api_key())["code"]
    prefix = code.rsplit("-", 1)[0]
    app.config["RATELIMIT_PUBLIC_PREFIX"] = "4 per minute"
    answers = [client.get(f"/api/v1/public/dossiers/{prefix}-{n:04d}", **_from(f"203.0.113.{n}")).status_code
               for n in range(1, 4)]
    answers.append(_track(client, f"{prefix}-0009", ip="203.0.113.50").status_code)
    assert 429 not in answers
    r = client.get(f"/api/v1/public/dossiers/{code}", **_from("203.0.113.60"))
    assert r.status_code == 429 and r.headers.get("Retry-After")
    assert _track(client, code, ip="203.0.113.61").status_code == 429
    # another unit (or day) is not slowed
    assert client.get("/api/v1/public/dossiers/00454-010101-0001", **_from("203.0.113.62")).status_code == 404


def test_back_office_login_backs_off_per_username_then_the_right_password_works(client):
    # Before: 100 wrong guesses, then the right password worked at once (no lockout).
    office = BackOffice(client)
    for _ in range(5):
        assert office.login("reception.00070", "wrong-password").status_code == 401
    r = office.login("reception.00070")  # the right password, too early
    assert r.status_code == 429 and WAIT in office.text(r) and int(r.headers["Retry-After"]) >= 1
    assert office.login("leader.00070").status_code == 302  # another user is not held up
    time.sleep(1.2)
    assert office.login("reception.00070").status_code == 302


def test_api_token_backs_off_with_429_and_retry_after(client):
    # Before: only the 20/min per-address limit; the right password worked right after the guesses.
    body = {"username": "specialist.00070", "password": "nope-nope"}
    for _ in range(5):
        assert client.post("/api/v1/auth/token", json=body).status_code == 401
    r = client.post("/api/v1/auth/token", json={**body, "password": "demo1234"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    error = r.get_json()["error"]
    assert error["code"] == "too_many_requests" and WAIT in error["message"]
    time.sleep(1.2)
    assert client.post("/api/v1/auth/token", json={**body, "password": "demo1234"}).status_code == 200


def test_login_failures_back_off_per_address_across_usernames(client):
    # Before: one address could try any number of usernames (one password each) without waiting.
    attacker = BackOffice(client)
    for n in range(20):
        client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
        attacker.login(f"guess.{n}", "demo1234")
    r = attacker.login("reception.00454")  # a right password from that address waits too
    assert r.status_code == 429 and WAIT in attacker.text(r)
    client.environ_base["REMOTE_ADDR"] = "198.51.100.3"
    assert attacker.login("reception.00454").status_code == 302  # from elsewhere it works


def test_login_time_does_not_reveal_which_usernames_exist(app, client):
    # Before (finding 8): 99 ms for a known username against 5 ms for an unknown one. With the
    # product's hash (scrypt), not the suite's cheap one: the hash is what takes the time.
    app.config["PASSWORD_HASH_METHOD"] = "scrypt"
    with app.app_context():
        db.session.execute(update(User).where(User.username == "designer.01")
                           .values(password_hash=generate_password_hash("demo1234", method="scrypt")))
        db.session.commit()
    office = BackOffice(client)

    def timed(username: str) -> float:
        with app.app_context():  # each try starts from no failures, so none is answered early
            db.session.execute(delete(Throttle))
            db.session.commit()
        start = time.perf_counter()
        assert office.login(username, "wrong-password").status_code == 401
        return time.perf_counter() - start

    timed("designer.01")  # warm up
    known = statistics.median(timed("designer.01") for _ in range(10))
    unknown = statistics.median(timed(f"nobody.{n}") for n in range(10))
    assert max(known, unknown) < 2 * min(known, unknown), (known, unknown)


def test_guesses_at_made_up_usernames_do_not_grow_the_table_forever(app, client):
    # Before: every made-up username left a throttle row for ever.
    office = BackOffice(client)

    def guess(username, ip):
        data = {"username": username, "password": "wrong-password", "csrf_token": office._token()}
        assert client.post("/admin/login", data=data, **_from(ip)).status_code == 401

    for i in range(3):
        guess(f"nobody-{i}", f"203.0.113.{i}")
    with app.app_context():
        assert db.session.query(Throttle).count() == 6  # a username and an address each
        # an hour and a minute later those keys mean nothing any more
        for row in db.session.scalars(select(Throttle)):
            row.last_failure_at -= timedelta(hours=1, minutes=1)
        db.session.commit()
    guess("nobody-new", "203.0.113.9")
    with app.app_context():
        assert sorted(db.session.scalars(select(Throttle.key))) == ["login:ip:203.0.113.9", "login:user:nobody-new"]
