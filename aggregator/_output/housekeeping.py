"""Housekeeping of the output folder: what a crash or a retention prune leaves behind.

Owns deciding the retention cutoff (pure), removing the temporary files an interrupted
write left in the output folder, and removing the digest folders of pruned days and the
archive pages of days no longer in a feed. Never
touches the database (the store prunes rows) and never writes files (``publish`` does).
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Collection
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ..errors import PublishError

log = logging.getLogger(__name__)

#: Names ``publish.write_atomic`` gives its temporary files.
TEMP_PATTERN = ".*.tmp"


def cutoff(now: datetime, keep_days: int) -> datetime | None:
    """The instant before which unchanged entries are pruned; None keeps everything."""
    if keep_days <= 0:
        return None
    return now - timedelta(days=keep_days)


def cutoff_day(instant: datetime, timezone: str) -> date:
    """The first digest day kept when entries before ``instant`` are pruned."""
    return instant.astimezone(ZoneInfo(timezone)).date()


def remove_temp_files(output_dir: Path) -> list[Path]:
    """Remove temporary files an interrupted atomic write left in ``output_dir``.

    Only safe while holding the run lock (no other writer is running). Returns what
    was removed.
    """
    removed: list[Path] = []
    if not output_dir.is_dir():
        return removed
    for path in sorted(output_dir.rglob(TEMP_PATTERN)):
        if path.is_file() and not path.is_symlink():
            try:
                path.unlink()
            except OSError as err:
                raise PublishError(
                    f"cannot remove the leftover temporary file {path}: {err.strerror or err}",
                    hint="check the output folder is writable",
                ) from err
            removed.append(path)
            log.info("removed %s, left by an interrupted run", path)
    return removed


def digest_folders(folder: Path) -> set[date]:
    """The days that have a ``<YYYY-MM-DD>/`` folder in the digests ``folder``."""
    if not folder.is_dir():
        return set()
    found = set()
    for child in folder.iterdir():
        try:
            day = date.fromisoformat(child.name)
        except ValueError:
            continue  # not ours
        if child.is_dir():
            found.add(day)
    return found


def remove_digests_before(output_dir: Path, day: date, *, keep: Collection[date]) -> list[date]:
    """Remove ``digests/<YYYY-MM-DD>/`` folders of days before ``day``; return their days.

    Days in ``keep`` (those that still have entries, such as an old daily list
    fetched late) stay.
    """
    folder = output_dir / "digests"
    removed: list[date] = []
    if not folder.is_dir():
        return removed
    for child in sorted(folder.iterdir()):
        try:
            child_day = date.fromisoformat(child.name)
        except ValueError:
            continue  # not ours: leave anything else alone
        if child_day >= day or child_day in keep or not child.is_dir() or child.is_symlink():
            continue
        try:
            shutil.rmtree(child)
        except OSError as err:
            raise PublishError(
                f"cannot remove the pruned digest {child}: {err.strerror or err}",
                hint="check the output folder is writable",
            ) from err
        removed.append(child_day)
    return removed


#: The names of archive pages (see ``archives.Page.filename``).
_ARCHIVE_PAGE = re.compile(r"^\d{4}-\d{2}-\d{2}(\.\d+)?\.atom$")


def remove_archive_pages(folder: Path, *, keep: Collection[str]) -> list[Path]:
    """Remove the archive pages in ``folder`` not named in ``keep`` (their day was
    pruned, or is now cut into fewer pages); anything else there is left alone."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for path in sorted(folder.iterdir()):
        if path.name in keep or not _ARCHIVE_PAGE.match(path.name) or not path.is_file():
            continue
        try:
            path.unlink()
        except OSError as err:
            raise PublishError(
                f"cannot remove the archive page {path}: {err.strerror or err}",
                hint="check the output folder is writable",
            ) from err
        removed.append(path)
        log.info("removed %s: no longer an archive page of its feed", path)
    return removed
