"""How arXiv announced a paper in each category it is listed in. Pure.

Shared by the feed reader and the listing page reader (which the feed reader hands a
listing page to), so that neither imports the other for it.
"""

from __future__ import annotations

ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")


def listed_in(subject: str, followed: tuple[str, ...]) -> bool:
    """Whether a paper in ``subject`` appears in a feed following ``followed``."""
    return any(subject == f or subject.startswith(f + ".") for f in followed)


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
