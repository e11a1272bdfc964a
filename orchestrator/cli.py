"""`flask --app orchestrator ...` commands for set-up, seeding and administration."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app

from .extensions import db


def register(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db():
        """Migrate the database to the latest schema (Alembic)."""
        from flask_migrate import upgrade

        upgrade(directory=current_app.extensions["migrate"].directory)
        click.echo("Database migrated to the latest schema.")

    @app.cli.command("load-examples")
    def load_examples():
        """Units, calendar, forms, the example connector, example procedures (published) and demo users."""
        from .services import connectors, examples, forms

        session = db.session
        click.echo(f"Units loaded: {examples.load_units(session)}")
        click.echo(f"Calendar days declared: {examples.load_calendar(session)}")
        click.echo(f"Forms in library: {forms.load_library(session, current_app.config['FORMS_LIBRARY'])}")
        if connectors.load_example(session, current_app.config.get("CITIZEN_LOOKUP_URL")) is not None:
            click.echo("Connector citizen_lookup added (disabled unless CITIZEN_LOOKUP_URL is set).")
        session.commit()
        for line in examples.load_procedures(session, Path(current_app.config["BPMN_LIBRARY"]),
                                             current_app.config["MAX_BPMN_BYTES"]):
            click.echo(f"Published {line}")
        password = current_app.config["DEMO_PASSWORD"]
        created = examples.load_demo_users(session, password)
        session.commit()
        click.echo(f"\nDemo accounts (password: {password}):")
        for username, _pairs, description in examples.demo_accounts():
            click.echo(f"  {username:32} {description}")
        click.echo("  specialist.<branch>/leader.<branch> for the land registration branches serving them"
                   f" ({len(created)} accounts created now)")
        _rebuild_statistics(None, None)

    def _rebuild_statistics(start, end):
        from datetime import timedelta

        from .models.types import utcnow
        from .services import stat_days
        from .timezone import TZ

        session = db.session
        end = end.date() if end else utcnow().astimezone(TZ).date()
        start = start.date() if start else (stat_days.first_day(session) or end)
        days, first = 0, start
        while first <= end:  # a month per transaction: a long history does not hold one for minutes
            last = min(end, first + timedelta(days=30))
            days += stat_days.rebuild(session, first, last)
            session.commit()
            first = last + timedelta(days=1)
        stat_days.snapshot(session)  # and the snapshot of the open work
        stat_days.analyze(session)
        session.commit()
        click.echo(f"Statistics' daily aggregates rebuilt: {days} day(s) from {start} to {end}.")

    @app.cli.command("stats-rebuild")
    @click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None,
                  help="first day (default: the first day with a dossier)")
    @click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="last day (default: today)")
    def stats_rebuild(start, end):
        """Recount the statistics' daily aggregates of a period (Vietnam days) from the dossiers."""
        _rebuild_statistics(start, end)

    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="run the jobs due now, then exit")
    @click.option("--threads", default=1, show_default=True, help="worker threads in this process")
    @click.option("--lease", default=60, show_default=True, type=click.IntRange(2, 3600),
                  help="seconds a job stays with this worker before another may take it (a dead worker's)")
    def worker(once, threads, lease):
        """Run the background worker (timers, reminders, deliveries)."""
        import signal
        import threading

        from . import logs
        from .worker import Worker

        logs.configure(current_app.config.get("LOG_LEVEL", "INFO"), current_app.config.get("LOG_FORMAT", "json"))
        app = current_app._get_current_object()
        if once:
            once_worker = Worker(app)
            once_worker.start_periodic()
            click.echo(f"Jobs run: {once_worker.run_until_idle()}")
            return
        workers = [Worker(app, lease=timedelta(seconds=lease)) for _ in range(max(1, threads))]

        def stop(*_):
            for w in workers:
                w.stop.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        runners = [threading.Thread(target=w.run_forever, daemon=True) for w in workers[1:]]
        for t in runners:
            t.start()
        workers[0].run_forever()
        for t in runners:
            t.join(10)

    @app.cli.command("check")
    def check():
        """Verify the invariants of the stored data; report problems, change nothing."""
        from .services import stat_days
        from .services.checks import check_all, demo_accounts_on_default_password

        problems = check_all(db.session)
        problems += stat_days.differences(db.session)  # the statistics' aggregates of the last days
        problems += stat_days.open_differences(db.session)  # and their snapshot of the open work, if fresh
        demo = demo_accounts_on_default_password(db.session, app.config["DEMO_PASSWORD"])
        db.session.rollback()
        for problem in problems:
            click.echo(f"PROBLEM {problem}")
        for username in demo:  # a problem where demo accounts are not allowed (production), else a warning
            level = "WARNING" if app.config["DEMO_ACCOUNTS_ALLOWED"] else "PROBLEM"
            click.echo(f"{level} demo account {username} still has the demo password (DEMO_PASSWORD)")
        if demo and not app.config["DEMO_ACCOUNTS_ALLOWED"]:
            problems += [f"demo account {u}" for u in demo]
        if app.config["PASSWORD_HASH_METHOD"] != "scrypt":  # the test suite's cheap hashes, never production
            click.echo(f"WARNING new passwords are hashed with {app.config['PASSWORD_HASH_METHOD']} (PASSWORD_HASH_METHOD), "
                       "not werkzeug's scrypt")
        from .services.channels import describe
        from .settings import Settings

        for line in describe(Settings.from_config(app.config)):  # where citizens' messages go (issue 24)
            click.echo(("WARNING " if "not set" in line else "NOTE ") + line)
        click.echo(f"{len(problems)} problem(s) found.")
        if problems:
            raise SystemExit(1)

    @app.cli.command("create-user")
    @click.option("--username", required=True)
    @click.option("--password", default="")
    @click.option("--role", "roles", multiple=True, required=True)
    @click.option("--unit", "units", multiple=True, required=True)
    @click.option("--full-name", default=None)
    def create_user(username, password, roles, units, full_name):
        """Create a user (or add role/unit pairs to one). Repeat --role R --unit U in order."""
        from .services.auth import create_user as create
        from .services.errors import ServiceError

        if len(roles) != len(units):
            raise click.UsageError("give as many --unit as --role, in order")
        try:
            user = create(db.session, username, password, list(zip(roles, units)), full_name=full_name)
        except ServiceError as exc:
            raise click.ClickException(f"{exc.message} {exc.fields}") from None
        db.session.commit()
        click.echo(f"User {user.username}: " + ", ".join(f"{a.role}@{a.unit_code}" for a in user.assignments))

    @app.cli.command("create-api-key")
    @click.option("--name", required=True, help="integrator name")
    @click.option("--province", "provinces", multiple=True, required=True, help="province code, or VN")
    @click.option("--permission", "permissions", multiple=True, required=True)
    @click.option("--event", "event_names", multiple=True,
                  help="an event the key may send (repeat; default: all): supplement_submitted, payment_received, "
                       "withdrawn, or a message a procedure waits for")
    def create_api_key(name, provinces, permissions, event_names):
        """Create an API key for an integrator; the key is printed once, alone on the last line."""
        from .services.auth import create_api_key as create
        from .services.errors import ServiceError

        try:
            key, secret = create(db.session, name, list(provinces), list(permissions), events=list(event_names))
        except ServiceError as exc:
            raise click.ClickException(f"{exc.message} {exc.fields}") from None
        db.session.commit()
        click.echo(f"API key {key.prefix} for {name}: provinces {', '.join(provinces)}; "
                   f"permissions {', '.join(permissions)}; events {', '.join(key.events)}. "
                   "Store it now; it is not shown again:")
        click.echo(secret)
