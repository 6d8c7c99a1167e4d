"""What a template reads (fields.py)."""

from __future__ import annotations

from docgen.fields import names_used
from docgen.templating import make_environment


def test_names_used() -> None:
    """The names a template reads, without those it defines."""
    env = make_environment("it_IT")
    assert names_used(env, "{% set x = 1 %}{{ nome }} {{ x }} {{ course.title }}") == {
        "nome", "course"}
