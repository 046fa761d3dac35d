"""Lower layers never import higher ones; a higher one registers what the lower needs when
it is imported (docs/architecture.md). Each entry point (the app, the command line) must load
every registration by itself — checked in a fresh interpreter, where no other test has
imported anything yet."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import {entry}
from datatorg.catalog import pageparts
from datatorg.lake import subjects as lake
from datatorg.privacy import pilot_facts
missing = [
    name
    for name, found in (
        ("lake: published Table Schema", pageparts._SCHEMA_SOURCES),
        ("privacy: subject linker", lake._SUBJECT_LINKERS),
        ("pilots: pilot facts", pilot_facts._FACTS),
    )
    if not found
]
print(missing)
"""


@pytest.mark.parametrize("entry", ["datatorg.app", "datatorg.cli"])
def test_every_registration_is_loaded_by_the_entry_point(entry: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHECK.format(entry=entry)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
