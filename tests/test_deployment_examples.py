"""The deployment examples in config/ use commands, options and schedules that exist."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import pytest
from conftest import ROOT

from aggregator._app.cli import main
from aggregator._app.cron import cron_trigger

CONFIG = ROOT / "config"


def aggregator_args(command_line: str) -> list[str]:
    words = shlex.split(command_line)
    start = next(i for i, word in enumerate(words) if word.endswith("/aggregator"))
    return words[start + 1 :]


def check_invocation(args: list[str]) -> None:
    """Parse ``args`` with the real CLI, as far as click goes without running it."""
    assert args[:1] == ["--config"], "examples name their config explicitly"
    name, *rest = args[2:]
    command = main.commands[name]
    assert isinstance(command, click.Command)
    command.make_context(name, rest)  # raises on an unknown option or a bad value


def crontab_lines() -> list[str]:
    text = (CONFIG / "crontab.example").read_text()
    return [
        line.strip().lstrip("# ").strip()
        for line in text.splitlines()
        if "aggregator " in line and line.strip().lstrip("# ")[:1].isdigit()
    ]


def test_the_crontab_example_is_valid() -> None:
    lines = crontab_lines()
    assert len(lines) == 2
    for line in lines:
        fields = line.split()
        cron_trigger(" ".join(fields[:5]), "Europe/Berlin")
        check_invocation(aggregator_args(" ".join(fields[5:])))


@pytest.mark.parametrize(
    "unit", sorted((CONFIG / "systemd").glob("*.service")), ids=lambda p: p.name
)
def test_the_systemd_units_run_real_commands(unit: Path) -> None:
    (exec_start,) = [
        line.split("=", 1)[1]
        for line in unit.read_text().splitlines()
        if line.startswith("ExecStart=")
    ]
    check_invocation(aggregator_args(exec_start))


def test_the_timer_starts_the_run_service() -> None:
    timer = (CONFIG / "systemd" / "aggregator-run.timer").read_text()
    assert "OnCalendar=" in timer and "Persistent=yes" in timer
    assert (CONFIG / "systemd" / "aggregator-run.service").is_file()
