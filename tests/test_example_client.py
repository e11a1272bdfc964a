"""The runnable example in examples/client.py works against a real server on 127.0.0.1 with a
worker: it starts a dossier, retries it idempotently, sends an event and receives the webhook."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from .live import serving

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "client.py"


def test_example_client_end_to_end(app, api_key, capsys):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    key = api_key(permissions=["dossiers:create", "dossiers:read", "events:send"])
    with serving(app, "example-worker") as base:
        spec = importlib.util.spec_from_file_location("example_client", EXAMPLE)
        client = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(client)
        code = client.main(["--base-url", base, "--api-key", key, "--timeout", "20"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "retry with the same key" in out and "status 7" in out and "webhook dossier.status_changed #2" in out
