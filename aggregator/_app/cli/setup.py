"""Getting started: ``aggregator init`` and ``aggregator config example|path``.

``init`` writes the starter config (the common keys, commented) and a sample source
beside it; ``config example`` prints the full example shipped in the package;
``config path`` says which config an invocation would use. Never overwrites a file
that exists, and never reads the network or the database.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import click

from ..._common import resources
from ...config.locate import DEFAULT_CONFIG_NAME, ENV_VAR
from ...config.settings import load_config
from ...errors import ConfigError
from .app import EXIT_CONFIG, config_location, fail, main

#: Where ``init`` puts the sample daily list, relative to the new config's folder
#: (the starter config's sample source reads it from there).
SAMPLE = Path("samples") / "arxiv-daily-2026-01-14.md"


@main.command("init")
@click.argument(
    "directory",
    required=False,
    default=".",
    type=click.Path(path_type=Path, file_okay=False),
)
@click.option("--force", is_flag=True, help="Replace an existing aggregator.toml.")
def init_command(directory: Path, force: bool) -> None:
    """Write a commented aggregator.toml (and a sample source) into DIRECTORY.

    DIRECTORY (default: the current folder) is created if needed. The config holds
    the keys most people change; `aggregator config example` prints every key. The
    database and the output are written beside the config. Refuses to replace an
    existing aggregator.toml unless --force.
    """
    config = directory / DEFAULT_CONFIG_NAME
    if config.exists() and not force:
        fail(
            ConfigError(
                "already exists; nothing was written",
                file=str(config),
                hint="edit it, or use --force to replace it with the starter config",
            ),
            EXIT_CONFIG,
        )
    text = resources.starter_config().read_text(encoding="utf-8")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        sample = directory / SAMPLE
        if not sample.exists():
            sample.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(resources.sample_daily_list(), sample)
        _write(config, text)
    except OSError as err:
        fail(ConfigError(f"cannot write: {err}", file=str(config)), EXIT_CONFIG)
    # The starter must load as written; a broken one is a bug, said plainly here.
    load_config(config)
    shown = config if config.is_absolute() else Path(os.curdir) / config
    click.echo(f"Wrote {shown} and the sample source {directory / SAMPLE}.")
    click.echo("Next:")
    click.echo(f"  1. Edit {shown}: [publish] base_url, [digest] timezone, your sources")
    click.echo(f"     (or `aggregator --config {shown} sources add NAME URL`).")
    click.echo("  2. Run `aggregator run` in that folder (or with --config); it writes")
    click.echo("     the database and public/ beside the config.")
    click.echo("  3. `aggregator config example` shows every other key.")


def _write(path: Path, text: str) -> None:
    """Write ``path`` atomically (a temporary file renamed over it)."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@main.group("config")
def config_group() -> None:
    """Show the example configuration and which config file is used."""


@config_group.command("example")
def example_command() -> None:
    """Print the full example config: every key, its default and what it does.

    Save it as aggregator.toml to start from everything:
    `aggregator config example > aggregator.toml`.
    """
    click.echo(resources.example_config().read_text(encoding="utf-8"), nl=False)


@config_group.command("path")
@click.pass_context
def path_command(ctx: click.Context) -> None:
    """Print the config file this invocation uses, and which rule found it.

    The order: --config, then $AGGREGATOR_CONFIG, then ./aggregator.toml, then
    $XDG_CONFIG_HOME/aggregator/aggregator.toml (default ~/.config/aggregator/...),
    then the embedded default. Exits 2 when a named file does not exist.
    """
    where = config_location(ctx)
    if where.path is None:
        click.echo(f"embedded default (no --config, ${ENV_VAR} or aggregator.toml found)")
        return
    click.echo(f"{where.path.resolve()} (from {where.found_by})")
    if not where.path.is_file():
        fail(ConfigError("no such file", file=str(where.path)), EXIT_CONFIG)
