"""The authorisation matrix (issue 14): every actor x every action of the JSON API and the back
office, one test per cell, named `<action>[<actor>]`, so a failing cell names itself.

The table and its rules are in `authorisation_matrix.py`. SQLite runs every cell. PostgreSQL
runs every action for a representative set of actors (POSTGRESQL_ACTORS: those the SQL
visibility filters show a dossier to and those they hide it from, per unit, area and key), plus
the first actor allowed an action none of them may do, so every action succeeds once on
PostgreSQL too: what differs between the backends is that SQL, not the rules.
"""
from __future__ import annotations

import pytest

from . import authorisation_matrix as m
from .conftest import outcome

POSTGRESQL_ACTORS = {
    "reception.00070", "specialist.00070", "leader.00070",     # the dossier's officers
    "specialist.00454@other-commune",                            # a neighbour: the participant filter hides
    "supervisor.01", "admin.01", "admin.19@other-province",      # area filters: own province, other province
    "designer.01", "designer.19@other-province",
    "key.01", "key.19@other-province", "key.01-procedures",
}


def _succeeds(action: m.Action, who: m.Who) -> bool:
    return m.expected(action, who) == m.ALLOWED and who.id not in action.findings


def _cells(core: set[str] | None = None) -> list:
    """Every (action, actor) cell; with `core`, the core actors' cells plus, for an action none of
    them may do, the first actor allowed it (so each action's state is proven on that backend too)."""
    m.check_table()
    cells = []
    for action in m.ACTIONS:
        actors = m.ACTORS
        if core is not None:
            actors = [w for w in m.ACTORS if w.id in core]
            if not any(_succeeds(action, w) for w in actors):
                first = next(w for w in m.ACTORS if _succeeds(action, w))
                actors = [w for w in m.ACTORS if w in actors or w is first]
        for who in actors:
            marks = []
            if who.id in action.findings:
                marks.append(pytest.mark.xfail(strict=True, reason=action.findings[who.id]))
            cells.append(pytest.param(action, who, marks=marks, id=f"{action.id}[{who.id}]"))
    return cells


def _check(env, action: m.Action, who: m.Who) -> None:
    state = env.state(action.state)
    response = env.call(action, who, state)
    got = outcome(action, response, state)
    if action.consumes and got not in m.DENIED:
        env.consume(action.state)  # the next cell starts again from a state where the action succeeds
    want = m.expected(action, who)
    assert got == want, (f"{action.method} {action.path.format(**state)} as {who.id}: expected {want}, got {got} "
                         f"(HTTP {response.status_code}: {response.get_data(as_text=True)[:300]!r})")


@pytest.mark.parametrize(("action", "who"), _cells())
def test_sqlite(sqlite_matrix, action, who):
    _check(sqlite_matrix, action, who)


@pytest.mark.postgres
@pytest.mark.parametrize(("action", "who"), _cells(POSTGRESQL_ACTORS))
def test_postgresql(postgresql_matrix, action, who):
    _check(postgresql_matrix, action, who)


def test_every_route_is_in_the_matrix(sqlite_matrix):
    """A route added to the API or the back office without a row here fails this test."""
    app = sqlite_matrix.app
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert EXEMPT_ENDPOINTS <= endpoints, f"exempt endpoints that no longer exist: {EXEMPT_ENDPOINTS - endpoints}"
    covered = {(a.method, _rule_of(app, a)) for a in m.ACTIONS}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXEMPT_ENDPOINTS or not rule.endpoint.startswith(("api.", "admin.", "public.")):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (method, rule.rule) not in covered:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "routes without a row in the authorisation matrix:\n" + "\n".join(missing)


# Routes with nothing to authorise: logging in and out, the language switch, static files.
EXEMPT_ENDPOINTS = {"api.issue_token", "admin.login", "admin.logout", "admin.set_language", "admin.static",
                    "admin.vendor"}


def _rule_of(app, action: m.Action) -> str | None:
    """The URL rule an action's path matches (with a state's placeholders filled by dummies)."""
    path = action.path.split("?", 1)[0].format_map(_Dummy())
    adapter = app.url_map.bind("localhost")
    try:
        rule, _args = adapter.match(path, method=action.method, return_rule=True)
    except Exception:  # noqa: BLE001 - an unmatched path is reported by the caller
        return None
    return rule.rule


class _Dummy(dict):
    def __missing__(self, key):
        return "1"
