#!/usr/bin/env python3
"""A small integrator: start a dossier, send it an event, receive the signed webhooks.

    python examples/client.py --base-url http://127.0.0.1:5000 --api-key ok_...

The API key comes from an administrator (`flask --app orchestrator create-api-key --name demo
--province 01 --permission dossiers:create --permission dossiers:read --permission events:send`).
The webhook receiver listens on 127.0.0.1, so the server must allow private targets
(WEBHOOK_ALLOW_PRIVATE=1, as `make run` does not by default) and a worker must run.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import queue
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


def verify(secret: str, headers, body: bytes, tolerance: int = 300) -> bool:
    """Check the signature over `{timestamp}.{body}` and refuse stale timestamps (replays)."""
    timestamp = headers.get("X-Webhook-Timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("X-Webhook-Signature", ""))


class Receiver:
    """Accepts signed deliveries once each (at-least-once delivery: duplicates are expected)."""

    def __init__(self, port: int = 0):
        self.secret = ""
        self.events: queue.Queue = queue.Queue()
        self.seen: set[str] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if not verify(receiver.secret, self.headers, body):
                    self.send_response(401)
                    self.end_headers()
                    return
                delivery = self.headers.get("X-Webhook-Id", "")
                if delivery not in receiver.seen:
                    receiver.seen.add(delivery)
                    receiver.events.put(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate, timeout: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                break
            if predicate(event):
                return event
        return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:5000")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--province", default="01")
    parser.add_argument("--commune", default="00070")
    parser.add_argument("--procedure", default="1.001193")
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args(argv)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {args.api_key}"
    base = args.base_url.rstrip("/") + "/api/v1"

    receiver = Receiver()
    r = api.post(f"{base}/webhooks", json={"url": receiver.url, "event_types": ["dossier.created",
                                                                                 "dossier.status_changed"]})
    r.raise_for_status()
    receiver.secret = r.json()["secret"]
    print(f"webhook subscription {r.json()['id']} -> {receiver.url}")

    body = {"procedure_code": args.procedure, "province_code": args.province, "commune_code": args.commune,
            "channel": 2, "applicant": {"full_name": "Nguyễn Văn Ví Dụ", "phone": "0900000000"}, "data": {}}
    key = str(uuid.uuid4())
    r = api.post(f"{base}/dossiers", json=body, headers={"Idempotency-Key": key})
    r.raise_for_status()
    code = r.json()["code"]
    again = api.post(f"{base}/dossiers", json=body, headers={"Idempotency-Key": key})
    print(f"started {code} (status {r.json()['status']}); retry with the same key -> {again.json()['code']}")

    r = api.post(f"{base}/dossiers/{code}/events/withdrawn", json={"data": {"reason": "Công dân rút hồ sơ"}},
                 headers={"Idempotency-Key": str(uuid.uuid4())})
    r.raise_for_status()
    print(f"event 'withdrawn' -> status {r.json()['status']} ({r.json()['status_name']})")

    event = receiver.wait_for(lambda e: e["dossier"]["code"] == code and e["type"] == "dossier.status_changed"
                              and e["data"].get("to_status") == 7, args.timeout)
    if event is None:
        print("no webhook received in time (is a worker running? WEBHOOK_ALLOW_PRIVATE set?)", file=sys.stderr)
        return 1
    print(f"webhook {event['type']} #{event['sequence']} (a dossier's deliveries are numbered 1, 2, ... in order): "
          f"{code} is now {event['dossier']['status_name']} (delivery {event['delivery_id']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
