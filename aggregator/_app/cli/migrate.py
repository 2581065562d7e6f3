"""``aggregator migrate``: copy a SQLite database into PostgreSQL.

Parses the two locations and reports the rows copied per table; the facade's
``migrate_database`` holds both run locks and copies.
"""

from __future__ import annotations

from pathlib import Path

import click

from ...config.settings import StorageSettings, check_postgres_url
from ...core import migrate_database
from ...errors import ConfigError
from .app import main
from .output import echo


@main.command("migrate")
@click.option(
    "--from",
    "source",
    required=True,
    metavar="sqlite:PATH",
    help="The SQLite database to copy, as sqlite:PATH (e.g. sqlite:aggregator.db).",
)
@click.option(
    "--to",
    "target",
    required=True,
    metavar="postgresql://USER@HOST:PORT/DB",
    help="The PostgreSQL database to copy into (created beforehand, empty). No password "
    "in the URL: use --password-env, PGPASSWORD or ~/.pgpass.",
)
@click.option(
    "--password-env",
    metavar="NAME",
    help="The environment variable holding the PostgreSQL password.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace everything in a target that already holds entries or runs.",
)
def migrate_command(source: str, target: str, password_env: str | None, force: bool) -> None:
    """Copy every table of a SQLite database into PostgreSQL, in one transaction.

    Both schemas are brought to this version first; the rows are copied in batches,
    parents first, and each table's count is checked before anything is committed.
    Then set [storage] url to the target (and remove database). Both run locks are
    held meanwhile, so no run changes either database during the copy.
    """
    if not source.startswith("sqlite:"):
        raise ConfigError(f"--from {source!r}: write it as sqlite:PATH")
    path = Path(source.removeprefix("sqlite:")).expanduser()
    check_postgres_url(target, file="--to", key="url")
    settings = StorageSettings(database=path, url=target, password_env=password_env)
    counts = migrate_database(
        path, settings, force=force, progress=lambda t, n: echo(f"  {t}: {n} rows")
    )
    echo(
        f"Copied {sum(counts.values())} rows of {len(counts)} tables from {path} to {target}"
        f' ({counts["entries"]} entries). Now set [storage] url = "{target}".'
    )
