"""A database ready to use: migrated and loaded with the examples (what `init-db` then
`load-examples` do), for tests, benchmarks and tools that build their own databases."""
from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_migrate import upgrade

from .extensions import db
from .services import connectors, examples, forms


def seed(app: Flask, password: str | None = None, migrate: bool = True) -> None:
    with app.app_context():
        if migrate:
            upgrade(directory=app.extensions["migrate"].directory)
        session = db.session
        examples.load_units(session)
        examples.load_calendar(session)
        forms.load_library(session, app.config["FORMS_LIBRARY"])
        connectors.load_example(session, app.config.get("CITIZEN_LOOKUP_URL"))
        session.commit()
        examples.load_procedures(session, Path(app.config["BPMN_LIBRARY"]), app.config["MAX_BPMN_BYTES"])
        examples.load_demo_users(session, password or app.config["DEMO_PASSWORD"])
        session.commit()
        session.remove()
        db.engine.dispose()
