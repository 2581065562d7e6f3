"""The offline summariser: a TL;DR and three sections picked from the abstract itself.

Pure and deterministic: the same text always gives the same summary, so nothing is
stored (computing one costs less than looking it up; see ``benchmarks/summaries.py``).
Sentences are sorted into Background (what is known or missing), Innovation (what
this work does: "we propose", "this paper", "本文提出") and Conclusion (what it found:
"results show", "outperforms"); the TL;DR is the first Innovation sentence, shortened
at a word boundary. Nothing is written that the abstract does not say.
"""

from __future__ import annotations

import re

from .._update.normalize import html_to_text
from ..types import Summary

#: Bumped whenever the rules below change what they pick (part of the output's
#: fingerprint, so published files follow).
EXTRACTIVE_VERSION = 1
TLDR_CHARS = 240
SECTION_CHARS = 420
#: Abstracts shorter than this have nothing to summarise: the TL;DR is the text.
_MIN_CHARS = 40

# A sentence ends at . ! ? (and their CJK forms) before white space and a capital,
# digit, quote or bracket; a CJK full stop ends one whatever follows.
_SPLIT_RE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9\u00c0-\u024f])|(?<=[。！？])\s*")
_ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "al",
        "etc",
        "cf",
        "vs",
        "fig",
        "figs",
        "eq",
        "eqs",
        "sec",
        "ref",
        "refs",
        "approx",
        "resp",
        "no",
        "dr",
        "prof",
        "mr",
        "ms",
        "st",
    ]
)
_LAST_WORD_RE = re.compile(r"([A-Za-z.]+)\.$")

_INNOVATION_RE = re.compile(
    r"\b(?:we|here we)\s+(?:propose|introduce|present|develop|design|describe|construct|"
    r"formulate|derive|prove|establish|study|investigate|analy[sz]e|report|build|train|"
    r"release|extend|show how|provide|offer|revisit|leverage)\b"
    r"|\b(?:this|the present|our)\s+(?:paper|work|article|study|note|letter|thesis)\b"
    r"|\bin this (?:paper|work|article|study)\b|\bour (?:method|approach|model|framework)\b"
    r"|本文|我们提出|提出了|本研究|本論文|我々は|本稿",
    re.IGNORECASE,
)
_CONCLUSION_RE = re.compile(
    r"\b(?:results?|experiments?|evaluations?|simulations?|we find|we found|we show|"
    r"we demonstrate|we observe|show(?:s|ed)? that|demonstrat\w+|outperform\w*|achiev\w+|"
    r"improv\w+|surpass\w*|reduc\w+|state[- ]of[- ]the[- ]art|suggest\w*|confirm\w*|"
    r"indicat\w+|yield\w*|reveal\w*|finally|overall|in conclusion)\b"
    r"|结果表明|实验表明|表明|优于|実験|結果",
    re.IGNORECASE,
)
# Housekeeping sentences say nothing about the work.
_NOISE_RE = re.compile(
    r"\b(?:code|data|dataset|implementation|models?)\b[^.]{0,60}\b(?:is|are)\s+"
    r"(?:publicly\s+)?(?:available|released)\b|https?://|\bgithub\b|^comments?:|"
    r"\baccepted (?:at|to|by|for)\b|\bpages?,\s*\d+\s*figures?\b",
    re.IGNORECASE,
)


def sentences(text: str) -> list[str]:
    """``text`` cut into sentences; abbreviations (e.g., et al., Fig.) do not end one."""
    out: list[str] = []
    for piece in _SPLIT_RE.split(text):
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
    match = _LAST_WORD_RE.search(sentence)
    if not match:
        return False
    word = match.group(1).lower().rstrip(".")
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
    found = [s for s in sentences(plain) if not _NOISE_RE.search(s)] or [plain]
    innovation_at = next((i for i, s in enumerate(found) if _INNOVATION_RE.search(s)), None)
    if innovation_at is None:
        # No sentence says "we ...": first for context, the rest in order.
        background, middle = found[:1], found[1:]
        innovation = [s for s in middle if not _CONCLUSION_RE.search(s)][:2]
        conclusion = [s for s in middle if _CONCLUSION_RE.search(s)] or middle[-1:]
        tldr_source = (innovation or conclusion or background)[0]
    else:
        background = found[:innovation_at]
        after = found[innovation_at:]
        innovation = [after[0], *(s for s in after[1:2] if not _CONCLUSION_RE.search(s))]
        rest = [s for s in after if s not in innovation]
        conclusion = [s for s in rest if _CONCLUSION_RE.search(s)] or rest[-1:]
        tldr_source = after[0]
    if conclusion and innovation and conclusion[0] in innovation:
        conclusion = [s for s in conclusion if s not in innovation]
    return Summary(
        tldr=shorten(tldr_source, TLDR_CHARS),
        background=_join(background[-2:], SECTION_CHARS),
        innovation=_join(innovation, SECTION_CHARS),
        conclusion=_join(conclusion[:2], SECTION_CHARS),
    )
