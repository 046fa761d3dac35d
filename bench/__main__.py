"""Run the benchmarks and write their results to docs/benchmarks.md.

Each benchmark module has ``run() -> str`` returning a Markdown section; results are ratios
against a baseline measured in the same run on the same machine.
"""

from __future__ import annotations

import importlib
import os
import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

MODULES: list[str] = [  # each domain adds its own
    "bench.market_enforcement",
    "bench.catalog_search",
    "bench.lake",
    "bench.audit_append",
    "bench.privacy",
    "bench.robust",
    "bench.sensors",
]

OUT = Path(__file__).parent.parent / "docs" / "benchmarks.md"


def main(argv: list[str]) -> int:
    """Run the modules named in ``argv`` (all when none) and write their sections; sections
    of modules not run this time are kept from the previous file, with their own run time."""
    chosen = [m for m in MODULES if not argv or any(a in m for a in argv)]
    if not chosen:
        print("no benchmarks selected")
        return 1
    sections = _sections(OUT.read_text(encoding="utf-8")) if OUT.exists() else {}
    for name in chosen:
        print(f"running {name} …", flush=True)
        started = datetime.now(UTC)
        body = importlib.import_module(name).run()
        sections[name] = f"_Run {started:%Y-%m-%d %H:%M} UTC._\n\n{body.strip()}"
    OUT.write_text(render(sections), encoding="utf-8")
    print(OUT.read_text(encoding="utf-8"))
    return 0


def render(sections: dict[str, str]) -> str:
    """The whole file: the header, then each module's section in ``MODULES`` order."""
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    lines = [
        "# Benchmarks",
        "",
        f"On {platform.machine()}, {os.cpu_count()} cores, {mem_gib:.0f} GiB memory, Python "
        f"{platform.python_version()}. Every figure is a ratio against a baseline measured in"
        " the same run; each section says when it ran (`python -m bench NAME` reruns one)."
        " This file is generated; what the figures mean and how they were reached:"
        " `docs/performance.md`.",
        "",
    ]
    for name in [*MODULES, *sorted(set(sections) - set(MODULES))]:
        if name in sections:
            lines += [f"<!-- {name} -->", sections[name], f"<!-- end {name} -->", ""]
    return "\n".join(lines)


def _sections(text: str) -> dict[str, str]:
    """The sections of a file written by ``render``, by module name (none from older files)."""
    found: dict[str, str] = {}
    for match in re.finditer(r"<!-- (bench\.[\w.]+) -->\n(.*?)\n<!-- end \1 -->", text, re.S):
        found[match.group(1)] = match.group(2)
    return found


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
