"""A real HTTP server on 127.0.0.1 that records what it receives (webhooks, portal sync)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Sink:
    def __init__(self, fail_first: int = 0, status_when_failing: int = 503):
        self.received: list[dict] = []
        self.attempts = 0
        self.fail_first = fail_first
        self.status_when_failing = status_when_failing
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with sink.lock:
                    sink.attempts += 1
                    failing = sink.attempts <= sink.fail_first
                    if not failing:
                        sink.received.append({"headers": dict(self.headers), "body": body,
                                              "json": json.loads(body)})
                self.send_response(sink.status_when_failing if failing else 200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
