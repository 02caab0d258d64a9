"""A response cache for GraphQL queries, keyed on the archive's data version.

A portal sends the same few queries over and over (the first page of a year, a department's
measures), and the archive changes only when a report is ingested or deleted. So a query's
answer is kept under its exact request (method, query string, body, Accept) together with
the store's data version and the index generation. Any write transaction advances the data
version (``archive/db.py``), and any index commit changes the generation, so a change makes
every older entry unreachable: the cache never serves an answer from before a change, and
needs no invalidation. Only queries answered without errors are kept (the schema says which,
``Context.cacheable``); mutations never are.

Entries are evicted least recently used first, within a budget of bytes. Requests work in
several threads (server/offload.py): a lock keeps the entries and their size in step.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

# An answer's operation label and name, for the figures and access line of a hit.
Labelled = tuple[str, str | None]


class ResponseCache:
    def __init__(self, max_bytes: int, observe: Callable[[bool], None] | None = None) -> None:
        self.max_bytes = max_bytes
        self.observe = observe  # told of each lookup, hit or not (the server's metrics)
        self.max_entry = max_bytes // 8  # one answer may take an eighth of the budget
        self._entries: OrderedDict[Hashable, tuple[bytes, str, Labelled]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def get(self, key: Hashable) -> tuple[bytes, str, Labelled] | None:
        """The body, content type and operation kept under ``key``, if any."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
        if self.observe is not None:
            self.observe(found is not None)
        return found

    def put(self, key: Hashable, body: bytes, content_type: str, operation: Labelled) -> None:
        size = len(body) + _key_size(key)
        with self._lock:
            if size > self.max_entry or key in self._entries:
                return
            self._entries[key] = (body, content_type, operation)
            self._size += size
            while self._size > self.max_bytes:
                old_key, (old_body, *_) = self._entries.popitem(last=False)
                self._size -= len(old_body) + _key_size(old_key)


def _key_size(key: Hashable) -> int:
    if isinstance(key, tuple):
        return sum(len(part) for part in key if isinstance(part, bytes | str))
    return 0
