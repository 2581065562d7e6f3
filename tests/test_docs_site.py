"""The docs site: generated reference pages cover every key and command, and the
site builds in MkDocs' strict mode (where the `docs` extra is installed)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import click
import pytest
from conftest import ROOT

from aggregator._app.cli import main
from aggregator._app.reference import cli_reference, config_reference
from aggregator.config.mail import SUBSCRIBER_SCHEMA
from aggregator.config.settings import SCHEMA, SOURCE_SCHEMA


def test_the_configuration_reference_has_every_key_with_its_help() -> None:
    page = config_reference()
    for table, schema in [*SCHEMA.items(), ("[sources]", SOURCE_SCHEMA)]:
        assert f"## `[{table}]`" in page
        section = page.split(f"## `[{table}]`", 1)[1].split("\n## ", 1)[0]
        for key, (_type, _default, help_text) in schema.items():
            assert f"| `{key}` |" in section, f"{table}.{key}"
            assert help_text.replace("|", "\\|") in section
    for key in SUBSCRIBER_SCHEMA:
        assert f"| `{key}` |" in page.split("## `[[subscribers]]`", 1)[1]


def walk(group: click.Group, prefix: str) -> list[str]:
    found = []
    for name, command in group.commands.items():
        found.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            found += walk(command, f"{prefix} {name}")
    return found


def test_the_cli_reference_has_every_command_and_option() -> None:
    page = cli_reference(main)
    for path in walk(main, "aggregator"):
        assert f"## `{path}`" in page, path
        assert f"Usage: {path} [OPTIONS]" in page, path
    assert "--trust-from" in page and "AGGREGATOR_CONFIG" in page


@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None, reason="the docs extra is not installed"
)
def test_the_site_builds_without_warnings(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr
    for page in ("configuration", "cli", "getting-started", "operations", "architecture"):
        assert (tmp_path / page / "index.html").is_file(), page
    assert "lock_timeout" in (tmp_path / "configuration" / "index.html").read_text()
