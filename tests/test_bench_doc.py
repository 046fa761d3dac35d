"""``make bench`` writes docs/benchmarks.md by section: rerunning one module keeps the rest."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from bench import __main__ as bench_main


def test_sections_round_trip_and_a_partial_run_keeps_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "benchmarks.md"
    monkeypatch.setattr(bench_main, "OUT", out)
    monkeypatch.setattr(bench_main, "MODULES", ["bench.fake_a", "bench.fake_b"])
    runs = {"bench.fake_a": "## A\n\nfirst a", "bench.fake_b": "## B\n\n| b |\n|---|"}

    class Module:
        def __init__(self, name: str) -> None:
            self.name = name

        def run(self) -> str:
            return runs[self.name]

    monkeypatch.setattr(bench_main, "importlib", SimpleNamespace(import_module=Module))
    assert bench_main.main([]) == 0
    whole = out.read_text(encoding="utf-8")
    assert "first a" in whole and "| b |" in whole
    runs["bench.fake_a"] = "## A\n\nsecond a"
    assert bench_main.main(["fake_a"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "second a" in text and "first a" not in text
    assert text.index("## A") < text.index("## B")  # module order, not run order
    assert bench_main._sections(text)["bench.fake_b"] == bench_main._sections(whole)["bench.fake_b"]
    assert bench_main.main(["nothing-matches"]) == 1
    assert out.read_text(encoding="utf-8") == text
