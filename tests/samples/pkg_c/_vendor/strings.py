"""Vendored copy of pkg_a.strings so pkg_c has no runtime dependency."""
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
    # vendored: keep in sync with upstream
    folded = unicodedata.normalize( "NFKD", text ).encode("ascii", "ignore").decode()
    return _NON_WORD.sub(separator, folded.lower()).strip(separator)


def truncate_words(text: str, limit: int, ellipsis: str = "...") -> str:
    """Shorten the text to at most limit words (vendored copy).

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
    return " ".join(words[:limit]) + ellipsis  # same as upstream
