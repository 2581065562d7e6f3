"""The ``aggregator`` click group and what every command shares.

Exit codes (documented in the README): 0 success; 1 one or more sources failed
(everything else was done); 2 bad usage or configuration; 3 a fatal error (the
database damaged or not usable, the output not writable); 4 another run held the
database's lock for longer than ``[storage].lock_timeout``; 130 interrupted (Ctrl-C).

Errors become exit codes in one place: :class:`AggregatorGroup` turns any
:class:`AggregatorError` a command lets through into one line on standard error and
the code :data:`EXIT_CODES` gives its class, and Ctrl-C into 130, never a traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from ..._common.version import __version__
from ...config.locate import Location, locate
from ...config.settings import Settings, load_config
from ...errors import (
    AggregatorError,
    ConfigError,
    LinkNotFoundError,
    LockedError,
    SearchError,
)

EXIT_OK = 0
EXIT_SOURCES_FAILED = 1
EXIT_CONFIG = 2
EXIT_FATAL = 3
EXIT_LOCKED = 4
#: 128 + SIGINT, as shells report a command stopped by Ctrl-C.
EXIT_INTERRUPTED = 130

#: The exit code of each error class; the first entry the error is an instance of wins.
EXIT_CODES: tuple[tuple[type[AggregatorError], int], ...] = (
    (LockedError, EXIT_LOCKED),
    (ConfigError, EXIT_CONFIG),
    (LinkNotFoundError, EXIT_CONFIG),
    (SearchError, EXIT_CONFIG),
    (AggregatorError, EXIT_FATAL),
)

log = logging.getLogger(__name__)


def exit_code_of(err: AggregatorError) -> int:
    return next(code for kind, code in EXIT_CODES if isinstance(err, kind))


def fail(err: AggregatorError, code: int | None = None) -> NoReturn:
    """Print the error as one line on stderr and exit with ``code`` (default: its class's)."""
    click.echo(f"error: {err.describe()}", err=True)
    # With -v, the chain of causes (the sqlite3 or OS error) for a bug report.
    log.info("details of the error above", exc_info=err)
    sys.exit(exit_code_of(err) if code is None else code)


def settings_of(ctx: click.Context) -> Settings:
    """The validated settings for this invocation, read once; a config error exits 2."""
    root = ctx.find_root()
    settings: Settings | None = root.meta.get(_SETTINGS)
    if settings is None:
        try:
            settings = load_config(root.obj)
        except ConfigError as err:
            fail(err, EXIT_CONFIG)
        root.meta[_SETTINGS] = settings
    return settings


#: Where an invocation keeps its settings (click's per-invocation scratch space).
_SETTINGS = "aggregator.settings"


def config_location(ctx: click.Context) -> Location:
    """Which config file this invocation uses (or would create), and why."""
    try:
        home = Path.home()
    except RuntimeError:
        home = Path.cwd()
    return locate(ctx.find_root().obj, cwd=Path.cwd(), environ=os.environ, home=home)


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


class AggregatorGroup(Group):
    """The root group: maps what escapes a command to one line and an exit code.

    (Its subgroups are of its class too, see :class:`Group`: the innermost one maps.)
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AggregatorError as err:
            fail(err)
        except KeyboardInterrupt:
            # Whatever was being written was rolled back or left for the next run to
            # finish (see pipeline.run); say so in one line instead of click's "Aborted!".
            after_caret = "\n" if sys.stderr.isatty() else ""  # the terminal echoed ^C
            click.echo(
                f"{after_caret}interrupted (Ctrl-C): nothing half-done was kept;"
                " the next run finishes the rest",
                err=True,
            )
            sys.exit(EXIT_INTERRUPTED)


def run_date_of(value: datetime | None) -> date | None:
    return value.date() if value else None


@click.group(cls=AggregatorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "-c",
    "config_path",
    metavar="FILE",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (TOML). Default: $AGGREGATOR_CONFIG, else ./aggregator.toml, else "
    "$XDG_CONFIG_HOME/aggregator/aggregator.toml (~/.config/...), else the built-in "
    "sample configuration. `aggregator status` says which one is used.",
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
