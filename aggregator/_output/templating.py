"""The Jinja2 environment over ``templates/``: HTML autoescaped, text not."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from .._common import resources
from .._common.wording import plural


@cache
def _environment(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["paragraphs"] = lambda text: [p for p in str(text).split("\n\n") if p.strip()]
    env.filters["plural"] = plural
    return env


def environment() -> jinja2.Environment:
    return _environment(resources.templates_dir())
