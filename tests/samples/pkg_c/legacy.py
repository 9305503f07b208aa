# -*- coding: latin-1 -*-
"""Helpers kept from an older release; this file is encoded in Latin-1."""


def euro_label(amount):
    """Format an amount of money with the currency code after the number.

    :param amount: The amount, in euros.
    :returns: The label, such as "12.50 EUR".
    """
    # Old releases wrote the generic currency sign "¤" here.
    return f"{amount:.2f} EUR"
