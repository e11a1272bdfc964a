"""Security review, issue 14 point 5: webhook URLs are read by the parser that connects, and the
address is checked again at every delivery, which connects to the address it checked (no DNS
rebinding between the check and the connection). The sinks are real servers on 127.0.0.1; only
name resolution (socket.getaddrinfo) is replaced, for made-up host names, to play the rebinding."""
from __future__ import annotations

import shutil
import socket
import ssl
import subprocess

import pytest

from orchestrator.extensions import db
from orchestrator.models import Integrator, Job, WebhookSubscription
from orchestrator.models.types import utcnow
from orchestrator.worker import Worker

from ..http_sink import Sink
from ..test_dossiers_api import APPLICANT, BIRTH

START = {"procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "applicant": APPLICANT,
         "data": BIRTH}
PUBLIC = "93.184.215.14"  # a public address: what the rebinding name answers while being checked
HOST = "hooks.example.test"
PLAIN_HOST = "plain.example.test"


class Resolver:
    """socket.getaddrinfo for made-up names (answers set by the test, each call counted); every
    other name goes to the real resolver."""

    def __init__(self, real):
        self.real = real
        self.answers: dict[str, list[str]] = {}
        self.asked: dict[str, int] = {}

    def __call__(self, host, port, *args, **kwargs):
        if host not in self.answers:
            return self.real(host, port, *args, **kwargs)
        self.asked[host] = self.asked.get(host, 0) + 1
        answers = self.answers[host]
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 0)))]


