"""Wheels built with zipfile for the train.corpus and train.mine_corpus tests (no network)."""

from __future__ import annotations

import zipfile
from pathlib import Path


def make_wheel(path: Path, name: str, files: dict[str, bytes], licence_header: str = "License-Expression: MIT",
               licence_file: str | None = None) -> Path:
    """A wheel as pip downloads it: the package's files plus ``<name>-1.0.dist-info/``."""
    info = f"{name}-1.0.dist-info"
    with zipfile.ZipFile(path, "w") as wheel:
        for member, data in files.items():
            wheel.writestr(member, data)
        header = f"{licence_header}\n" if licence_header else ""
        wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.4\nName: {name}\nVersion: 1.0\n{header}\n")
        wheel.writestr(f"{info}/RECORD", "".join(f"{member},,\n" for member in files))
        wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\n")
        if licence_file is not None:
            wheel.writestr(f"{info}/licenses/LICENSE", licence_file)
    return path
