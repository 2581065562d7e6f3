"""The generated reference pages of the docs site: every config key and every command.

Owns turning the config schemas (``aggregator.config``'s key tables: type, default,
help) and the click command tree into Markdown, so that the documentation cannot
drift from the code: ``mkdocs_hooks.py`` adds both pages at build time and a test
checks every key and command is in them. Pure: returns text, writes nothing.
"""

from __future__ import annotations

import json
from typing import Any

import click

from ..config.mail import SUBSCRIBER_SCHEMA
from ..config.schema import Schema
from ..config.settings import SCHEMA, SOURCE_SCHEMA


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
    names |= {"list": "array", "dict": "table"}
    kinds = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(dict.fromkeys(names.get(k.__name__, k.__name__) for k in kinds))


def _default(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(k)} = {v!r}" for k, v in value.items())
        return f"`{{ {inner} }}`"
    if isinstance(value, list) and len(value) > 4:
        return f"{len(value)} values (see `aggregator config example`)"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(title: str, schema: Schema, intro: str = "") -> list[str]:
    lines = [f"## `{title}`", ""]
    if intro:
        lines += [intro, ""]
    lines += ["| key | type | default | what it does |", "|---|---|---|---|"]
    for key, (expected, default, help_text) in schema.items():
        row = (f"`{key}`", _type_name(expected), _default(default), _cell(help_text))
        lines.append("| " + " | ".join(row) + " |")
    return [*lines, ""]


def config_reference() -> str:
    """Markdown: each table of the config file with every key's type, default and help."""
    lines = [
        "# Configuration reference",
        "",
        "Generated from the config schema (`aggregator/config/`) when the site is built.",
        "`aggregator config example` prints the full example file with longer",
        "explanations; `aggregator init` writes a starter. An unknown key or a value of the",
        "wrong type is an error naming the file and the key. Relative paths are relative",
        "to the config file's folder. Which file is read: see [Getting",
        "started](getting-started.md#which-config-file).",
        "",
    ]
    for table, schema in SCHEMA.items():
        lines += _table(f"[{table}]", schema)
    lines += _table(
        "[[sources]]", SOURCE_SCHEMA, "One table per source; `name` is required and unique."
    )
    lines += _table(
        "[[subscribers]]",
        SUBSCRIBER_SCHEMA,
        "One table per recipient of the daily digest (needs an `[email]` table).",
    )
    return "\n".join(lines).rstrip() + "\n"


def _commands(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name in sorted(group.commands):
        command = group.commands[name]
        path = f"{prefix} {name}"
        found.append((path, command))
        if isinstance(command, click.Group):
            found += _commands(command, path)
    return found


def cli_reference(main: click.Group) -> str:
    """Markdown: the ``--help`` of ``main`` and of every command and subcommand."""
    lines = [
        "# Command-line reference",
        "",
        "Generated from the commands themselves (click) when the site is built: each",
        "section is exactly what `--help` prints. Exit codes: 0 success, 1 a source or a",
        "delivery failed (the rest was done), 2 bad usage or configuration, 3 fatal (the",
        "database or output unusable), 4 another run held the lock, 130 interrupted.",
        "",
    ]
    for path, command in [("aggregator", main), *_commands(main, "aggregator")]:
        with click.Context(command, info_name=path, terminal_width=88) as ctx:
            text = command.get_help(ctx)
        lines += [f"## `{path}`", "", "```text", text.rstrip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"
