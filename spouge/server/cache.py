"""The result caches: LRUs bounded by entry count and, together, by the bytes they hold.

Owns: ``LRUCache`` and ``entry_size``, the count of what an entry keeps alive.

Two caches live in a server (see compute.Computer): values, keyed by
(function, exact x, digits) and by the request's own text; and replies, the
encoded reply keyed by the request exactly as received.  They share one
``CacheBudget`` (--cache-memory): the bytes of both together never exceed
it, and when a put would, the least recently used entry of *either* cache is
evicted first (each entry carries a tick of the budget's clock, so the oldest
of the caches' oldest entries is the global LRU).  An entry larger than the
whole budget is not stored.  Each cache also keeps at most ``size`` entries
(--cache-size).

Sizes are counted honestly but cheaply: ``sys.getsizeof`` of every str,
bytes and int reachable through tuples, dicts and Fractions (each object
once per entry, so the same x text in key and value counts once), plus
``ENTRY_OVERHEAD`` for the OrderedDict node, the entry record and the hash
slot.  12000 spellings of x = 1 with 20000-character zero tails cost what
their strings cost, not 431 MB.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from fractions import Fraction

#: Per-entry bytes beyond key and value: an OrderedDict node and hash slot
#: (~100 B in CPython 3.11) and the [value, size, tick] list (~80 B).
ENTRY_OVERHEAD = 200

DEFAULT_MAX_BYTES = 64 * 2**20  # Config.cache_memory's default

_getsizeof = sys.getsizeof


def entry_size(*objects) -> int:
    """Bytes held by these objects and what they reach through tuples, lists, dicts and Fractions."""
    seen: set[int] = set()
    total = 0
    stack = list(objects)
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        total += _getsizeof(obj)
        kind = type(obj)
        if kind is tuple or kind is list:
            stack.extend(obj)
        elif kind is dict:
            stack.extend(obj.values())  # keys: the same few interned field names in every outcome
        elif kind is Fraction:
            stack.append(obj.numerator)
            stack.append(obj.denominator)
    return total + ENTRY_OVERHEAD


class CacheBudget:
    """Bytes shared by a group of LRUCaches, and the clock that orders their entries."""

    __slots__ = ("caches", "max_bytes", "tick", "used")

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self.caches: list[LRUCache] = []
        self.tick = 0

    def evict_until(self, limit: int) -> None:
        """Drop globally least recently used entries until at most `limit` bytes are held."""
        caches = self.caches
        while self.used > limit:
            oldest = None
            oldest_tick = None
            for cache in caches:
                data = cache._data
                if data:
                    tick = next(iter(data.values()))[2]
                    if oldest_tick is None or tick < oldest_tick:
                        oldest, oldest_tick = cache, tick
            if oldest is None:
                return
            oldest._pop_oldest()


class LRUCache:
    """A bounded LRU with hit/miss counters.

    ``counters``: another LRUCache whose hit counter this one's hits add to
    (its misses are then not counted: the cache asked next counts them) and
    whose byte budget it shares.  ``max_bytes``: the budget, for a cache that
    does not share one.  Only successful computations are stored.
    """

    def __init__(self, size: int, counters: LRUCache | None = None, max_bytes: int | None = None) -> None:
        self.size = size
        self._data: OrderedDict = OrderedDict()  # key -> [value, bytes, tick]
        self.hits = 0
        self.misses = 0
        self.bytes = 0
        self._counters = counters if counters is not None else self  # not `or`: an empty cache is falsy
        self._count_misses = counters is None
        self.budget: CacheBudget
        if counters is not None:
            self.budget = counters.budget
        else:
            self.budget = CacheBudget(DEFAULT_MAX_BYTES if max_bytes is None else max_bytes)
        self.budget.caches.append(self)

    def get(self, key):
        entry = self._data.get(key)
        if entry is None:
            if self._count_misses:
                self.misses += 1
            return None
        self._counters.hits += 1
        self._data.move_to_end(key)
        budget = self.budget
        budget.tick += 1
        entry[2] = budget.tick
        return entry[0]

    def put(self, key, value) -> None:
        if self.size <= 0:
            return
        budget = self.budget
        size = entry_size(key, value)
        old = self._data.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
            budget.used -= old[1]
        if size > budget.max_bytes:
            return
        budget.evict_until(budget.max_bytes - size)
        budget.tick += 1
        self._data[key] = [value, size, budget.tick]
        self.bytes += size
        budget.used += size
        while len(self._data) > self.size:
            self._pop_oldest()

    def _pop_oldest(self) -> None:
        _, (_, size, _) = self._data.popitem(last=False)
        self.bytes -= size
        self.budget.used -= size

    def clear(self) -> None:
        while self._data:
            self._pop_oldest()

    def __len__(self) -> int:
        return len(self._data)
