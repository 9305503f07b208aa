"""Tests for the string helpers (mining must skip this file)."""

from pkg_a.strings import slugify, truncate_words


def test_slugify_folds_accents():
    """Check that accented letters are folded to plain ASCII letters."""
    assert slugify("Crème brûlée") == "creme-brulee"


def test_truncate_words_keeps_short_text():
    """Check that text shorter than the limit is returned unchanged."""
    assert truncate_words("a b", 5) == "a b"
