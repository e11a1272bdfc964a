"""Growing backoff after failed attempts, per key (issue 21: guessing passwords and the tracking
page's phone digits).

A key names what is guessed and by whom: `login:user:<username>`, `login:ip:<address>`,
`track:<dossier code>:<address>`. The first FREE_FAILURES failures cost nothing; after that each
failure blocks the key for BASE_DELAY seconds, doubling with every further failure, capped at
MAX_DELAY. A key quiet for QUIET_PERIOD starts again from zero; a success clears it. Counters live
in the `throttle` table, so every web process shares them. Callers commit (a failure must be kept
even though the request that made it fails). Rows quiet for QUIET_PERIOD mean nothing any more
(MAX_DELAY is shorter): each new key deletes them, so guesses at made-up usernames or codes do not
grow the table beyond what the rate limits let through in one QUIET_PERIOD.
"""
from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..i18n import vi
from ..models import Throttle
from ..models.types import utcnow
from .errors import TooManyAttempts

FREE_FAILURES = 5
BASE_DELAY = 1.0  # seconds, after the FREE_FAILURES-th failure
MAX_DELAY = 15 * 60.0
QUIET_PERIOD = timedelta(hours=1)
KEY_LENGTH = 200


def key(*parts: str) -> str:
    """A key from its parts (lower-cased for names, cut to the column's length)."""
    return ":".join(str(p or "") for p in parts)[:KEY_LENGTH]


def delay_after(failures: int, free: int = FREE_FAILURES) -> float:
    """Seconds a key waits after this many consecutive failures (`free` of them cost nothing)."""
    if failures < free:
        return 0.0
    return min(MAX_DELAY, BASE_DELAY * 2 ** min(failures - free, 30))


def wait_seconds(session: Session, *keys: str) -> int:
    """Whole seconds (rounded up) before any of these keys may try again; 0: now."""
    now = utcnow()
    rows = session.scalars(select(Throttle).where(Throttle.key.in_(keys))).all() if keys else []
    waits = [(row.blocked_until - now).total_seconds() for row in rows if row.blocked_until is not None]
    return max([0, *(math.ceil(w) for w in waits if w > 0)])


def check(session: Session, *keys: str, message: str | None = None) -> None:
    """Refuse (429) while any of the keys is backing off, saying how long to wait."""
    wait = wait_seconds(session, *keys)
    if wait:
        raise TooManyAttempts(message or too_many(wait), retry_after=wait,
                              extra={"retry_after": wait})


def too_many(wait: int):
    return vi("Bạn đã thử sai quá nhiều lần. Vui lòng đợi %(seconds)s giây rồi thử lại.", seconds=wait)


def fail(session: Session, *keys: str, free: int = FREE_FAILURES) -> int:
    """Count one failure on each key; the seconds the keys now wait (the longest). `free`: the
    failures that cost nothing (more for a client address, which a whole office may share)."""
    now = utcnow()
    longest = 0.0
    for name in keys:
        if session.get(Throttle, name) is None:
            prune(session, now)
            try:
                with session.begin_nested():  # another request may count the first failure meanwhile
                    session.add(Throttle(key=name, failures=0))
                    session.flush()
            except IntegrityError:
                pass
        # one statement, so concurrent failures are all counted; quiet for long enough: from one
        restart = Throttle.last_failure_at < now - QUIET_PERIOD
        session.execute(update(Throttle).where(Throttle.key == name)
                        .values(failures=case((restart, 1), else_=Throttle.failures + 1), last_failure_at=now)
                        .execution_options(synchronize_session=False))
        row = session.get(Throttle, name, populate_existing=True)
        delay = delay_after(row.failures, free)
        row.blocked_until = now + timedelta(seconds=delay) if delay else None
        longest = max(longest, delay)
    session.flush()
    return math.ceil(longest)


def prune(session: Session, now=None) -> int:
    """Delete the keys quiet for QUIET_PERIOD (they would start again from zero anyway)."""
    cutoff = (now or utcnow()) - QUIET_PERIOD
    result = session.execute(delete(Throttle).where(Throttle.last_failure_at < cutoff)
                             .execution_options(synchronize_session=False))
    for row in [o for o in session.identity_map.values()
                if isinstance(o, Throttle) and o.last_failure_at is not None and o.last_failure_at < cutoff]:
        session.expunge(row)
    return result.rowcount or 0


def clear(session: Session, *keys: str) -> None:
    """A success: these keys start again from zero."""
    if keys:
        session.execute(delete(Throttle).where(Throttle.key.in_(keys)).execution_options(synchronize_session=False))
        for row in [o for o in session.identity_map.values() if isinstance(o, Throttle) and o.key in keys]:
            session.expunge(row)
