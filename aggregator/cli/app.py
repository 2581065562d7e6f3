"""The ``aggregator`` click group and what every command shares.

Exit codes (documented in the README): 0 success; 1 one or more sources failed
(everything else was done); 2 bad usage or configuration; 3 a fatal error
(database or output not writable); 4 another run held the database's lock for longer
than ``[storage].lock_timeout``.
"""

from __future__ import annotations

import logging
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from .. import __version__
from ..config import Settings, load_config
from ..errors import AggregatorError, ConfigError

EXIT_OK = 0
EXIT_SOURCES_FAILED = 1
EXIT_CONFIG = 2
EXIT_FATAL = 3
EXIT_LOCKED = 4


def fail(err: AggregatorError, code: int) -> NoReturn:
    """Print the error as one line on stderr and exit with ``code``."""
    click.echo(f"error: {err.describe()}", err=True)
    sys.exit(code)


def settings_of(ctx: click.Context) -> Settings:
    """The validated settings for this invocation; a config error exits 2."""
    try:
        return load_config(ctx.obj)
    except ConfigError as err:
        fail(err, EXIT_CONFIG)


QUIET = click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Print only problems (failed sources, warnings, errors): for cron, which mails "
    "whatever a job prints.",
)

DATE = click.DateTime(formats=["%Y-%m-%d"])

VERBOSE_HELP = "Log what each stage does."


def _verbose(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    # The group's callback configured logging before a subcommand's options are read.
    if value:
        logging.getLogger().setLevel(logging.INFO)


class Command(click.Command):
    """A command that also takes ``--verbose``/``-v`` after its name.

    ``aggregator -v run`` and ``aggregator run -v`` mean the same; one option object,
    added here, so that no command can lack it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(
            click.Option(
                ["--verbose", "-v"],
                is_flag=True,
                expose_value=False,
                callback=_verbose,
                help=VERBOSE_HELP,
            )
        )


class Group(click.Group):
    """The command groups: their commands are :class:`Command`, their subgroups Groups."""

    command_class = Command
    group_class = type


def run_date_of(value: datetime | None) -> date | None:
    return value.date() if value else None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "-c",
    "config_path",
    metavar="FILE",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (TOML). Default: ./aggregator.toml if present, else the built-in "
    "sample configuration reading seeds/.",
)
@click.option("--verbose", "-v", is_flag=True, help=VERBOSE_HELP)
@click.version_option(__version__, prog_name="aggregator")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, verbose: bool) -> None:
    """Follow research and news without drowning in it.

    Reads the configured feeds and daily lists, stores each paper or article once,
    and publishes per-category Atom feeds and a daily digest under the output folder.
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = config_path
