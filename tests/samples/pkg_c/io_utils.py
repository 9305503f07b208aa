"""Reading, writing and retrying around the file system."""

import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")


def read_lines(path: Path, strip: bool = True) -> list[str]:
    """Read a text file and return its lines without line endings.

    :param path: File to read, decoded as UTF-8.
    :param strip: Whether to remove surrounding whitespace from every line.
    :returns: The lines of the file, in order.
    :raises FileNotFoundError: If the file does not exist.
    """
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    return [line.strip() for line in lines] if strip else lines


def write_atomic(path: Path, text: str) -> None:
    """Replace a file's contents so readers never see a half-written file.

    The text goes to a temporary file in the same directory, which is then
    renamed over the target.

    :param path: File to replace or create.
    :param text: The new contents.
    """
    fd, tmp_name = tempfile.mkstemp(dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp_name, path)
    except BaseException:
        os.unlink(tmp_name)
        raise


def chunked(items: list[T], size: int) -> Iterator[list[T]]:
    """Split a list into consecutive pieces of a fixed size.

    :param items: The list to split.
    :param size: Number of items per piece; the last piece may be shorter.
    :returns: An iterator over the pieces.
    :raises ValueError: If size is not positive.
    """
    if size <= 0:
        raise ValueError("size must be positive")
    for start in range(0, len(items), size):
        yield items[start:start + size]


def retry(action: Callable[[], T], attempts: int = 3, delay: float = 0.5) -> T:
    """Call a function again after failures, waiting longer each time.

    :param action: Function called without arguments.
    :param attempts: Total number of calls allowed.
    :param delay: Seconds to wait after the first failure; doubled after each one.
    :returns: Whatever the first successful call returned.
    :raises OSError: The last error, when every attempt failed.
    """
    for attempt in range(attempts):
        try:
            return action()
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(delay * 2 ** attempt)
    raise RuntimeError("attempts must be at least 1")


def walk_files(root: Path, suffix: str) -> list[Path]:
    """Collect every file below a directory whose name ends with a suffix.

    Hidden directories are skipped.

    :param root: Directory to search recursively.
    :param suffix: Required ending of the file name, such as ``.py``.
    :returns: The matching paths, sorted.
    """
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [name for name in subdirs if not name.startswith(".")]
        found.extend(Path(directory, name) for name in files if name.endswith(suffix))
    return sorted(found)


# Copied from pkg_a.strings.count_vowels with a different alphabet
def count_consonants(text: str) -> int:
    """Count the consonants in a piece of English text, ignoring case.

    :param text: The text to inspect.
    :returns: How many characters are letters other than vowels.
    """
    return sum(1 for char in text.lower() if char.isalpha() and char not in "aeiou")


def file_size(path):
    return os.stat(path).st_size
