"""A real server on 127.0.0.1 with a worker beside it, for tests that call the API over HTTP as an
integrator's program does (examples/, generated clients)."""
from __future__ import annotations

import threading
from contextlib import contextmanager

from werkzeug.serving import make_server

from orchestrator.worker import Worker


@contextmanager
def serving(app, name: str = "live-worker"):
    """Yield the server's base URL while the app answers on a free port and a worker runs its jobs."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    worker = Worker(app, name=name, max_sleep=0.2)
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        worker.stop.set()
        thread.join(10)
        server.shutdown()
