"""What a template reads: the roster fields, the rows' attributes of a batch template, the
``course.`` entries; walked on Jinja's syntax tree."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes

from docgen.errors import DocgenError, TemplateError, UnusableError, sentences, suggest
from docgen.job import TEMPLATE_KINDS, DocumentSpec, Job
from docgen.sources import template_errors, template_sources
from docgen.templating import BUILTINS, make_environment

# Jinja's own globals: never roster fields.
_JINJA_GLOBALS = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace"})


ReadPath = tuple[str, ...]  # ("course", "units", EACH, "title") for u.title in course.units
EACH = "[]"


@dataclass(frozen=True)
class DocumentFields:
    """Which names a document reads, and from where."""

    template: frozenset[str]
    filename: frozenset[str]
    when: frozenset[str]
    batch_attributes: frozenset[str] = frozenset()
    # Read only under a guard (``| default``, ``is defined``, an ``if`` on itself): the
    # template handles their absence, so no column is demanded and an empty value is fine.
    optional: frozenset[str] = frozenset()
    properties: frozenset[str] = frozenset()  # the title and [job.metadata] patterns
    course: frozenset[tuple[str, ReadPath]] = frozenset()  # (where, path) of course. reads
    problems: tuple[DocgenError, ...] = ()  # unknown filters and tests: fatal, found with the rest

    @property
    def per_row(self) -> frozenset[str]:
        return (self.template - self.optional) | self.filename | self.properties

    @property
    def all(self) -> frozenset[str]:
        return (self.template | self.filename | self.when | self.batch_attributes
                | self.properties)


def document_fields(spec: DocumentSpec, job: Job) -> DocumentFields:
    """Parse the template (every part, every include), the filename pattern, ``when``, the
    title and metadata; every syntax error, unknown filter or test is fatal, all reported."""
    env = make_environment(job.locale)
    template_names: set[str] = set()
    attributes: set[str] = set()
    reads: dict[ReadPath, bool] = {}
    errors: list[DocgenError] = []
    unknown: list[DocgenError] = []
    for source in template_sources(spec, env):
        found = template_errors(spec, source, env)
        if any("syntax error" in e.message for e in found):
            errors += found
            continue
        unknown += found  # unknown filters and tests: the source parses, its fields count
        template_names |= names_used(env, source.text)
        if spec.scope == "batch":
            attributes |= attributes_used(env, source.text)
        _merge(reads, guarded_reads(env, source.text))
    if errors:
        raise UnusableError(errors)
    optional = {n for n in template_names if _all_guarded(reads, (n,))}
    optional |= {a for a in attributes if _all_guarded(reads, ("rows", EACH, a))}
    course = {(spec.template.name, p[1:]) for p, guarded in reads.items()
              if p[0] == "course" and len(p) > 1 and not guarded}
    job_file = job.path.name
    try:
        filename_names = names_used(env, spec.filename_pattern) - {"__key__"}
        course |= {(f"{job_file} filename", p) for p in course_reads(env, spec.filename_pattern)}
    except TemplateSyntaxError as err:
        raise TemplateError(f"filename pattern: {err.message}", file=job_file,
                            document=spec.name) from err
    when_names: set[str] = set()
    if spec.when:
        try:
            when_names = names_used(env, expression_source(spec.when))
            course |= {(f"{job_file} when", p)
                       for p in course_reads(env, expression_source(spec.when))}
        except TemplateSyntaxError as err:
            raise TemplateError(f"'when' is not a valid expression: {err.message}",
                                file=job_file, document=spec.name,
                                hint="write it as in the README, e.g. esito_esame == 'idoneo'."
                                ) from err
    properties: set[str] = set()
    patterns = {"title": spec.title} if spec.title else {}
    patterns |= {f"[job.metadata] {k}": v for k, v in job.metadata.items() if k != "date"}
    for where, pattern in patterns.items():
        try:
            properties |= names_used(env, pattern)
            course |= {(f"{job_file} {where}", p) for p in course_reads(env, pattern)}
        except TemplateSyntaxError as err:
            raise TemplateError(f"{where}: template syntax error: {err.message}", file=job_file,
                                document=spec.name) from err
    return DocumentFields(frozenset(template_names), frozenset(filename_names),
                          frozenset(when_names), frozenset(attributes),
                          optional=frozenset(optional), properties=frozenset(properties),
                          course=frozenset(course), problems=tuple(unknown))


def template_fields(path: Path) -> list[str]:
    """What ``docgen fields`` prints, the names ``check`` checks: the roster fields a
    template reads (every part of a Word document), then its ``course.`` entries, nested
    ones and those read in loops (``course.units[].title``) included."""
    kind = TEMPLATE_KINDS.get(path.suffix.lower())
    if kind is None:
        raise TemplateError("a template must be .html or .docx", file=path.name)
    spec = DocumentSpec(name=path.stem, template=path.resolve(), kind=kind)
    env = make_environment("it_IT")
    names: set[str] = set()
    courses: set[str] = set()
    errors: list[DocgenError] = []
    for source in template_sources(spec, env):
        if found := template_errors(spec, source, env):
            errors += found
            continue
        names |= names_used(env, source.text)
        names |= attributes_used(env, source.text)
        courses |= course_entries(env, source.text)
    if errors:
        raise UnusableError(errors)
    return sorted(names - BUILTINS) + sorted(courses)


def course_reads(env: Any, source: str) -> set[ReadPath]:
    """The ``course.`` paths a source reads unguarded, without the leading ``course``."""
    return {p[1:] for p, guarded in guarded_reads(env, source).items()
            if p[0] == "course" and len(p) > 1 and not guarded}


def _merge(into: dict[ReadPath, bool], more: dict[ReadPath, bool]) -> None:
    for path, guarded in more.items():
        into[path] = into.get(path, True) and guarded


def _all_guarded(reads: dict[ReadPath, bool], root: ReadPath) -> bool:
    """Every read of ``root`` (and below it) is guarded, and there is at least one."""
    found = [g for p, g in reads.items() if p[:len(root)] == root]
    return bool(found) and all(found)


_DEFAULT_FILTERS = {"default", "d"}
_DEFINED_TESTS = {"defined", "undefined"}


def _path(node: nodes.Node, aliases: dict[str, ReadPath]) -> ReadPath | None:
    """``course.provider.name`` as ("course", "provider", "name"); a loop variable as what
    it iterates (``u.title`` -> ("course", "units", EACH, "title"))."""
    attributes: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            attributes.append(node.attr)
            node = node.node
        elif (isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const)
              and isinstance(node.arg.value, str)):
            attributes.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name) and node.ctx == "load":
            return aliases.get(node.name, (node.name,)) + tuple(reversed(attributes))
        else:
            return None


def _subjects(test: nodes.Node, aliases: dict[str, ReadPath]) -> set[ReadPath]:
    """What an ``if`` guards in its body: ``x`` in ``if x``, ``if x is defined``, ``if x and y``."""
    if isinstance(test, nodes.And):
        return _subjects(test.left, aliases) | _subjects(test.right, aliases)
    if isinstance(test, nodes.Test) and test.name == "defined":
        test = test.node
    path = _path(test, aliases)
    return {path} if path else set()


class _Walker:
    """Every path a template reads, and whether each read is guarded everywhere."""

    def __init__(self) -> None:
        self.reads: dict[ReadPath, bool] = {}

    def note(self, path: ReadPath, guarded: bool) -> None:
        self.reads[path] = self.reads.get(path, True) and guarded

    def walk(self, node: nodes.Node, aliases: dict[str, ReadPath], guards: frozenset[ReadPath],
             here: bool = False) -> None:
        if isinstance(node, nodes.If | nodes.CondExpr):
            inner = guards | _subjects(node.test, aliases)
            self.walk(node.test, aliases, inner)
            if isinstance(node, nodes.CondExpr):
                self.walk(node.expr1, aliases, inner)
                if node.expr2 is not None:
                    self.walk(node.expr2, aliases, guards)
                return
            self.each(node.body, aliases, inner)
            self.each(node.elif_ + node.else_, aliases, guards)
            return
        if isinstance(node, nodes.Filter) and node.name in _DEFAULT_FILTERS and node.node:
            self.walk(node.node, aliases, guards, here=True)
            self.each(node.args + [k.value for k in node.kwargs], aliases, guards)
            return
        if isinstance(node, nodes.Test) and node.name in _DEFINED_TESTS:
            self.walk(node.node, aliases, guards, here=True)
            return
        # Only tested for truth: `note or '-'`, `not note` (a missing name is false there).
        if isinstance(node, nodes.Or):
            self.walk(node.left, aliases, guards, here=True)
            self.walk(node.right, aliases, guards)
            return
        if isinstance(node, nodes.Not):
            self.walk(node.node, aliases, guards, here=True)
            return
        if isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Name):
            path = _path(node, aliases)
            if path is not None:
                self.note(path, here or any(path[:n] in guards for n in range(1, len(path) + 1)))
                return
        if isinstance(node, nodes.For):
            self.walk(node.iter, aliases, guards)
            iterated = node.iter
            while isinstance(iterated, nodes.Filter) and iterated.node is not None:
                iterated = iterated.node
            inner = dict(aliases)
            if isinstance(node.target, nodes.Name):
                path = _path(iterated, aliases)
                if path is not None:
                    inner[node.target.name] = (*path, EACH)
                else:
                    inner.pop(node.target.name, None)
            if node.test is not None:
                self.walk(node.test, inner, guards)
            self.each(node.body, inner, guards)
            self.each(node.else_, aliases, guards)
            return
        self.each(list(node.iter_child_nodes()), aliases, guards)

    def each(self, children: list[nodes.Node], aliases: dict[str, ReadPath],
             guards: frozenset[ReadPath]) -> None:
        for child in children:
            self.walk(child, aliases, guards)


def guarded_reads(env: Any, source: str) -> dict[ReadPath, bool]:
    """Every path a source reads (``nome``, ``course.provider.name``,
    ``course.units[].title``), True when every read of it is guarded by ``| default``,
    ``is defined``, an ``if`` on itself (or on what contains it), or only tested for truth
    (``note or '-'``, ``not note``)."""
    walker = _Walker()
    walker.walk(env.parse(source), {}, frozenset())
    return walker.reads


def names_used(env: Any, source: str) -> set[str]:
    """Top-level names a template reads (besides what it defines itself)."""
    tree = env.parse(source)
    # Jinja compiles the tree to find the names, and refuses an unknown filter or test while
    # compiling; check reports those by themselves, so the template's fields still count.
    for node in tree.find_all(nodes.Filter):
        if node.name not in env.filters:
            node.name = "string"
    for node in tree.find_all(nodes.Test):
        if node.name not in env.tests:
            node.name = "string"
    return set(meta.find_undeclared_variables(tree)) - _JINJA_GLOBALS


def _attribute_reads(env: Any, source: str) -> Iterator[tuple[str, str]]:
    """(variable, attribute) pairs such as ("r", "cognome") for ``r.cognome`` or ``r['cognome']``."""
    tree = env.parse(source)
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name):
            yield node.node.name, node.attr
    for node in tree.find_all(nodes.Getitem):
        if (isinstance(node.node, nodes.Name) and isinstance(node.arg, nodes.Const)
                and isinstance(node.arg.value, str)):
            yield node.node.name, node.arg.value


# Filters whose string arguments name attributes of the items: sort(attribute='cognome').
_ATTRIBUTE_FILTERS = {"sort", "groupby", "selectattr", "rejectattr", "map", "sum", "unique",
                      "min", "max"}
_FIRST_ARGUMENT_IS_ATTRIBUTE = {"groupby", "selectattr", "rejectattr"}


def _names(node: nodes.Node) -> set[str]:
    found = {n.name for n in node.find_all(nodes.Name)}
    return found | ({node.name} if isinstance(node, nodes.Name) else set())


def _targets(node: nodes.Node) -> set[str]:
    return {n.name for n in node.find_all(nodes.Name)} | (
        {node.name} if isinstance(node, nodes.Name) else set())


def _row_variables(tree: nodes.Template) -> set[str]:
    """Loop variables that stand for a row of ``rows``: ``r`` in ``for r in rows``, and ``w``
    in ``for g in rows | groupby('sede')`` ... ``for w in g.list``."""
    rows, groups = {"rows"}, set()
    for loop in tree.find_all(nodes.For):
        iterated = _names(loop.iter)
        grouped = any(f.name == "groupby" for f in loop.iter.find_all(nodes.Filter)) or (
            isinstance(loop.iter, nodes.Filter) and loop.iter.name == "groupby")
        if iterated & rows and grouped:
            groups |= _targets(loop.target)
        elif iterated & rows or (isinstance(loop.iter, nodes.Getattr) and loop.iter.attr == "list"
                                 and iterated & groups):
            rows |= _targets(loop.target)
    return rows - {"rows"}


def attributes_used(env: Any, source: str) -> set[str]:
    """The fields a batch template reads on its rows: ``r.cognome`` for a row variable ``r``,
    and attribute names given to filters over ``rows`` (``sort(attribute='cognome')``)."""
    tree = env.parse(source)
    variables = _row_variables(tree)
    found = {attr for name, attr in _attribute_reads(env, source) if name in variables}
    for node in tree.find_all(nodes.Filter):
        if node.name in _ATTRIBUTE_FILTERS and node.node is not None and (
                _names(node.node) & (variables | {"rows"})):
            arguments = [k.value for k in node.kwargs if k.key == "attribute"]
            if node.name in _FIRST_ARGUMENT_IS_ATTRIBUTE and node.args:
                arguments.append(node.args[0])
            for argument in arguments:
                if isinstance(argument, nodes.Const) and isinstance(argument.value, str):
                    found |= {a.strip() for a in argument.value.split(",") if a.strip()}
    return found


def course_entries(env: Any, source: str) -> set[str]:
    """``course.title``, ``course.provider.name``, ``course.units[].title``: the [course]
    entries a template reads, as ``docgen fields`` prints them."""
    found = {f"course.{attr}" for name, attr in _attribute_reads(env, source) if name == "course"}
    for path in guarded_reads(env, source):
        if path[0] == "course" and len(path) > 1:
            found.add("course" + "".join(f"{s}" if s == EACH else f".{s}" for s in path[1:]))
    return found


def course_problems(job: Job, fields: DocumentFields, document: str) -> list[DocgenError]:
    """Every ``course.`` read that the [course] table does not give: fatal (every document
    would fail), with the closest entry."""
    problems: dict[str, DocgenError] = {}
    for where, path in sorted(fields.course):
        file, _, what = where.partition(" ")
        for problem in _missing_entry(job.course, path, "[course]"):
            shown = "course" + "".join(s if s == EACH else f".{s}" for s in path)
            error = TemplateError(f"the {what or 'template'} reads {shown}, but {problem[0]}",
                                  file=file, document=document, field=shown,
                                  hint=sentences(problem[1], "Add it to [course] in "
                                                 f"{job.path.name}, or fix the template"))
            problems.setdefault(str(error), error)
    return list(problems.values())


def _missing_entry(value: Any, path: ReadPath, where: str) -> list[tuple[str, str | None]]:
    """(what is missing, did-you-mean) for ``path`` read on ``value`` (``where`` names it:
    ``[course]``, ``[course.provider]``, ``entry 2 of course.units``); nothing when it is
    there, or when the value is not a table docgen can look into."""
    if not path:
        return []
    step, rest = path[0], path[1:]
    if step == EACH:
        if not isinstance(value, list | tuple):
            return []
        found = []
        name = where.strip("[]")
        for number, item in enumerate(value, start=1):
            found += _missing_entry(item, rest, f"entry {number} of {name}")
        return found[:2]  # the first two are enough to see the pattern
    if isinstance(value, Mapping):
        if step in value:
            inner = f"[{where.strip('[]')}.{step}]" if where.startswith("[") else f"{where}.{step}"
            return _missing_entry(value[step], rest, inner)
        if hasattr(dict, step):  # course.items(), course.get(...)
            return []
        known = [str(k) for k in value]
        hint = suggest(step, known) or (f"it gives: {', '.join(known)}" if known else None)
        return [(f"{where} has no '{step}'", hint)]
    return [] if hasattr(value, step) else [(f"{where} has no '{step}'", None)]


def expression_source(expression: str) -> str:
    """A ``when`` expression as template source, for parsing and finding its names."""
    return "{{ (" + expression + ") }}"
