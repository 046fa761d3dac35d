"""Run the benchmarks and write their results to docs/benchmarks.md.

Each benchmark module has ``run() -> str`` returning a Markdown section; results are ratios
against a baseline measured in the same run on the same machine.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

MODULES: list[str] = [  # each domain adds its own
    "bench.market_enforcement",
    "bench.catalog_search",
    "bench.lake",
    "bench.audit_append",
]

OUT = Path(__file__).parent.parent / "docs" / "benchmarks.md"


def main(argv: list[str]) -> int:
    chosen = [m for m in MODULES if not argv or any(a in m for a in argv)]
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    header = [
        "# Benchmarks",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} cores, {mem_gib:.0f} GiB memory, Python {platform.python_version()}.",
        "Every figure is a ratio against a baseline measured in the same run. This file is"
        " generated; what the figures mean and how they were reached: `docs/performance.md`.",
        "",
    ]
    sections = []
    for name in chosen:
        print(f"running {name} …", flush=True)
        sections.append(importlib.import_module(name).run())
    if not sections:
        print("no benchmarks selected")
        return 1
    OUT.write_text("\n".join(header + sections) + "\n", encoding="utf-8")
    print(OUT.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
