"""The layout holds: only the CLI imports click, imports go one way with no cycle, and the
README's Architecture section names every module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "docgen"

# The import direction, lowest first: a module imports only modules of its own layer or
# below (never a cycle). A new module must be placed here, and in the README.
LAYERS: list[set[str]] = [
    {"errors", "names", "files", "clock", "zipfiles", "archives", "cell_values", "lifecycle",
     "limits", "lifeline", "__init__"},
    {"templating"},
    {"job", "sources", "fields", "roster", "sheet_files", "sheet_layout", "checks", "lint",
     "fingerprint", "manifest", "render_pdf", "render_docx", "fastdocx", "stylecache", "convert",
     "bundles", "thumbnails", "course_shape", "seal", "seal.keys", "seal.payload", "seal.qr",
     "seal.xmp", "seal.settings", "pdfstamps", "record"},
    {"validate", "plan"},
    {"resume", "tasks", "workers", "cluster", "route", "postbuild", "overview",
     "overview.labels", "overview.table", "overview.page", "overview.sheet"},
    {"build", "check", "preview", "scaffold", "seal.verify", "seal.revoke", "seal.publish",
     "mail", "mail.config", "mail.log", "mail.plan", "mail.compose",
     "mail.send", "mail.interrupt", "mail.run"},
    {"cli", "__main__"},
]


def modules() -> dict[str, Path]:
    return {".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__"): p
            for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> Iterator[str]:
    """Every docgen module ``path`` imports, at the top or inside a function."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith("docgen."):
                yield name.removeprefix("docgen.")


def graph() -> dict[str, set[str]]:
    known = set(modules())
    return {name: {i for i in imports(path) if i in known and i != name}
            for name, path in modules().items()}


def layer(name: str) -> int:
    for number, members in enumerate(LAYERS):
        if name in members:
            return number
    pytest.fail(f"docgen/{name.replace('.', '/')}.py has no place in LAYERS: put it in its layer")


def test_only_the_cli_imports_click() -> None:
    """click stays in cli.py: the core is a library that never prints or parses options."""
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                 for a in n.names} | {n.module.split(".")[0] for n in ast.walk(tree)
                                      if isinstance(n, ast.ImportFrom) and n.module}
        assert "click" not in found or name == "cli", f"{name} imports click"


def test_no_import_cycle() -> None:
    """No module reaches itself through its imports (lazy ones inside functions included)."""
    edges = graph()
    for start in edges:
        stack, seen = [(start, (start,))], set()
        while stack:
            node, path = stack.pop()
            for target in edges[node]:
                assert target != start, "import cycle: " + " -> ".join((*path, target))
                if target not in seen:
                    seen.add(target)
                    stack.append((target, (*path, target)))


def test_imports_go_one_way() -> None:
    """A module imports only modules of its own layer or below (cli -> build/check/mail ->
    plan -> renderers, roster, job -> templating -> names, files, errors)."""
    for name, targets in graph().items():
        for target in targets:
            assert layer(target) <= layer(name), f"{name} (layer {layer(name)}) imports " \
                f"{target} (layer {layer(target)})"


def test_readme_architecture_names_every_module() -> None:
    """The README's Architecture section lists each module of the tree, and no other."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    for name in modules():
        if name in ("__init__", "__main__", "mail", "overview", "seal"):
            continue
        shown = f"`{name.replace('.', '/')}.py`" if "." in name else f"`{name}.py`"
        assert shown in section, f"README Architecture does not mention {shown}"
