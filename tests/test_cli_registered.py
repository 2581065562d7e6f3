"""Every registered command (whichever module registers it) has help for each option."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from aggregator._app.cli import main


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_registered_command_and_option_has_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert main.commands[command].help
    for param in main.commands[command].params:
        if isinstance(param, click.Argument):
            # Arguments have no help of their own: the command's text names them.
            assert param.human_readable_name in result.output, f"{command} {param.name}"
        elif param.name != "help":
            assert getattr(param, "help", None), f"{command} --{param.name} has no help"


def test_the_unattended_commands_are_registered() -> None:
    assert {"schedule", "serve"} <= set(main.commands)
    run_options = {p.name for p in main.commands["run"].params}
    assert "quiet" in run_options