@pytest.fixture
def resolver(monkeypatch):
    fake = Resolver(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture(scope="session")
def certificates(tmp_path_factory):
    """A test CA and a certificate for HOST only (not for 127.0.0.1), made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test certificates")
    d = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *a: subprocess.run(["openssl", *a], cwd=d, check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash")
    run("req", *ec, "-keyout", "host.key", "-out", "host.csr", "-subj", f"/CN={HOST}")
    (d / "ext.cnf").write_text(f"subjectAltName=DNS:{HOST}\nbasicConstraints=critical,CA:FALSE\n"
                               "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                               "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
    run("x509", "-req", "-in", "host.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "host.pem", "-days", "2", "-extfile", "ext.cnf")
    return d


class TLSSink(Sink):
    """The HTTP sink of the other tests, served over TLS with the certificate for HOST."""

    def __init__(self, certificates):
        super().__init__()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificates / "host.pem", certificates / "host.key")
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]


@pytest.fixture
def tls_sink(certificates, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates / "ca.pem"))  # trust the test CA
    sink = TLSSink(certificates)
    yield sink
    sink.close()


def deliver(app, rounds=3):
    worker = Worker(app, name="w-ssrf")
    for _ in range(rounds):
        worker.run_until_idle()
        with app.app_context():  # no waiting for the backoff: each round is one more attempt
            db.session.query(Job).filter(Job.state == "queued").update({"run_at": utcnow()})
            db.session.commit()


def deliveries(app, api):
    with app.app_context():
        integrator_id = db.session.query(Integrator.id).scalar()
    return api.get(f"/admin/integrators/{integrator_id}/deliveries", "admin.VN").get_json()["items"]


REFUSED = [
    "https://127.0.0.1:5293\\@8.8.8.8/",  # the review's: 8.8.8.8 to urlparse, 127.0.0.1 to requests
    "https://8.8.8.8\\@127.0.0.1/",
    "https://user@8.8.8.8/hook",
    "https://user:secret@8.8.8.8/hook",
    "https://8.8.8.8/ho ok",
    "https://8.8.8.8/hook\r\nX-Injected: 1",
    "https://8.8.8.8/\thook",
    "http://0x7f.1/", "https://0x7f.1/",
    "http://[::1]/", "https://[::1]:8443/",
    "http://127.1/", "https://127.1/",
    "http://2130706433/", "https://2130706433/",
    "https://0x7f000001/",
    "https://0177.0.0.1/",
    "https://[::ffff:127.0.0.1]/",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.5/hook",
    "file:///etc/passwd",
    "gopher://8.8.8.8:70/_hook",
    "ftp://8.8.8.8/hook",
    "https:///hook",
]


def test_refused_at_subscribe_with_422_naming_url(app, api, api_key):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    key = api_key()
    for url in REFUSED:
        r = api.post("/webhooks", key, json={"url": url, "event_types": ["dossier.created"]})
        error = r.get_json()["error"]
        assert r.status_code == 422 and error["code"] == "webhook_url_refused" and error["fields"]["url"], url
        assert error["message"] and list(error["fields"]) == ["url"], url
    assert api.get("/webhooks", key).get_json()["items"] == []
    # A public address written plainly is accepted (nothing is contacted at subscribe).
    assert api.post("/webhooks", key, json={"url": "https://8.8.8.8/hook",
                                            "event_types": ["dossier.created"]}).status_code == 201


def test_parser_tricks_refused_even_where_private_targets_are_allowed(app, api, api_key):
    """WEBHOOK_ALLOW_PRIVATE lifts the address rule only: the URL must still mean one thing."""
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    key = api_key()
    for url in ("http://127.0.0.1:9\\@8.8.8.8/", "http://user@127.0.0.1:9/", "http://127.1:9/",
                "gopher://127.0.0.1:9/_x"):
        r = api.post("/webhooks", key, json={"url": url, "event_types": ["dossier.created"]})
        assert r.status_code == 422 and "url" in r.get_json()["error"]["fields"], url


def test_name_rebound_to_loopback_is_refused_at_delivery(app, api, api_key, resolver, tls_sink):
    """Accepted while its name answered a public address; at delivery the name answers 127.0.0.1,
    where a real HTTPS server holds a valid certificate for it: nothing reaches it."""
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    key = api_key()
    resolver.answers[HOST] = [PUBLIC]
    url = f"https://{HOST}:{tls_sink.port}/hook"
    r = api.post("/webhooks", key, json={"url": url, "event_types": ["dossier.created"]})
    assert r.status_code == 201, r.get_json()
    resolver.answers[HOST] = ["127.0.0.1"]
    api.post("/dossiers", "reception.00070", json=START)
    deliver(app, rounds=3)
    assert tls_sink.attempts == 0 and tls_sink.received == []
    [delivery] = deliveries(app, api)
    assert delivery["state"] == "queued" and delivery["attempts"] == 3 and delivery["delivered_at"] is None
    assert "WebhookRefused" in delivery["last_error"] and "127.0.0.1" in delivery["last_error"]


def test_url_stored_before_the_fix_is_read_again_at_delivery(app, api, api_key):
    """A subscription whose URL the old check let through (a backslash): the delivery refuses it."""
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    sink = Sink()
    try:
        key = api_key()
        ok = api.post("/webhooks", key, json={"url": sink.url, "event_types": ["dossier.created"]}).get_json()
        with app.app_context():
            sub = db.session.get(WebhookSubscription, ok["id"])
            sub.url = sink.url.replace("/hook", "\\@8.8.8.8/hook")
            db.session.commit()
        api.post("/dossiers", "reception.00070", json=START)
        deliver(app, rounds=1)
        assert sink.attempts == 0
        [delivery] = deliveries(app, api)
        assert "WebhookRefused" in delivery["last_error"] and "gạch chéo ngược" in delivery["last_error"]
    finally:
        sink.close()


def test_delivery_connects_to_the_address_checked_with_the_host_name_kept(app, api, api_key, resolver,
                                                                           tls_sink):
    """With private targets allowed, deliveries reach real servers on 127.0.0.1 through the pinned
    connection: the name is resolved once, later answers (127.0.0.2, where nothing listens) are
    never used, and the Host header, the TLS SNI and the certificate check use the name."""
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    plain = Sink()
    try:
        key = api_key()
        resolver.answers[HOST] = ["127.0.0.1", "127.0.0.2"]
        resolver.answers[PLAIN_HOST] = ["127.0.0.1", "127.0.0.2"]
        plain_url = plain.url.replace("127.0.0.1", PLAIN_HOST)
        for url in (f"https://{HOST}:{tls_sink.port}/hook", plain_url):
            r = api.post("/webhooks", key, json={"url": url, "event_types": ["dossier.created"]})
            assert r.status_code == 201, r.get_json()
        code = api.post("/dossiers", "reception.00070", json=START).get_json()["code"]
        deliver(app, rounds=1)
        assert [m["json"]["dossier"]["code"] for m in tls_sink.received] == [code]
        assert [m["json"]["dossier"]["code"] for m in plain.received] == [code]
        assert tls_sink.received[0]["headers"]["Host"] == f"{HOST}:{tls_sink.port}"
        assert plain.received[0]["headers"]["Host"] == f"{PLAIN_HOST}:{plain.url.split(':')[2].split('/')[0]}"
        assert resolver.asked == {HOST: 1, PLAIN_HOST: 1}
        assert all(d["state"] == "delivered" for d in deliveries(app, api))
    finally:
        plain.close()

