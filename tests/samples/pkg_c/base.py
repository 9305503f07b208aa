"""Abstract storage backends."""

import abc


class Storage(abc.ABC):
    """Somewhere to keep named blobs of bytes."""

    @abc.abstractmethod
    def load(self, name: str) -> bytes:
        """Read the blob stored under a name.

        :param name: Name of the blob.
        :returns: The stored bytes.
        """
        raise NotImplementedError

    def save(self, name: str, data: bytes) -> None:
        """Store a blob under a name, replacing any earlier one.

        :param name: Name of the blob.
        :param data: The bytes to store.
        """
        raise NotImplementedError()

    def close(self) -> None:
        """Release any resources held by the backend; the default holds none."""
        pass

    def flush(self) -> None:
        """Write buffered blobs through to their final location."""
        ...


class MemoryStorage(Storage):
    """Storage that keeps every blob in a dictionary."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def load(self, name: str) -> bytes:
        """Read the blob stored under a name from memory.

        :param name: Name of the blob.
        :returns: The stored bytes.
        :raises KeyError: If nothing is stored under the name.
        """
        return self._blobs[name]

    def save(self, name: str, data: bytes) -> None:
        """Keep a copy of the blob in memory under the given name.

        :param name: Name of the blob.
        :param data: The bytes to store.
        """
        self._blobs[name] = bytes(data)
