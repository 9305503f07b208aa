"""Licence families from package metadata or licence files, for filtering the corpus and the model card."""

from __future__ import annotations

import re
from email.message import Message
from pathlib import Path

UNKNOWN = "unknown"
PERMISSIVE = ("MIT", "BSD", "Apache-2.0", "PSF", "ISC")

# Order matters: the more specific names come first (LGPL and AGPL contain "GPL",
# "BSD-style" Python licences mention both), and the restrictive ones before the
# permissive ones so a text that mentions both is not taken as permissive.
_FAMILIES = (
    ("AGPL", re.compile(r"\bAGPL|Affero", re.I)),
    ("LGPL", re.compile(r"\bLGPL|Lesser General Public|Library General Public", re.I)),
    ("GPL", re.compile(r"\bGPL|General Public License", re.I)),
    ("MPL-2.0", re.compile(r"\bMPL\b|MPL-|Mozilla Public", re.I)),
    ("EPL", re.compile(r"\bEPL\b|EPL-|Eclipse Public", re.I)),
    ("Apache-2.0", re.compile(r"Apache", re.I)),
    ("PSF", re.compile(r"\bPSF|Python Software Foundation|Python-2\.0", re.I)),
    ("BSD", re.compile(r"BSD|Redistribution and use in source and binary forms", re.I)),
    ("MIT", re.compile(r"\bMIT\b|\bExpat\b|Permission is hereby granted, free of charge", re.I)),
    ("ISC", re.compile(r"\bISC\b", re.I)),
    ("Unlicense", re.compile(r"Unlicense|\bCC0|Public Domain", re.I)),
)
_OR = re.compile(r"\s+OR\s+")
_AND = re.compile(r"\s+AND\s+")
# "WITH x" adds an exception (a permission), it never makes a licence stricter.
_EXCEPTION = re.compile(r"\s+WITH\s+\S+")
# Small permissive licences that ride along with a main one ("BSD-3-Clause AND Zlib" is BSD).
_MINOR_PERMISSIVE = re.compile(r"^(0BSD|Zlib|BSL-1\.0|CC0-1\.0|CNRI-Python|HPND|Unicode-[\w.-]+|X11|Unlicense)$", re.I)
_PLACEHOLDERS = {"", "unknown", "none", "license", "other", "other/proprietary license"}
LICENCE_FILES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "COPYING", "LICENSE.rst")


def _family_of_term(term: str) -> str:
    return next((family for family, pattern in _FAMILIES if pattern.search(term)), UNKNOWN)


def _family_of_conjunction(term: str) -> str:
    """All of ``A AND B`` apply, so the least permissive part decides."""
    parts = [part.strip("() ") for part in _AND.split(_EXCEPTION.sub("", term))]
    families = [_family_of_term(part) for part in [p for p in parts if not _MINOR_PERMISSIVE.match(p)] or parts]
    return next((f for f in families if f not in PERMISSIVE), families[0])


def licence_family(text: str | None) -> str:
    """The family of an SPDX expression or free licence text; ``unknown`` when it says nothing usable.

    With ``A OR B`` the user may pick, so a permissive alternative wins.
    """
    if text is None or text.strip().lower() in _PLACEHOLDERS:
        return UNKNOWN
    # A License field sometimes holds the whole licence text: its head names it.
    head = text.strip()[:400]
    if "(" in head:
        # Nested expressions are rare; reading every OR as AND keeps the filter on the safe side.
        head = _OR.sub(" AND ", head)
    alternatives = [_family_of_conjunction(term) for term in _OR.split(head) if term.strip()]
    return next((f for f in alternatives if f in PERMISSIVE), alternatives[0] if alternatives else UNKNOWN)


def metadata_licence(metadata: Message) -> str:
    """The family from METADATA: ``License-Expression``, then ``License``, then the classifiers."""
    for field in ("License-Expression", "License"):
        family = licence_family(metadata.get(field))
        if family != UNKNOWN:
            return family
    classifiers = [c.rsplit("::", 1)[-1] for c in metadata.get_all("Classifier") or () if c.startswith("License ::")]
    # Several licence classifiers list the licences one may choose from.
    return licence_family(" OR ".join(classifiers)) if classifiers else UNKNOWN


def directory_licence(directory: Path) -> str:
    """The family named at the top of the first licence file in ``directory``."""
    for name in LICENCE_FILES:
        path = directory / name
        if path.is_file():
            return licence_family(path.read_text(encoding="utf-8", errors="replace")[:400])
    return UNKNOWN


def parse_licence_list(text: str) -> tuple[str, ...] | None:
    """``--licences`` value: comma-separated families, or ``all`` (None: no filter)."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    return None if "all" in names else names
