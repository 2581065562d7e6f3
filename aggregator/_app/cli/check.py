"""``aggregator check``: is the database sound, and if not, what to do.

Reads the database without changing it (``store.check``): SQLite's integrity check,
its foreign-key check and the schema version against this aggregator's. Prints what
it found and, for a damaged file, the exact commands that restore a backup or save
what can still be read into a new file. ``--repair`` tidies a restored or recovered
database. Exit codes: 0 sound (or only older, which ``run`` migrates); 2 no database
at the configured path; 3 damaged, inconsistent, or written by a newer aggregator.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from ...core import Aggregator, Inspection, system_clock
from ...errors import ConfigError
from .app import EXIT_FATAL, EXIT_OK, fail, main, settings_of


@main.command("check")
@click.option(
    "--quick",
    is_flag=True,
    help="Run SQLite's quick_check instead of the full integrity_check: every page is "
    "read, but indexes are not compared with their tables (much faster on big files).",
)
@click.option(
    "--repair",
    is_flag=True,
    help="After restoring a backup or recovering into a new file: delete rows that refer "
    "to entries lost with the damage, and have the next run read every source in full "
    "and rewrite every feed, the index page and every digest. Refuses a database that "
    "is still damaged.",
)
@click.pass_context
def check_command(ctx: click.Context, quick: bool, repair: bool) -> None:
    """Check the database: SQLite's integrity check, its foreign keys and the schema.

    Changes nothing (except with --repair). Says what to do when something is wrong.
    Exits 0 when the database is sound, 3 when it is damaged, inconsistent or written
    by a newer aggregator.
    """
    settings = settings_of(ctx)
    path = settings.storage.database
    if settings.storage.url is None and not path.exists():
        fail(
            ConfigError(
                f"no database at {path}",
                file=settings.origin,
                key="storage.database",
                hint="check the path; `aggregator run` creates the database on its first run",
            )
        )
    app = Aggregator(settings, clock=system_clock)
    found = app.inspect(quick=quick)
    command = _command_prefix(ctx)
    if repair and _usable(found):
        _repair(app, found)
        found = app.inspect(quick=quick)
    _report(found, command)
    if repair and not _usable(found):
        click.echo(
            "Not repaired: --repair only tidies a database that reads well;"
            " restore or recover it first (see above).",
            err=True,
        )
    sys.exit(EXIT_OK if _usable(found) and not found.orphans else EXIT_FATAL)


def _usable(found: Inspection) -> bool:
    newer = found.schema is not None and found.schema > found.known_schema
    return not found.damaged and not newer and not _foreign(found)


def _foreign(found: Inspection) -> bool:
    """Tables in the file but no aggregator schema: some other program's database."""
    return found.schema is None and found.size > 0 and not found.damaged


def _repair(app: Aggregator, found: Inspection) -> None:
    deleted = app.repair(found)
    click.echo(
        f"Repaired: deleted {deleted} rows that referred to lost rows. The next run reads"
        " every source in full (entries lost with the damage come back, as new) and"
        " rewrites every feed, the index page and every digest."
    )


def _report(found: Inspection, command: str) -> None:
    size = _size(found.size)
    known = found.known_schema
    schema = "no aggregator schema" if found.schema is None else f"schema {found.schema}"
    click.echo(f"Database: {found.path} ({size}, {schema}; this aggregator's: {known})")
    if found.unreadable is not None:
        click.echo(f"SQLite cannot read it: {found.unreadable}")
        click.echo("If [storage] database names the wrong file, fix the path.")
    else:
        name = found.check.replace("_", " ")
        if found.problems:
            where = ", ".join(found.damaged_tables) or "the file's structure"
            count = len(found.problems)
            problems = "1 problem" if count == 1 else f"{count} problems"
            click.echo(f"{name.capitalize()}: {problems}, in {where}:")
            for line in found.problems[:10]:
                click.echo(f"  {line}")
            if len(found.problems) > 10:
                click.echo(f"  ... and {len(found.problems) - 10} more")
        else:
            click.echo(f"{name.capitalize()}: ok")
        if found.orphans:
            click.echo("Foreign keys: rows that refer to rows that do not exist:")
            for orphan in found.orphans:
                click.echo(
                    f"  {orphan.rows} in {orphan.table} ({', '.join(orphan.columns)})"
                    f" -> {orphan.parent}"
                )
        else:
            click.echo("Foreign keys: ok")
    if found.damaged:
        click.echo("The database is damaged. " + _what_to_do(found, command))
    elif found.schema is not None and found.schema > known:
        click.echo(
            f"It was written by a newer aggregator (schema {found.schema}; this one knows up"
            f" to {known}): upgrade aggregator before using it (commands refuse it until then)."
        )
    elif _foreign(found):
        click.echo(
            "It is an SQLite database, but not aggregator's: check [storage] database"
            " (commands refuse it)."
        )
    elif found.orphans:
        click.echo(
            "The database reads well but some rows refer to rows that are gone (a recovered"
            f" or edited file). Fix: {command} check --repair"
        )
    elif found.schema is not None and found.schema < known:
        click.echo(
            f"The database is sound. Its schema is older ({found.schema}): the next"
            f" `aggregator run` upgrades it to {known}."
        )
    else:
        click.echo("The database is sound.")


def _what_to_do(found: Inspection, command: str) -> str:
    """The exact commands that restore a backup or save what can be read, as text."""
    path = found.path.resolve()
    db = shlex.quote(str(path))
    new = shlex.quote(str(path.with_name(f"{path.stem}.recovered{path.suffix}")))
    aside = shlex.quote(str(path.with_name(f"{path.name}.damaged")))
    # The write-ahead log and shared memory go with their file, never beside another.
    files = " ".join(shlex.quote(str(path.with_name(path.name + s))) for s in ("", "-wal", "-shm"))
    dump_fix = "'s/^ROLLBACK; -- due to errors$/COMMIT;/'"
    lines = [
        "What to do, with cron, the timer or `aggregator schedule` stopped:",
        "",
        '1. Restore the newest backup (see "Backing up the database" in the README):',
        f"     rm -f {db}-wal {db}-shm",
        f"     cp /path/to/backup.db {db}",
        "",
        "2. Or save what can still be read into a new file (entries on damaged pages are",
        "   lost; sources that still list them bring them back as new):",
        f"     sqlite3 {db} .recover | sqlite3 {new}",
        '   If sqlite3 says "SQL logic error" (some 3.40 builds), use .dump instead:',
        f"     rm -f {new}",
        f"     sqlite3 {db} .dump | sed {dump_fix} | sqlite3 {new}",
        "   Then put it in place, keeping the damaged file aside:",
        f"     mkdir -p {aside}",
        f'     for f in {files}; do [ -e "$f" ] && mv "$f" {aside}/; done',
        f"     mv {new} {db}",
        "",
        "Then, in both cases:",
        f"     {command} check --repair",
        f"     {command} run",
    ]
    return "\n".join(lines)


def _command_prefix(ctx: click.Context) -> str:
    """``aggregator`` with the --config this invocation was given, to copy and paste."""
    config = ctx.obj
    if isinstance(config, Path):
        return f"aggregator --config {shlex.quote(str(config.resolve()))}"
    return "aggregator"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    scaled = float(size)
    for unit in ("KB", "MB", "GB"):
        scaled /= 1024
        if scaled < 1024 or unit == "GB":
            break
    return f"{scaled:.1f} {unit}"
