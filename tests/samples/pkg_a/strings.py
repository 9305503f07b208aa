"""String helpers for building identifiers and short previews."""

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")


def slugify(text: str, separator: str = "-") -> str:
    """Turn arbitrary text into a lowercase URL-safe identifier.

    Accents are folded to their closest ASCII letter and every run of other
    characters becomes a single separator.

    Args:
        text: The text to convert.
        separator: String placed between words.

    Returns:
        The slug, without leading or trailing separators.
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NON_WORD.sub(separator, folded.lower()).strip(separator)


def truncate_words(text: str, limit: int, ellipsis: str = "...") -> str:
    """Shorten text to at most a given number of words.

    Args:
        text: The text to shorten.
        limit: Maximum number of words to keep.
        ellipsis: Marker appended when words were removed.

    Returns:
        The shortened text.

    Raises:
        ValueError: If limit is negative.
    """
    if limit < 0:
        raise ValueError("limit must not be negative")
    words = text.split()
    if len(words) <= limit:
        return text
    return " ".join(words[:limit]) + ellipsis


def wrap_lines(text: str, width: int = 72) -> list[str]:
    """Break a paragraph into lines no longer than the given width.

    Words longer than the width are kept whole on their own line.

    Args:
        text: The paragraph to wrap.
        width: Maximum line length in characters.

    Returns:
        The wrapped lines, in order.
    """
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if len(candidate) > width and current:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def count_vowels(text: str) -> int:
    """Count the vowels in a piece of English text, ignoring case.

    Args:
        text: The text to inspect.

    Returns:
        How many characters are one of a, e, i, o or u.
    """
    return sum(1 for char in text.lower() if char in "aeiou")


def is_palindrome(text: str) -> bool:
    """Check whether text reads the same forwards and backwards.

    Only letters and digits are compared, so punctuation and spacing are ignored.

    Args:
        text: The candidate palindrome.

    Returns:
        True if the cleaned text is a palindrome.
    """
    cleaned = [char.lower() for char in text if char.isalnum()]
    left, right = 0, len(cleaned) - 1
    while left < right:
        if cleaned[left] != cleaned[right]:
            return False
        left += 1
        right -= 1
    return True


def get_name(record: dict) -> str:
    """Gets the name."""
    return record["name"]


def title_case(text):
    small = {"a", "an", "of", "the", "and"}
    words = text.split()
    return " ".join(w if i and w in small else w.capitalize() for i, w in enumerate(words))


def _squash_spaces(text):
    return " ".join(text.split())
