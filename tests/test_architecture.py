"""Architecture: the import contracts in pyproject.toml (``[tool.importlinter]``) hold.

import-linter checks the real import graph (every ``import``, also inside functions):

* **layers**: the app and the command line over the demo loader, over the domains (pilots
  and sensors over the gate and privacy, which call each other; then the marketplace, the
  lake, the catalog, the outbox, audit and identity), over the shell (web, then db) and the
  basics (mail, logging, errors, settings). Nothing imports upwards except the imports
  named in the contract's ``ignore_imports``, each with its reason (``db.models`` gathers
  every domain's tables for Alembic; two calls named there);
* **only the gate reads the lake**: ``lake.reader`` (DuckDB over the files) and
  ``lake.rowindex_meta`` (the row index's layout) are imported by ``access`` (and the lake);
* **DuckDB lives in the lake** (and in the demo's data generator);
* **public modules**: a domain uses another through its public modules only (``service``,
  ``schemas``, ``models``, ``policies``, ``deps``, ``permissions``, …); routers, pages and
  internals stay inside their domain (custom contract: ``tests/import_contracts.py``).

The same contracts run as ``lint-imports`` (``make lint``).
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

from tests.import_contracts import PublicModulesContract

ROOT = Path(__file__).parent.parent
CONFIG = ROOT / "pyproject.toml"


def test_the_import_contracts_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the custom contract type is found as tests.import_contracts
    # lint_imports configures logging with dictConfig, which disables every logger that
    # exists (the app's among them): later tests would see no request log. Undo that.
    loggers = [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    enabled = [lg for lg in loggers if not lg.disabled]
    try:
        assert lint_imports(config_filename=str(CONFIG), no_cache=True, no_logo=True) == 0
    finally:
        for lg in enabled:
            lg.disabled = False


def test_every_package_is_under_a_contract() -> None:
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["tool"]["importlinter"]
    named = " ".join(str(c) for c in config["contracts"])
    packages = sorted(
        p.name
        for p in (ROOT / "src" / "datatorg").iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"
    )
    missing = [
        p.removesuffix(".py")
        for p in packages
        if p != "__init__.py" and f"datatorg.{p.removesuffix('.py')}" not in named
    ]
    assert missing == []


def _graph(imports: list[tuple[str, str]]) -> grimp.ImportGraph:
    graph = grimp.ImportGraph()
    for importer, imported in imports:
        for module in (importer, imported):
            parts = module.split(".")
            for i in range(1, len(parts) + 1):
                graph.add_module(".".join(parts[:i]))
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="")
    return graph


def test_the_public_modules_contract_catches_a_violation() -> None:
    contract = PublicModulesContract(
        name="public",
        session_options={"root_packages": ["d"]},
        contract_options={
            "domains": ["d.market", "d.catalog"],
            "public": ["service", "models"],
            "allowed_importers": ["d.app"],
        },
    )
    fine = _graph(
        [
            ("d.market.offers", "d.catalog.service"),
            ("d.market.offers", "d.market.policies"),  # inside its own domain
            ("d.app", "d.market.router"),  # the composition root
        ]
    )
    assert contract.check(fine, verbose=False).kept
    bad = _graph(
        [
            ("d.market.offers", "d.catalog.pages"),
            ("d.catalog.service", "d.market.offers._helpers"),
        ]
    )
    check = contract.check(bad, verbose=False)
    assert not check.kept
    assert sorted((b["importer"], b["imported"]) for b in check.metadata["broken"]) == [
        ("d.catalog.service", "d.market.offers._helpers"),
        ("d.market.offers", "d.catalog.pages"),
    ]
