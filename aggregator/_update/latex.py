"""Readable maths: LaTeX in titles and abstracts turned into Unicode text. Pure.

arXiv titles and abstracts are written in LaTeX (``$\\alpha$-divergence``,
``$O(n \\log n)$``, ``\\emph{...}``). Feed readers and mail clients render none of it, so
the text shown to people has the commands turned into Unicode (``α-divergence``,
``O(n log n)``) by pylatexenc, plus simple super- and subscripts (``x^2`` → ``x²``).
The raw text is kept by the caller; this module never sees HTML.

Text is only touched when it looks like LaTeX (a ``\\command`` or a balanced pair of
``$``), so "costs $5" and "50%" stay as they are.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pylatexenc.latex2text import LatexNodes2Text  # type: ignore[import-untyped]
from pylatexenc.latexwalker import (  # type: ignore[import-untyped]
    LatexWalker,
    get_default_latex_context_db,
)

_COMMAND_RE = re.compile(r"\\[A-Za-z]+|\\[{}%&$#_]")
_DOLLAR_RE = re.compile(r"(?<!\\)\$")
_PERCENT_RE = re.compile(r"(?<!\\)%")
_SUPERSCRIPTS = str.maketrans("0123456789+-=()nix*", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱˣ*")
_SUBSCRIPTS = str.maketrans("0123456789+-=()aeijkmnoprstx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₘₙₒₚᵣₛₜₓ")
_SUP_CHARS = set("0123456789+-=()nix*")
_SUB_CHARS = set("0123456789+-=()aeijkmnoprstx")
# x^2, x^{10}, x^*, but not a^bc (ambiguous: leave it as typed).
_SUP_RE = re.compile(r"\^(\{([^{}]{1,6})\}|([0-9]+|[A-Za-z*+\-])(?![A-Za-z]))")
_SUB_RE = re.compile(r"(?<=[A-Za-z0-9)\]|ℓ])_(\{([^{}]{1,6})\}|([0-9]+|[A-Za-z])(?![A-Za-z0-9]))")

_CONVERTER = LatexNodes2Text(math_mode="text")
# Built once: pylatexenc would rebuild its macro tables on every call otherwise.
_CONTEXT = get_default_latex_context_db()


def looks_like_latex(text: str) -> bool:
    """Whether ``text`` has a LaTeX command or at least one balanced ``$...$`` pair."""
    if _COMMAND_RE.search(text):
        return True
    dollars = len(_DOLLAR_RE.findall(text))
    return dollars >= 2 and dollars % 2 == 0


# The LaTeX pieces of a text: maths, commands with their brace arguments, accents and
# escaped specials. Only these go through pylatexenc, which is slow on long plain text.
_SEGMENT_RE = re.compile(
    r"""
    \$\$.+?\$\$ | (?<!\\)\$(?:[^$\\]|\\.)+?\$     # display or inline maths
    | \\\(.+?\\\)                                   # \( ... \)
    | \\[A-Za-z]+\*?(?:\s*\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\})*  # \command{arg}{arg}
    | \\["'`^~=.](?:[A-Za-z]|\{[A-Za-z]\})            # accents: \"o, \'{e}
    | \\[%&$#_{}]                                   # escaped specials
    """,
    re.DOTALL | re.VERBOSE,
)


def to_unicode(text: str) -> str:
    """``text`` with its LaTeX rendered as Unicode; unchanged if it has no LaTeX.

    Never raises: a piece pylatexenc cannot read is left as it was.
    """
    if not looks_like_latex(text):
        return text
    if len(_DOLLAR_RE.findall(text)) % 2:
        # An odd number of $: money somewhere; convert commands only, not "maths".
        text = _DOLLAR_RE.sub(r"\\$", text)
    converted = _SEGMENT_RE.sub(lambda m: _convert(m.group(0)), text)
    return " ".join(converted.split())


@lru_cache(maxsize=4096)
def _convert(segment: str) -> str:
    maths = segment.startswith(("$", "\\("))
    prepared = _PERCENT_RE.sub(r"\\%", segment)  # a bare % would start a comment
    try:
        nodes = LatexWalker(prepared, latex_context=_CONTEXT, tolerant_parsing=True)
        converted = str(_CONVERTER.nodelist_to_text(nodes.get_latex_nodes()[0]))
        converted = converted.replace("\xa0", " ")
    except Exception:  # pylatexenc documents no exceptions; its parser can raise many
        return segment
    if maths:
        converted = _SUP_RE.sub(lambda m: _script(m, _SUP_CHARS, _SUPERSCRIPTS, "^"), converted)
        converted = _SUB_RE.sub(lambda m: _script(m, _SUB_CHARS, _SUBSCRIPTS, "_"), converted)
    return converted


def _script(match: re.Match[str], allowed: set[str], table: dict[int, int], mark: str) -> str:
    body = match.group(2) if match.group(2) is not None else match.group(3)
    if body and all(char in allowed for char in body):
        return body.translate(table)
    return f"{mark}{body}" if len(body) == 1 else f"{mark}({body})"
