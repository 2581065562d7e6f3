"""The offline summariser: a TL;DR and three sections picked from the abstract itself.

Pure and deterministic: the same text always gives the same summary, so nothing is
stored (computing one costs less than looking it up; see ``benchmarks/summaries.py``).
Sentences are sorted into Background (what is known or missing), Innovation (what
this work does: "we propose", "this paper", "本文提出") and Conclusion (what it found:
"results show", "outperforms"); the TL;DR is the first Innovation sentence, shortened
at a word boundary. Nothing is written that the abstract does not say.
"""

from __future__ import annotations

import itertools
import re

from ..._update.normalize import html_to_text
from ...types import Summary

#: Bumped whenever the rules below change what they pick (part of the output's
#: fingerprint, so published files follow).
EXTRACTIVE_VERSION = 1
TLDR_CHARS = 240
SECTION_CHARS = 420
#: Abstracts shorter than this have nothing to summarise: the TL;DR is the text.
_MIN_CHARS = 40

# A sentence ends at . ! ? (and their CJK forms) before white space and a capital,
# digit, quote or bracket; a CJK full stop ends one whatever follows.
_END_RE = re.compile(r"[.!?](?=\s+[\"'(\[A-Z0-9\u00c0-\u024f])|[。！？]")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ABBREVIATIONS = _words(
    "e.g i.e al etc cf vs fig figs eq eqs sec ref refs approx resp no dr prof mr ms st"
)
_WORD_RE = re.compile(r"[a-z]+(?:-[a-z]+)*")

# Cues, matched on a sentence's lower-case words and word pairs (a set lookup each:
# one regex of alternatives over the whole text cost 0.4 ms per abstract).
_WE_DO = _words(
    "propose introduce present develop design describe construct formulate derive prove"
    " establish study investigate analyze analyse report build train release extend"
    " provide offer revisit leverage"
)
_THIS_WORK = _words("paper work article study note letter thesis")
_OUR_THING = _words("method approach model framework algorithm system")
_INNOVATION_PAIRS = frozenset(
    {("we", verb) for verb in _WE_DO}
    | {(this, work) for this in ("this", "present") for work in _THIS_WORK}
    | {("our", thing) for thing in _OUR_THING}
)
_INNOVATION_CJK = ("本文", "我们提出", "提出了", "本研究", "本論文", "我々は", "本稿")
_CONCLUSION_STEMS = (
    "result", "experiment", "evaluation", "simulation", "demonstrat", "outperform", "achiev",
    "improv", "surpass", "reduc", "suggest", "confirm", "indicat", "yield", "reveal",
    "state-of-the-art", "finally", "overall",
)  # fmt: skip
_CONCLUSION_PAIRS = frozenset(
    {("we", verb) for verb in ("find", "found", "show", "demonstrate", "observe")}
    | {(verb, "that") for verb in ("show", "shows", "showed", "shown")}
    | {("in", "conclusion")}
)
_CONCLUSION_CJK = ("结果表明", "实验表明", "表明", "优于", "実験", "結果")
_AVAILABLE_RE = re.compile(
    r"\b(?:code|data|dataset|implementation|models?)\b[^.]{0,60}\b(?:is|are)\s+"
    r"(?:publicly\s+)?(?:available|released)\b"
)


class _Sentence:
    """A sentence with its lower-case words and word pairs, looked at once."""

    __slots__ = ("conclusion", "innovation", "noise", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        lower = text.lower()
        words = _WORD_RE.findall(lower)
        pairs = set(itertools.pairwise(words))
        cjk = not text.isascii()
        self.innovation = bool(pairs & _INNOVATION_PAIRS) or (
            cjk and any(cue in text for cue in _INNOVATION_CJK)
        )
        self.conclusion = (
            any(stem in lower for stem in _CONCLUSION_STEMS)
            or bool(pairs & _CONCLUSION_PAIRS)
            or (cjk and any(cue in text for cue in _CONCLUSION_CJK))
        )
        # Housekeeping says nothing about the work: code and data, links, venues.
        self.noise = (
            "http" in lower
            or "github" in lower
            or lower.startswith("comment")
            or ("accepted" in lower and _has_pair(pairs, "accepted", ("at", "to", "by", "for")))
            or (("available" in lower or "released" in lower) and bool(_AVAILABLE_RE.search(lower)))
        )


def _has_pair(pairs: set[tuple[str, str]], first: str, seconds: tuple[str, ...]) -> bool:
    return any((first, second) in pairs for second in seconds)


def sentences(text: str) -> list[str]:
    """``text`` cut into sentences; abbreviations (e.g., et al., Fig.) do not end one."""
    out: list[str] = []
    start = 0
    pieces = []
    for match in _END_RE.finditer(text):
        pieces.append(text[start : match.end()])
        start = match.end()
    pieces.append(text[start:])
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        if out and _continues(out[-1]):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def _continues(sentence: str) -> bool:
    """Whether ``sentence`` stopped at an abbreviation or an initial, not at its end."""
    if not sentence.endswith("."):
        return False
    word = sentence.rsplit(None, 1)[-1].lstrip("([\"'").rstrip(".").lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def shorten(text: str, limit: int) -> str:
    """``text`` cut at the last word boundary before ``limit`` characters, with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def _join(picked: list[str], limit: int) -> str:
    text = ""
    for sentence in picked:
        candidate = f"{text} {sentence}".strip()
        if text and len(candidate) > limit:
            break
        text = candidate
    return shorten(text, limit)


def summarise(text: str | None) -> Summary | None:
    """The extractive summary of an abstract (HTML or text), or ``None`` when empty."""
    plain = " ".join(html_to_text(text).split()) if text else ""
    if not plain:
        return None
    if len(plain) < _MIN_CHARS:
        return Summary(tldr=plain)
    found = [s for s in map(_Sentence, sentences(plain)) if not s.noise] or [_Sentence(plain)]
    first = next((i for i, s in enumerate(found) if s.innovation), None)
    if first is None:
        # No sentence says "we ...": the first for context, the rest in order.
        background, after = found[:1], found[1:]
        innovation = [s for s in after if not s.conclusion][:2]
    else:
        background, after = found[:first], found[first:]
        innovation = [after[0], *(s for s in after[1:2] if not s.conclusion)]
    rest = [s for s in after if s not in innovation]
    conclusion = [s for s in rest if s.conclusion] or rest[-1:]
    lead = (innovation or conclusion or background)[0]
    # The sections tell the rest: the TL;DR's sentence is not repeated in them.
    background, innovation, conclusion = (
        [s for s in part if s is not lead] for part in (background, innovation, conclusion)
    )
    return Summary(
        tldr=shorten(lead.text, TLDR_CHARS),
        background=_join([s.text for s in background[-2:]], SECTION_CHARS),
        innovation=_join([s.text for s in innovation], SECTION_CHARS),
        conclusion=_join([s.text for s in conclusion[:2]], SECTION_CHARS),
    )
