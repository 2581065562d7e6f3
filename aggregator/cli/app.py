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
from typing import NoReturn

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


def run_date_of(value: datetime | None) -> date | None:
    return value.date() if value else None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "-c",
    "config_path",
    metavar="FILE",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (TOML). Default: ./aggregator.toml if present, else the built-in "
    "sample configuration reading seeds/.",
)
@click.option("--verbose", "-v", is_flag=True, help="Log what each stage does.")
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
