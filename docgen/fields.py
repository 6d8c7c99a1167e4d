"""What a template reads: the roster fields, the rows' attributes of a batch template, the
``course.`` entries; walked on Jinja's syntax tree."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes

from docgen.errors import TemplateError
from docgen.job import TEMPLATE_KINDS, DocumentSpec, Job
from docgen.sources import syntax_error, template_sources
from docgen.templating import BUILTINS, make_environment

# Jinja's own globals: never roster fields.
_JINJA_GLOBALS = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace"})


@dataclass(frozen=True)
class DocumentFields:
    """Which names a document reads, and from where."""

    template: frozenset[str]
    filename: frozenset[str]
    when: frozenset[str]
    batch_attributes: frozenset[str] = frozenset()

    @property
    def per_row(self) -> frozenset[str]:
        return self.template | self.filename

    @property
    def all(self) -> frozenset[str]:
        return self.template | self.filename | self.when | self.batch_attributes


def document_fields(spec: DocumentSpec, job: Job) -> DocumentFields:
    """Parse the template, the filename pattern and ``when``; a syntax error is fatal."""
    env = make_environment(job.locale)
    template_names: set[str] = set()
    attributes: set[str] = set()
    for part, source in template_sources(spec, env):
        try:
            template_names |= names_used(env, source)
            if spec.scope == "batch":
                attributes |= attributes_used(env, source)
        except TemplateSyntaxError as err:
            raise syntax_error(replace(spec, template=part), source, err) from err
    job_file = job.path.name
    try:
        filename_names = names_used(env, spec.filename_pattern) - {"__key__"}
    except TemplateSyntaxError as err:
        raise TemplateError(f"filename pattern: {err.message}", file=job_file,
                            document=spec.name) from err
    when_names: set[str] = set()
    if spec.when:
        try:
            when_names = names_used(env, expression_source(spec.when))
        except TemplateSyntaxError as err:
            raise TemplateError(f"'when' is not a valid expression: {err.message}",
                                file=job_file, document=spec.name,
                                hint="write it as in the README, e.g. esito_esame == 'idoneo'"
                                ) from err
    return DocumentFields(frozenset(template_names), frozenset(filename_names),
                          frozenset(when_names), frozenset(attributes))


def template_fields(path: Path) -> list[str]:
    """What ``docgen fields`` prints: roster fields a template reads, then its course entries."""
    kind = TEMPLATE_KINDS.get(path.suffix.lower())
    if kind is None:
        raise TemplateError("a template must be .html or .docx", file=path.name)
    spec = DocumentSpec(name=path.stem, template=path.resolve(), kind=kind)
    env = make_environment("it_IT")
    names: set[str] = set()
    courses: set[str] = set()
    for part, source in template_sources(spec, env):
        try:
            names |= names_used(env, source)
            names |= attributes_used(env, source)
            courses |= course_entries(env, source)
        except TemplateSyntaxError as err:
            raise syntax_error(replace(spec, template=part), source, err) from err
    return sorted(names - BUILTINS) + sorted(courses)


def names_used(env: Any, source: str) -> set[str]:
    """Top-level names a template reads (besides what it defines itself)."""
    return set(meta.find_undeclared_variables(env.parse(source))) - _JINJA_GLOBALS


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
    """``course.title`` and the like: the [course] entries a template reads."""
    return {f"course.{attr}" for name, attr in _attribute_reads(env, source) if name == "course"}


def expression_source(expression: str) -> str:
    """A ``when`` expression as template source, for parsing and finding its names."""
    return "{{ (" + expression + ") }}"
