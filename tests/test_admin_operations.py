"""The operations page: administrators register integrators, see keys once, rotate, revoke,
and see deliveries, dead jobs and incidents."""
from __future__ import annotations

import re

import pytest

from orchestrator.extensions import db
from orchestrator.services import jobs as queue
from orchestrator.worker import Worker

from .admin_client import BackOffice


@pytest.fixture
def office(client):
    return BackOffice(client)


def test_register_integrator_key_shown_once_rotate_revoke(office, api):
    office.login("admin.01")
    r = office.post("/operations/keys", {"name": "Cổng DVC Hà Nội", "provinces": "01",
                                         "permissions": ["dossiers:create", "dossiers:read"]})
    assert r.status_code == 200
    page = office.text(r)
    key = re.search(r"(ok_[0-9a-f]{8}_[A-Za-z0-9_-]+)", page).group(1)
    assert api.get("/units?level=province", key).status_code == 200
    listing = office.text(office.get("/operations"))
    assert "Cổng DVC Hà Nội" in listing and key not in listing
    key_id = int(re.search(r"/operations/keys/(\d+)/rotate", listing).group(1))
    rotated = office.text(office.post(f"/operations/keys/{key_id}/rotate", {"overlap_hours": "0"}))
    new_key = re.search(r"(ok_[0-9a-f]{8}_[A-Za-z0-9_-]+)", rotated).group(1)
    assert api.get("/units", key).status_code == 401 and api.get("/units", new_key).status_code == 200
    new_id = max(int(x) for x in re.findall(r"/operations/keys/(\d+)/revoke", rotated))
    assert office.post(f"/operations/keys/{new_id}/revoke").status_code == 303
    assert api.get("/units", new_key).status_code == 401
    # A province administrator cannot issue keys for another province; the page says why.
    r = office.post("/operations/keys", {"name": "x", "provinces": "19", "permissions": ["dossiers:read"]},
                    referrer="/operations", follow=True)
    assert "tỉnh của mình" in office.text(r)
    assert office.get("/operations").status_code == 200


def test_dead_jobs_and_incidents_visible_and_requeued(office, app):
    with app.app_context():
        job_id = queue.enqueue(db.session, "webhook", max_attempts=1, payload={"delivery_id": "missing"}).id
        db.session.commit()
    Worker(app, name="w", handlers={"webhook": lambda s, j: 1 / 0}).run_once()
    office.login("admin.VN")
    page = office.text(office.get("/operations"))
    assert "ZeroDivisionError" in page
    assert office.post(f"/operations/jobs/{job_id}/retry").status_code == 303
    assert "ZeroDivisionError" not in office.text(office.get("/operations")).split("dead letter")[1].split("</table>")[0]
    office.post("/logout")
    office.token = None
    office.login("reception.00070")
    assert office.get("/operations").status_code in (302, 403)  # officers have no back-office login here
