"""A contract type for import-linter: a domain uses another domain through its public
modules only (``[tool.importlinter]`` in pyproject.toml names it ``public_modules``).

A *domain* is a subpackage such as ``datatorg.market``; its public modules are those named
in ``public`` (``service``, ``schemas``, ``models``, ``policies``, ``deps``, ...). Every other
module of a domain (its routers, pages, internals) may be imported only from inside the
domain and by the composition roots in ``allowed_importers`` (the app, the command line,
the demo loader). New private modules are protected the moment they exist.
"""

from __future__ import annotations

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


class PublicModulesContract(Contract):
    type_name = "public_modules"

    domains = fields.ListField(subfield=fields.StringField())
    public = fields.ListField(subfield=fields.StringField())
    allowed_importers = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        domains = [str(d) for d in self.domains]  # type: ignore[attr-defined]
        public = {str(p) for p in self.public}  # type: ignore[attr-defined]
        roots = [str(a) for a in (self.allowed_importers or [])]  # type: ignore[attr-defined]
        broken: list[dict[str, object]] = []
        for domain in domains:
            if domain not in graph.modules:
                continue  # a domain that does not exist yet
            for module in sorted(graph.find_children(domain)):
                if module.rsplit(".", 1)[1] in public:
                    continue
                private = {module} | set(graph.find_descendants(module))
                for target in sorted(private):
                    for importer in sorted(graph.find_modules_that_directly_import(target)):
                        if _inside(importer, domain) or any(_inside(importer, r) for r in roots):
                            continue
                        details = graph.get_import_details(importer=importer, imported=target)
                        lines = sorted({d["line_number"] for d in details})
                        broken.append({"importer": importer, "imported": target, "lines": lines})
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for b in check.metadata["broken"]:
            lines = ", ".join(f"l.{n}" for n in b["lines"])  # type: ignore[union-attr]
            output.print_error(
                f"{b['importer']} imports {b['imported']} ({lines}), which is not one of its "
                "domain's public modules",
                bold=False,
            )
            output.new_line()


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")
