"""A least-recently-used cache with a fixed capacity."""

from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

V = TypeVar("V")


class LRUCache(Generic[V]):
    """Mapping that forgets the entry used longest ago once it is full."""

    def __init__(self, capacity: int) -> None:
        """Create an empty cache.

        Args:
            capacity: Largest number of entries kept at once.

        Raises:
            ValueError: If capacity is smaller than one.
        """
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._entries: OrderedDict[Hashable, V] = OrderedDict()

    def get(self, key: Hashable, default: V | None = None) -> V | None:
        """Look up a key and mark it as recently used.

        Args:
            key: The key to look up.
            default: Value returned when the key is missing.

        Returns:
            The cached value, or the default when the key is absent.
        """
        if key not in self._entries:
            return default
        self._entries.move_to_end(key)
        return self._entries[key]

    def put(self, key: Hashable, value: V) -> None:
        """Store a value, evicting the oldest entry when the cache is full.

        Args:
            key: The key to store under.
            value: The value to remember.
        """
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def evict_where(self, predicate) -> int:
        """Remove every entry whose value satisfies a predicate.

        Args:
            predicate: Callable that receives a value and returns True to drop it.

        Returns:
            The number of entries removed.
        """
        doomed = [key for key, value in self._entries.items() if predicate(value)]
        for key in doomed:
            del self._entries[key]
        return len(doomed)

    def keys_by_age(self):
        """Yield the keys from the oldest to the most recently used.

        Yields:
            Each key currently stored in the cache.
        """
        yield from self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Drop all entries."""
        self._entries.clear()
