"""Words for counts in messages people read: "1 category", "2 categories".

One helper for the command line, notes and the digest templates, so that no message
says "1 categories" or hedges with "source(s)". Pure; English only.
"""

from __future__ import annotations

#: Plurals that are not the word plus "s".
_IRREGULAR = {
    "entry": "entries",
    "category": "categories",
    "copy": "copies",
    "reply": "replies",
    "delivery": "deliveries",
}


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` and ``word``, in the plural unless ``count`` is 1: ``plural(2, "entry")``
    is "2 entries". ``many`` gives a plural the table does not know."""
    if count == 1:
        return f"{count} {word}"
    return f"{count} {many or _IRREGULAR.get(word, word + 's')}"
