"""A file with a syntax error: mining must count it and go on."""


def unfinished(values:
    """Sum the values."""
    return sum(values)
