"""A real HTTP server on 127.0.0.1 playing the national population database: GET
/citizens/<12 digits> answers the citizen's record. It records every request's Idempotency-Key
and headers, and can fail the first requests, fail always, or hold a request open (crash tests)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CITIZENS = {"001203004567": {"hoTen": "Nguyễn Văn An", "ngaySinh": "1990-05-17",
                             "noiThuongTru": "Số 1 Tràng Tiền, phường Hoàn Kiếm, Hà Nội"}}
HUGE = "000000000000"  # answers more than a connector reads


class PopulationServer:
    def __init__(self, fail_first: int = 0, failing_status: int = 500):
        self.requests: list[dict] = []  # every request: path, headers, answered status
        self.fail_first = fail_first
        self.failing_status = failing_status
        self.always_fail = False
        self.hold = threading.Event()  # set: requests wait until `release` (or the client gives up)
        self.released = threading.Event()
        self.arrived = threading.Event()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                with server.lock:
                    n = len(server.requests) + 1
                    failing = server.always_fail or n <= server.fail_first
                    entry = {"path": self.path, "headers": dict(self.headers), "status": None}
                    server.requests.append(entry)
                server.arrived.set()
                if server.hold.is_set():
                    server.released.wait(30)
                wanted = self.path.rsplit("/", 1)[-1]
                citizen = CITIZENS.get(wanted)
                if wanted == HUGE:
                    citizen = {"hoTen": "x" * 400_000}
                status = server.failing_status if failing else (200 if citizen else 404)
                entry["status"] = status
                body = json.dumps({"data": citizen} if citizen and not failing else {"error": "x"}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the caller died while we held the request

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url_template = self.base + "/citizens/{citizen_id}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def keys(self) -> list[str]:
        return [r["headers"].get("Idempotency-Key") for r in self.requests]

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
