"""Vietnamese by default, English on request; catalogues compiled from the shipped .po files.

`make venv` compiles them with pybabel; `compile_catalogs` does the same at start-up when a .mo
is missing or older than its .po (a fresh clone run without make), so the UI never silently
falls back to untranslated text. Compiled .mo files are not committed.
"""
from __future__ import annotations

from pathlib import Path

from flask import request, session
from flask_babel import get_locale, gettext

from orchestrator.i18n import Text, render

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT = "vi"


def compile_catalogs(folder: Path = TRANSLATIONS) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in folder.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        try:
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=po.parent.parent.name)
            with mo.open("wb") as fh:
                write_mo(fh, catalog)
        except OSError:  # a read-only install: `make venv` compiled them already
            pass


def select_locale() -> str:
    lang = session.get("lang") if request else None
    return lang if lang in LANGUAGES else DEFAULT


def said(value):
    """A service's sentences (`orchestrator.i18n.vi`, alone or in dicts and lists) in the page's
    language: flashed messages and field errors, which leave the request as plain text."""
    return value if str(get_locale() or DEFAULT) == DEFAULT else render(value, gettext)


def finalize(value):
    """Jinja's `finalize`: a service's sentence printed by a template in the page's language."""
    return said(value) if isinstance(value, Text) else value
