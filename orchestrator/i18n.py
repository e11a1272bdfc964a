"""Sentences the rules say to people: Vietnamese, with what it takes to say them in English.

A service refuses in Vietnamese, the product's language, with `vi("Không có thủ tục %(code)s.",
code=code)`. The result is a `str` (the Vietnamese sentence, so logs, tests and the history read
it as before) that also keeps its template and values. The edges render it in the reader's
language: the API by `Accept-Language`, the back office by the language chosen in its header,
each with the English catalogue of `admin/translations` (the templates are its msgids; a template
missing there stays Vietnamese rather than failing). Nothing here imports Flask.
"""
from __future__ import annotations

from collections.abc import Callable


class Text(str):
    """A Vietnamese sentence with its catalogue template and values, or with its English given
    (a designer's own texts, which no catalogue holds)."""

    msgid: str
    params: dict
    english: str | None

    def __new__(cls, msgid: str, params: dict, english: str | None = None):
        value = super().__new__(cls, msgid % params if params else msgid)
        value.msgid, value.params, value.english = msgid, params, english
        return value

    def __reduce__(self):  # pickled (worker jobs) and copied like the parts it is made of
        return Text, (self.msgid, self.params, self.english)


def vi(msgid: str, **params) -> Text:
    """A Vietnamese sentence (`%(name)s` placeholders) that an edge can render in English."""
    return Text(msgid, params)


def both(vietnamese: str, english: str) -> Text:
    """A sentence whose English is known where it is made (forms' messages with designers' texts)."""
    return Text(vietnamese, {}, english)


def render(value, gettext: Callable[[str], str] | None):
    """`value` in the reader's language: a `Text` through `gettext` (its values too, when they are
    sentences themselves), dicts and lists item by item, anything else as it is. `gettext` is the
    reader's language's (None: Vietnamese, as made)."""
    if gettext is None:
        return value
    if isinstance(value, Text):
        if value.english is not None:
            return value.english
        params = {k: render(v, gettext) for k, v in value.params.items()}
        try:
            return gettext(value.msgid) % params if params else gettext(value.msgid)
        except (KeyError, TypeError, ValueError):  # a translation with other placeholders: the original
            return str(value)
    if isinstance(value, dict):
        return {k: render(v, gettext) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, gettext) for v in value]
    return value
