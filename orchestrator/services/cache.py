"""Small bounded caches for what steps read again and again: immutable versions, unit routes,
calendars, webhook subscriptions. Keys include the database URL, so several databases in one
process (tests, tools) never mix; entries that may change (routes, calendars, subscriptions)
expire after a short time, and this process drops them at once when it changes them."""
from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from typing import Any, Callable

from sqlalchemy.orm import Session


class TTLCache:
    def __init__(self, max_size: int, ttl: float | None):
        self.max_size, self.ttl = max_size, ttl
        self._items: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, load: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and (self.ttl is None or now - hit[0] < self.ttl):
                self._items.move_to_end(key)
                return hit[1]
        value = load()
        with self._lock:
            self._items[key] = (now, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_size:
                self._items.popitem(last=False)
        return value

    def get_many(self, keys: set, load: Callable[[set], dict]) -> dict:
        """Several keys at once, the missing ones loaded in one call (`load(missing) -> {key: value}`);
        what `load` does not return is not cached (asked again next time)."""
        now, found = time.monotonic(), {}
        with self._lock:
            for key in keys:
                hit = self._items.get(key)
                if hit is not None and (self.ttl is None or now - hit[0] < self.ttl):
                    found[key] = hit[1]
        missing = keys - found.keys()
        if missing:
            loaded = load(missing)
            with self._lock:
                for key, value in loaded.items():
                    self._items[key] = (now, value)
                    self._items.move_to_end(key)
                while len(self._items) > self.max_size:
                    self._items.popitem(last=False)
            found.update(loaded)
        return found

    def pop(self, key: Any) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_keys: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()


def db_key(session: Session) -> str:
    """The database a session talks to (its URL), remembered per engine: rendering a URL is not free."""
    bind = session.get_bind()
    key = _keys.get(bind)
    if key is None:
        key = _keys[bind] = str(bind.url)
    return key
