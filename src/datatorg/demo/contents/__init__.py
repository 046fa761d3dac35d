"""Generated contents for every demo dataset: deterministic, realistic for Halden.

Each dataset is a ``Contents``: its columns (Table Schema type, Norwegian title, unit, role)
and a DuckDB query that generates its rows from hashes of row numbers, so every run gives the
same numbers and no random state is kept. ``small=True`` gives a short slice of the same
series (days instead of years) for quick worlds: tests and ``datatorg demo load --small``.

The datasets are grouped by theme in the modules beside this one; ``CONTENTS`` holds them all
by slug. ``demo/lake.py`` loads them through the publishers' own upload path.
"""

from __future__ import annotations

from datatorg.demo.contents import (
    economy,
    energy,
    environment,
    government,
    health,
    people,
    personal,
    services,
    transport,
)
from datatorg.demo.contents.base import Col, Contents

__all__ = ["CONTENTS", "Col", "Contents"]

CONTENTS: dict[str, Contents] = {
    c.slug: c
    for module in (
        environment,
        transport,
        energy,
        economy,
        services,
        health,
        people,
        government,
        personal,
    )
    for c in module.CONTENTS
}
