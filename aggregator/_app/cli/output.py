"""Printing for people: the one place where text from feeds and the database meets the
terminal, and how it is laid out to fit one.

Every value that came from outside (a source name, a category, an error message, a
title, a server's reply) is passed through :func:`clean` (``safety.one_line``) by the
helpers here, so a category ``evil\\r\\nBcc: victim@example.org`` or an escape sequence
cannot forge a line or drive the terminal. The layout never cuts or folds a word:
columns that do not fit put the first cell on a line of its own, and long notes wrap
at spaces (a path or URL longer than the line stays whole).

Owns no decisions about what to print; the commands do that.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import click
from rich.cells import cell_len

from ..._common.safety import one_line

#: Width used off a terminal (pipes, cron mail) unless COLUMNS says otherwise.
DEFAULT_WIDTH = 80
#: Space between two columns.
GAP = "  "


def clean(value: object) -> str:
    """``value`` as text for one line of the terminal (see ``safety.one_line``)."""
    return one_line(str(value)) if value is not None else ""


def width() -> int:
    """The terminal's width; ``COLUMNS`` when set; else :data:`DEFAULT_WIDTH`."""
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def echo(text: str = "", *, err: bool = False) -> None:
    """Print one line we composed (its untrusted parts already went through :func:`clean`)."""
    click.echo(text, err=err)


def fields(template: str, *, err: bool = False, **values: object) -> None:
    """Print ``template`` with each ``{name}`` replaced by the cleaned ``values[name]``."""
    click.echo(template.format(**{name: clean(value) for name, value in values.items()}), err=err)


def paragraph(template: str, *, err: bool = False, **values: object) -> None:
    """:func:`fields`, wrapped to the line width (later lines indented by two)."""
    text = template.format(**{name: clean(value) for name, value in values.items()})
    for line in wrap(text, indent=2, first=0):
        click.echo(line, err=err)


@dataclass(frozen=True)
class Cell:
    """A table cell with a click style (colour, bold) applied after it is padded."""

    text: str
    fg: str | None = None
    bold: bool = False


def _cell(value: object) -> Cell:
    return (
        Cell(clean(value.text), value.fg, value.bold)
        if isinstance(value, Cell)
        else Cell(clean(value))
    )


def _pad(cell: Cell, size: int) -> str:
    # Styled after padding, and the padding left outside the style, so that a line's
    # trailing spaces can be stripped whether or not the terminal shows colours.
    padding = " " * max(size - cell_len(cell.text), 0)
    if cell.fg or cell.bold:
        return click.style(cell.text, fg=cell.fg, bold=cell.bold) + padding
    return cell.text + padding


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    indent: int = 2,
    line_width: int | None = None,
) -> list[list[str]]:
    """``rows`` as aligned columns under ``headers``, every cell cleaned: the header's
    lines, then each row's (one line, or two for a long name).

    The other columns take the room they need and the first one (a name) what is
    left; a name longer than that gets a line of its own, with the rest of its row
    on the next line, so no cell is ever cut or folded.
    """
    size = line_width or width()
    cells = [[_cell(value) for value in row] for row in rows]
    head = [Cell(h, bold=True) for h in headers]
    widths = [max(cell_len(row[i].text) for row in [head, *cells]) for i in range(len(headers))]
    rest = sum(widths[1:]) + len(GAP) * (len(headers) - 1)
    first = max(min(widths[0], size - indent - rest), cell_len(headers[0]))
    margin = " " * indent
    blocks = []
    for row in [head, *cells]:
        others = GAP.join(_pad(cell, widths[i + 1]) for i, cell in enumerate(row[1:]))
        if cell_len(row[0].text) > first:
            lines = [margin + _pad(row[0], 0), margin + " " * first + GAP + others]
        else:
            lines = [margin + _pad(row[0], first) + GAP + others]
        blocks.append([line.rstrip() for line in lines])
    return blocks


#: A time as :class:`Times` writes it, which a line must not break inside.
_TIME_RE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d(?: \((?:just now|in [^()]*|[^()]* ago)\))?")
#: Stands for a space that must not break while wrapping: :func:`clean` removed every
#: control character from the text, so it cannot occur there.
_KEEP = "\x00"


def wrap(
    text: str, *, indent: int = 4, first: int | None = None, line_width: int | None = None
) -> list[str]:
    """``text`` (cleaned) wrapped at spaces to the line width, each line indented by
    ``indent`` spaces (the first by ``first``, when given); a time stays on one line."""
    kept = _TIME_RE.sub(lambda m: m.group().replace(" ", _KEEP), clean(text))
    lines = textwrap.wrap(
        kept,
        width=max(line_width or width(), indent + 20),
        initial_indent=" " * (indent if first is None else first),
        subsequent_indent=" " * indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [line.replace(_KEEP, " ") for line in lines]


# Characters JSON may carry raw inside strings that a terminal acts on or that reorder
# text: C1 controls (0x9b is CSI) and the bidirectional overrides.
_JSON_UNSAFE_RE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def json_text(value: object) -> str:
    """``value`` as indented JSON, exact for scripts and safe on a terminal: every
    control character is escaped (``\\u009b``), which parses back to the same string."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return _JSON_UNSAFE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class Times:
    """Times as people read them: local (``[digest].timezone``) to the minute, with how
    long ago (or from now) where that helps: ``2026-12-04 09:15 (3 h ago)``."""

    def __init__(self, timezone: str, now: datetime) -> None:
        self.zone = ZoneInfo(timezone)
        self.timezone = timezone
        self.now = now

    def at(self, moment: datetime | str | None, *, relative: bool = True) -> str:
        """``moment`` (aware, or a stored ISO string) in the local zone; "never" for None."""
        if moment is None or moment == "":
            return "never"
        when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        text = when.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")
        return f"{text} ({self.ago(when)})" if relative else text

    def ago(self, moment: datetime | str | None) -> str:
        """How long before (or after) now ``moment`` is: "3 h ago", "in 20 min", "never"."""
        if moment is None or moment == "":
            return "never"
        when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        delta = self.now - when
        future = delta < timedelta(0)
        seconds = abs(delta.total_seconds())
        if seconds < 60:
            return "just now"
        if seconds < 3600:
            amount = f"{int(seconds // 60)} min"
        elif seconds < 48 * 3600:
            amount = f"{int(seconds // 3600)} h"
        else:
            amount = f"{int(seconds // 86400)} days"
        return f"in {amount}" if future else f"{amount} ago"
