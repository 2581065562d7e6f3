"""Matching words and names in text, as readers expect: case, width and accents ignored.

Owns keyword matching (at the start of a word; anywhere in scripts written without
spaces) and author-name matching ("Ada Lovelace", "Lovelace, Ada" and "A. Lovelace"
name the same person). Pure.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

# Scripts written without spaces between words: a keyword in them matches anywhere.
_UNSPACED = re.compile(
    "[\u2e80-\u2fdf\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f]"
)


def fold(text: str) -> str:
    """NFKC, then case-folded: full-width "ＬＬＭ" and half-width katakana match their
    usual forms."""
    return unicodedata.normalize("NFKC", text).casefold()


@cache
def keyword_pattern(keyword: str) -> re.Pattern[str]:
    """The pattern of ``keyword`` in :func:`fold`-ed text."""
    folded = re.escape(fold(keyword.strip()))
    if _UNSPACED.search(keyword):
        return re.compile(folded)
    # At the start of a word: "LLM" finds "LLMs" and "multi-LLM", not "ALLMAN".
    return re.compile(rf"(?<!\w){folded}")


def matching_keywords(folded_text: str, keywords: tuple[str, ...]) -> list[str]:
    """The ``keywords`` that occur in ``folded_text`` (already :func:`fold`-ed), in order."""
    return [keyword for keyword in keywords if keyword_pattern(keyword).search(folded_text)]


@cache
def name_parts(name: str) -> tuple[tuple[str, ...], str]:
    """(given names, family name) of ``name``: accents, case and dots dropped;
    "Family, Given" understood."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    if "," in text:
        family, _, given = text.partition(",")
        text = f"{given} {family}"
    tokens = [t for t in re.split(r"[\s.]+", re.sub(r"[^\w\s.\-']", " ", text)) if t]
    if not tokens:
        return (), ""
    return tuple(tokens[:-1]), tokens[-1]


def same_author(followed: str, author: str) -> bool:
    """Whether ``author`` (as an entry gives it) is ``followed`` (as a reader wrote it).

    The family names must be equal; given names, when both have them, must agree
    (an initial agrees with any name it starts).
    """
    given_a, family_a = name_parts(followed)
    given_b, family_b = name_parts(author)
    if not family_a or family_a != family_b:
        return False
    if not given_a or not given_b:
        return True
    first_a, first_b = given_a[0], given_b[0]
    if len(first_a) == 1 or len(first_b) == 1:
        return first_a[0] == first_b[0]
    return first_a == first_b
