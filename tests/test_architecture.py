"""Architecture: one gate to the lake, and no domain reaching into another's internals.

* Only ``datatorg.access`` may import the lake's read path (``datatorg.lake.reader``).
* A domain may use another domain's public modules only: ``service``, ``schemas``,
  ``models``, ``policies``, ``deps``, ``actor`` (and the package itself). Routers, pages and
  private modules stay inside their domain.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parent.parent / "src" / "datatorg"
DOMAINS = {
    "identity",
    "catalog",
    "market",
    "privacy",
    "access",
    "audit",
    "pilots",
    "sensors",
    "lake",
    "demo",
}
PUBLIC = {
    "service",
    "schemas",
    "models",
    "policies",
    "deps",
    "actor",
    "errors",
    "vocab",
    "permissions",
}
LAKE_READ_PATH = "datatorg.lake.reader"
MAY_READ_LAKE = {"access"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names]
    return found


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).parts
        out.append((rel[0] if len(rel) > 1 else "", path))
    return out


def test_only_the_gate_reads_the_lake() -> None:
    offenders = []
    for domain, path in _modules():
        if domain in MAY_READ_LAKE or path.is_relative_to(SRC / "lake"):
            continue
        for name in _imports(path):
            if name == LAKE_READ_PATH or name.startswith(LAKE_READ_PATH + "."):
                offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert offenders == []


def _internal_imports(domain: str, names: list[str]) -> list[str]:
    """The imported names that reach into another domain's non-public modules."""
    bad = []
    for name in names:
        if domain in MAY_READ_LAKE and (
            name == LAKE_READ_PATH or name.startswith(LAKE_READ_PATH + ".")
        ):
            continue  # the gate is the one reader of the lake
        parts = name.split(".")
        if len(parts) < 3 or parts[0] != "datatorg" or parts[1] not in DOMAINS:
            continue
        other, sub = parts[1], parts[2]
        if other in (domain, "demo") or sub in PUBLIC:
            continue
        is_module = (SRC / other / f"{sub}.py").exists() or (SRC / other / sub).is_dir()
        if is_module or sub.startswith("_"):
            bad.append(name)
    return bad


def test_domains_use_only_each_others_public_modules() -> None:
    offenders = []
    for domain, path in _modules():
        if domain not in DOMAINS or domain == "demo":
            continue
        for name in _internal_imports(domain, _imports(path)):
            offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert offenders == []


def test_the_checks_catch_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from datatorg.lake.reader import query\nimport datatorg.identity.sessions\n")
    names = _imports(bad)
    assert any(n.startswith(LAKE_READ_PATH) for n in names)
    assert _internal_imports("catalog", names) == [
        "datatorg.lake.reader",
        "datatorg.lake.reader.query",
        "datatorg.identity.sessions",
    ]
    assert _internal_imports("access", names) == ["datatorg.identity.sessions"]
    assert _internal_imports("identity", names) == [
        "datatorg.lake.reader",
        "datatorg.lake.reader.query",
    ]
    assert _internal_imports("catalog", ["datatorg.identity.service"]) == []
