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

from pylatexenc.latex2text import LatexNodes2Text  # type: ignore[import-untyped]

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


def looks_like_latex(text: str) -> bool:
    """Whether ``text`` has a LaTeX command or at least one balanced ``$...$`` pair."""
    if _COMMAND_RE.search(text):
        return True
    dollars = len(_DOLLAR_RE.findall(text))
    return dollars >= 2 and dollars % 2 == 0


def to_unicode(text: str) -> str:
    """``text`` with its LaTeX rendered as Unicode; unchanged if it has no LaTeX.

    Never raises: text pylatexenc cannot read is returned as it was.
    """
    if not looks_like_latex(text):
        return text
    prepared = _PERCENT_RE.sub(r"\\%", text)  # a bare % would start a comment
    if len(_DOLLAR_RE.findall(prepared)) % 2:
        prepared = _DOLLAR_RE.sub(r"\\$", prepared)  # an odd $ is money, not maths
    try:
        converted = str(_CONVERTER.latex_to_text(prepared))
    except Exception:  # pylatexenc documents no exceptions; its parser can raise many
        return text
    converted = converted.replace("\xa0", " ")
    converted = _SUP_RE.sub(lambda m: _script(m, _SUP_CHARS, _SUPERSCRIPTS, "^"), converted)
    converted = _SUB_RE.sub(lambda m: _script(m, _SUB_CHARS, _SUBSCRIPTS, "_"), converted)
    return " ".join(converted.split())


def _script(match: re.Match[str], allowed: set[str], table: dict[int, int], mark: str) -> str:
    body = match.group(2) if match.group(2) is not None else match.group(3)
    if body and all(char in allowed for char in body):
        return body.translate(table)
    return f"{mark}{body}" if len(body) == 1 else f"{mark}({body})"
