"""How arXiv announced a paper in each category it is listed in, and which those are. Pure.

Shared by the feed reader, the listing page reader (which the feed reader hands a
listing page to) and the export API reader, so that none imports another for it. Also
words the count of papers left out for being in none of the followed categories, for
the run's and the backfill's source lines.
"""

from __future__ import annotations

from collections.abc import Sequence

ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")


def listed_in(subject: str, followed: tuple[str, ...]) -> bool:
    """Whether a paper in ``subject`` appears in a feed following ``followed``."""
    return any(subject == f or subject.startswith(f + ".") for f in followed)


def listed_under(subjects: Sequence[str], followed: tuple[str, ...]) -> tuple[str, ...]:
    """The categories a paper in ``subjects`` is filed under: the followed ones it is in,
    and only those (none: it is left out). With none followed, its primary (first) one."""
    if not followed:
        return tuple(subjects[:1])
    return tuple(s for s in subjects if listed_in(s, followed))


def announce_per_category(
    announce_type: str | None,
    *,
    listed: tuple[str, ...],
    primary: str | None,
) -> tuple[tuple[str, str], ...]:
    """The announce type of each listed category, as arXiv's listing pages show it."""
    if announce_type not in ANNOUNCE_TYPES:
        return tuple((c, announce_type or "new") for c in listed)
    replaced = announce_type.startswith("replace")
    if primary is None:
        return tuple((c, announce_type) for c in listed)
    pairs = []
    for category in listed:
        if category == primary:
            pairs.append((category, "replace" if replaced else "new"))
        else:
            pairs.append((category, "replace-cross" if replaced else "cross"))
    return tuple(pairs)


def left_out_note(count: int, followed: tuple[str, ...]) -> str:
    """``"; 3 papers outside cs.LG left out"`` for a source line ("" for none)."""
    if not count:
        return ""
    where = ", ".join(followed) if followed else "the followed categories"
    return f"; {count} paper{'s' if count != 1 else ''} outside {where} left out"
