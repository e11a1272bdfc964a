#!/usr/bin/env python3
"""A portal's flow through the client generated from the OpenAPI document.

    make client          # generates build/client/orchestrator_api_client from the document
    .venv/bin/python examples/portal_flow.py --base-url http://127.0.0.1:5000 --api-key ok_...

It subscribes a webhook, starts an online dossier with an idempotency key (and retries it), reads
it, finds it again by paging the list from a watermark with the opaque cursor, reads what the
procedure waits for, sends the citizen's withdrawal, then checks the signed webhooks: each verified,
parsed with the generated model, in the order of their `sequence`; and reads its own delivery log.
Every answer is parsed by the generated models, so a field the document gets wrong fails here.

The key needs `dossiers:create`, `dossiers:read` and `events:send` (README, "Integrators"). The
webhook receiver listens on 127.0.0.1: the server must allow private targets
(WEBHOOK_ALLOW_PRIVATE=1) and a worker must run (`make run` starts one).
"""
from __future__ import annotations

import argparse
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from client import Receiver  # noqa: E402  (the signed-webhook receiver of examples/client.py)

EVENT_TYPES = ["dossier.created", "dossier.status_changed", "dossier.event"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:5000")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--client-path", default=str(HERE.parent / "build" / "client"),
                        help="the folder holding the generated package orchestrator_api_client")
    parser.add_argument("--province", default="01")
    parser.add_argument("--commune", default="00070")
    parser.add_argument("--procedure", default="1.001193")
    parser.add_argument("--since", type=datetime.fromisoformat,
                        help="the last sync's watermark (ISO 8601 with its offset; default: one second ago)")
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args(argv)
    sys.path.insert(0, args.client_path)
    try:
        from orchestrator_api_client import AuthenticatedClient
        from orchestrator_api_client.api.dossiers import get_dossier, list_dossiers, start_dossier
        from orchestrator_api_client.api.events import send_event
        from orchestrator_api_client.api.integrations import list_own_deliveries, subscribe_webhook
        from orchestrator_api_client.api.procedures import get_procedure
        from orchestrator_api_client.models import (
            Applicant, DossierStart, DossierStartChannel, DossierStartData, Error, Event, EventData, SendEventHistory,
            StartDossierHistory, Subscribe, WebhookBody,
        )
    except ImportError:
        print(f"no generated client in {args.client_path}: run `make client` first", file=sys.stderr)
        return 2

    api = AuthenticatedClient(base_url=args.base_url.rstrip("/"), token=args.api_key, timeout=args.timeout,
                              raise_on_unexpected_status=True)

    def ok(response, expected: int):
        """The parsed answer, or the error body's code and message."""
        if response.status_code != expected:
            error = response.parsed.error if isinstance(response.parsed, Error) else None
            raise SystemExit(f"HTTP {response.status_code}: {error.code + ': ' + error.message if error else ''}")
        return response.parsed

    receiver = Receiver()
    subscription = ok(subscribe_webhook.sync_detailed(client=api, body=Subscribe(url=receiver.url,
                                                                                   event_types=EVENT_TYPES)), 201)
    receiver.secret = subscription.secret
    print(f"webhook subscription {subscription.id} -> {receiver.url}")

    procedure = ok(get_procedure.sync_detailed(args.procedure, client=api, province=args.province), 200)
    print(f"procedure {procedure.code} ({procedure.name}): events {', '.join(procedure.events)}; "
          f"start data fields {', '.join(procedure.start_schema.to_dict().get('properties', {})) or 'none'}")

    watermark = args.since or datetime.now(timezone(timedelta(hours=7))) - timedelta(seconds=1)
    body = DossierStart(procedure_code=args.procedure, province_code=args.province, commune_code=args.commune,
                        channel=DossierStartChannel.ONLINE,
                        applicant=Applicant(full_name="Nguyễn Văn Ví Dụ", phone="0900000000"),
                        data=DossierStartData.from_dict({}))
    key = str(uuid.uuid4())
    # A step's answer with the last events only (`history=latest`): the whole history is GET's (issue 23).
    first = start_dossier.sync_detailed(client=api, body=body, idempotency_key=key, history=StartDossierHistory.LATEST)
    dossier = ok(first, 201)
    again = start_dossier.sync_detailed(client=api, body=body, idempotency_key=key, history=StartDossierHistory.LATEST)
    print(f"started {dossier.code} (status {dossier.status}, {first.headers['Location']}); retry with the same "
          f"key -> {ok(again, 201).code}, replayed: {again.headers.get('Idempotent-Replayed')}")

    read = ok(get_dossier.sync_detailed(dossier.code, client=api), 200)
    print(f"read {read.code}: {read.status_name}, received {read.received_at or 'not yet'}, "
          f"{len(read.history)} history entries")

    cursor, pages, found = None, 0, None
    while found is None:
        page = ok(list_dossiers.sync_detailed(client=api, updated_since=watermark, limit=1,
                                              **({"cursor": cursor} if cursor else {})), 200)
        pages += 1
        found = next((item for item in page.items if item.code == dossier.code), None)
        cursor = page.next_cursor
        if found is None and not cursor:
            raise SystemExit(f"{dossier.code} not in the list changed since {watermark.isoformat()}")
    print(f"listed since {watermark.isoformat(timespec='seconds')}: found on page {pages}, "
          f"updated_at {found.updated_at.isoformat()} (the next watermark)")

    event = Event(data=EventData.from_dict({"reason": "Công dân rút hồ sơ"}))
    after = ok(send_event.sync_detailed(dossier.code, "withdrawn", client=api, body=event,
                                        idempotency_key=str(uuid.uuid4()), history=SendEventHistory.LATEST), 200)
    print(f"event 'withdrawn' -> status {after.status} ({after.status_name})")

    received = []

    def collect(payload: dict) -> bool:
        if payload["dossier"]["code"] != dossier.code:
            return False
        received.append(WebhookBody.from_dict(payload))
        return received[-1].type_.value == "dossier.event" and received[-1].data.name == "withdrawn"

    if receiver.wait_for(collect, args.timeout) is None:
        print("no webhook received in time (is a worker running? WEBHOOK_ALLOW_PRIVATE set?)", file=sys.stderr)
        return 1
    for webhook in received:
        about = f" {webhook.data.name}" if webhook.data.name else ""
        print(f"webhook #{webhook.sequence} {webhook.type_.value}{about}: status {webhook.dossier.status} "
              f"({webhook.dossier.status_name}), signature verified")
    sequences = [webhook.sequence for webhook in received]
    if sequences != list(range(1, len(sequences) + 1)):
        print(f"webhooks out of order: {sequences}", file=sys.stderr)
        return 1

    log = ok(list_own_deliveries.sync_detailed(client=api, dossier=dossier.code), 200)
    print("delivery log: " + ", ".join(f"#{d.sequence} {d.event_type} {d.state}" for d in reversed(log.items)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
