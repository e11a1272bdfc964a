"""Search by words on stored folded columns (`unit.name_folded`, `dossier.search_text`): what a
person types is folded like the stored text (`orchestrator.text.fold`), each word must appear,
and LIKE's wildcards in it are literal. The same query on SQLite and PostgreSQL (a trigram index
serves the `%word%` patterns on PostgreSQL)."""
from __future__ import annotations

from sqlalchemy import Boolean, and_, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from ..text import digits, fold, nfc
from ..i18n import vi
from .errors import Invalid

__all__ = ["MAX_CHARS", "MAX_WORDS", "digits", "fold", "matches", "nfc", "patterns", "words"]

MAX_CHARS, MAX_WORDS = 200, 10
_ESCAPE = "\\"


def words(q: str | None, field: str = "q") -> list[str]:
    """The folded words of a query; bounded so that a query stays cheap (Invalid names `field`)."""
    q = q or ""
    if len(q) > MAX_CHARS:
        raise Invalid(vi("Từ khóa tìm kiếm quá dài (tối đa %(max)s ký tự).", max=MAX_CHARS),
                      fields={field: vi("tối đa %(max)s ký tự", max=MAX_CHARS)})
    found = fold(q).split()
    if len(found) > MAX_WORDS:
        raise Invalid(vi("Quá nhiều từ tìm kiếm (tối đa %(max)s từ).", max=MAX_WORDS),
                      fields={field: vi("tối đa %(max)s từ", max=MAX_WORDS)})
    return found


def _escape(word: str) -> str:
    return word.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%").replace("_", _ESCAPE + "_")


def patterns(q: str | None, field: str = "q") -> list[str]:
    """One `%word%` LIKE pattern per folded word, wildcards escaped with a backslash."""
    return [f"%{_escape(w)}%" for w in words(q, field)]


class _contains(FunctionElement):
    """`haystack` contains `needle`, literally, as a test no index serves (PostgreSQL's `strpos`,
    SQLite's `instr`): it checks the rows the trigram index has found."""
    type = Boolean()
    inherit_cache = True


@compiles(_contains)
def _contains_sqlite(element, compiler, **kw):
    return "(instr(%s) > 0)" % compiler.process(element.clauses, **kw)


@compiles(_contains, "postgresql")
def _contains_pg(element, compiler, **kw):
    return "(strpos(%s) > 0)" % compiler.process(element.clauses, **kw)


def _word(column, word: str) -> ColumnElement[bool]:
    """A longer word of letters is looked up in the trigram index by its first and last three
    letters only, then checked whole: the index reads two posting lists instead of one per
    trigram ("nguyen" is in a third of the names: 4 lists of 400,000 rows at a million dossiers),
    for the same rows found. Digits, codes and short words keep the full pattern."""
    if len(word) <= 4 or not word.isalpha():
        return column.like(f"%{_escape(word)}%", escape=_ESCAPE)
    return and_(column.like(f"%{_escape(word[:3])}%", escape=_ESCAPE),
                column.like(f"%{_escape(word[-3:])}%", escape=_ESCAPE), _contains(column, word))


def matches(column, q: str | None, field: str = "q") -> ColumnElement[bool]:
    """`column` (a folded column) contains every word of `q`; true when `q` has no word."""
    found = words(q, field)
    if not found:
        return true()
    return and_(*(_word(column, w) for w in found))
