"""A small in-process cache for figures that are costly to compute and carry a version.

A statement of a third of a million service records takes a second to group per person;
it changes only when it is recomputed, which stamps it anew. Figures are kept under the
record's key and that stamp, so a recomputation is never served stale, and for a few
minutes at most otherwise (names shown beside the figures may change meanwhile). Each
worker process keeps its own, bounded, copy.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import current_app

T = TypeVar("T")
MISSING = object()


class VersionedCache:
    def __init__(self, size: int = 32, seconds: float = 300.0) -> None:
        self.size, self.seconds = size, seconds
        self._entries: OrderedDict[Hashable, tuple[Hashable, float, object]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: Hashable, compute: Callable[[], T]) -> T:
        found = self.lookup(key, version)
        if found is MISSING:
            found = compute()
            self.store(key, version, found)
        return found  # type: ignore[return-value]

    def lookup(self, key: Hashable, version: Hashable) -> object:
        """The value kept for ``key`` at ``version`` and still fresh, else ``MISSING``."""
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != version or time.monotonic() - found[1] >= self.seconds:
                return MISSING
            self._entries.move_to_end(key)
            return found[2]

    def store(self, key: Hashable, version: Hashable, value: object) -> None:
        with self._lock:
            self._entries[key] = (version, time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def app_cache(name: str, size: int = 32, seconds: float = 300.0) -> VersionedCache:
    """The application's cache called ``name`` (one per app, so one per worker and test)."""
    caches = current_app.extensions.setdefault("versioned_caches", {})
    if name not in caches:
        caches[name] = VersionedCache(size, seconds)
    return caches[name]
