"""What templates read from ``[course]``, and the kind of value each use implies: the shape of
a ``[course]`` table that renders (a date where ``| date`` is applied, a list where a loop
runs, a number where arithmetic is done), written as TOML placeholders for ``docgen init``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from jinja2 import nodes

from docgen.clock import build_date

ITEM = "[]"  # a path step into the elements of a list
_ELEMENT_FILTERS = {"first", "last", "random"}
_SAME_FILTERS = {"selectattr", "rejectattr", "sort", "unique", "reverse", "list", "default",
                 "batch", "slice"}
_NUMBER_FILTERS = {"number", "round", "int", "float", "abs", "filesizeformat"}
_ARITHMETIC = (nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Pow,
               nodes.Neg, nodes.Pos)
_RANK = {"text": 0, "number": 1, "date": 2}
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass
class Shape:
    """A value of [course]: a leaf of some kind, a table (``fields``) or a list (``item``)."""

    kind: str = "text"
    fields: dict[str, Shape] = field(default_factory=dict)
    item: Shape | None = None
    listed: bool = False  # iterated or joined: a list even if its elements are never read

    def add(self, path: tuple[str, ...], kind: str = "text") -> None:
        if not path:
            if _RANK[kind] > _RANK[self.kind]:
                self.kind = kind
            return
        if path[0] == ITEM:
            self.item = self.item or Shape()
            self.item.add(path[1:], kind)
        else:
            self.fields.setdefault(path[0], Shape()).add(path[1:], kind)

    def at(self, path: tuple[str, ...]) -> Shape:
        shape = self
        for step in path:
            if step == ITEM:
                shape.item = shape.item or Shape()
                shape = shape.item
            else:
                shape = shape.fields.setdefault(step, Shape())
        return shape


def read_course(env: Any, source: str, shape: Shape) -> None:
    """Add to ``shape`` every [course] entry ``source`` reads, with the kind its use implies."""
    tree = env.parse(source)
    aliases: dict[str, tuple[str, ...]] = {}
    for node in tree.find_all((nodes.For, nodes.Assign)):
        value = node.iter if isinstance(node, nodes.For) else node.node
        path = _path(value, aliases)
        if path is not None and isinstance(node.target, nodes.Name):
            if isinstance(node, nodes.For):
                shape.at(path).listed = True
                path += (ITEM,)
            aliases[node.target.name] = path
    for node in tree.find_all((nodes.Name, nodes.Getattr, nodes.Getitem)):
        if (path := _path(node, aliases)) is not None:
            shape.add(path)
    for node in tree.find_all(nodes.Filter):
        _filter(node, aliases, shape)
    for node in tree.find_all(_ARITHMETIC):
        for operand in (getattr(node, "left", None), getattr(node, "right", None),
                        getattr(node, "node", None)):
            if operand is not None and (path := _path(operand, aliases)) is not None:
                shape.add(path, "number")
    for node in tree.find_all(nodes.Compare):
        operands = [node.expr, *(op.expr for op in node.ops)]
        if any(isinstance(o, nodes.Const) and isinstance(o.value, int | float)
               and not isinstance(o.value, bool) for o in operands):
            for operand in operands:
                if (path := _path(operand, aliases)) is not None:
                    shape.add(path, "number")


def _filter(node: nodes.Filter, aliases: dict[str, tuple[str, ...]], shape: Shape) -> None:
    path = _path(node.node, aliases) if node.node is not None else None
    if path is None:
        return
    if node.name == "date":
        shape.add(path, "date")
    elif node.name in _NUMBER_FILTERS:
        shape.add(path, "number")
    elif node.name in ("join", "length", "count"):
        shape.at(path).listed = node.name == "join" or shape.at(path).listed
    attributes = [k.value for k in node.kwargs if k.key == "attribute"]
    if node.name in ("selectattr", "rejectattr") and node.args:
        attributes.append(node.args[0])
    for attribute in attributes:
        if isinstance(attribute, nodes.Const) and isinstance(attribute.value, str):
            kind = "number" if node.name == "sum" else "text"
            shape.add((*path, ITEM, attribute.value), kind)
    if node.name == "sum" and not attributes:
        shape.add((*path, ITEM), "number")


def _path(node: nodes.Node, aliases: dict[str, tuple[str, ...]]) -> tuple[str, ...] | None:
    """The [course] path an expression reads (``course.units[0].code`` ->
    ("units", "[]", "code")), or None when it reads something else."""
    if isinstance(node, nodes.Name):
        return () if node.name == "course" else aliases.get(node.name)
    if isinstance(node, nodes.Getattr):
        base = _path(node.node, aliases)
        return None if base is None else (*base, node.attr)
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        base = _path(node.node, aliases)
        if base is None:
            return None
        return (*base, node.arg.value) if isinstance(node.arg.value, str) else (*base, ITEM)
    if isinstance(node, nodes.Filter) and node.node is not None:
        base = _path(node.node, aliases)
        if base is None:
            return None
        if node.name in _ELEMENT_FILTERS:
            return (*base, ITEM)
        return base if node.name in _SAME_FILTERS else None
    return None


def course_toml(shape: Shape, hours: int) -> list[str]:
    """``[course]`` and its sub-tables with a placeholder for every entry, each marked TODO;
    ``hours`` is the course's own ``hours`` (check compares each worker's hours with it)."""
    return _table(("course",), shape, hours, array=False)


def placeholder_count(shape: Shape) -> int:
    return _count(shape) if shape.fields else 0


def _table(prefix: tuple[str, ...], shape: Shape, hours: int, *, array: bool) -> list[str]:
    name = ".".join(_key(p) for p in prefix)
    lines = [f"[[{name}]]" if array else f"[{name}]"]
    later: list[str] = []
    for key, child in shape.fields.items():
        if child.fields and child.item is None:
            later += ["", *_table((*prefix, key), child, hours, array=False)]
        elif child.item is not None and child.item.fields:
            later += ["", *_table((*prefix, key), child.item, hours, array=True)]
        elif child.item is not None or child.listed:
            item = child.item or Shape()
            lines.append(_line(f"{_key(key)} = [{_placeholder(item, '', 0)[0]}]", "TODO: a list"))
        else:
            value, note = _placeholder(child, key, hours if prefix == ("course",) else 0)
            lines.append(_line(f"{_key(key)} = {value}", note))
    return lines + later


def _placeholder(shape: Shape, key: str, hours: int) -> tuple[str, str]:
    """A value of the kind the templates need, and the comment that marks it as a placeholder;
    ``hours`` is given for the course's own hours."""
    if shape.kind == "date":
        return build_date().isoformat(), "TODO: a date"
    if shape.kind == "number":
        if key == "hours" and hours:
            return str(hours), "TODO: the course's hours (at least each worker's)"
        return "1", "TODO: a number"
    return '"TODO"', ""


def _line(text: str, comment: str) -> str:
    return f"{text:<32} # {comment}" if comment else text


def _count(shape: Shape) -> int:
    if shape.item is not None:
        return _count(shape.item) or 1
    if shape.fields:
        return sum(_count(s) for s in shape.fields.values())
    return 1


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name, ensure_ascii=False)
