"""Readable maths and names: LaTeX in titles, abstracts and author names turned into
Unicode text. Pure.

arXiv titles and abstracts are written in LaTeX (``$\\alpha$-divergence``,
``$O(n \\log n)$``, ``\\emph{...}``) and its author names carry TeX accents
(``J\\"urgen M\\"uller``, ``Fran\\c{c}ois``, ``{\\o}``). Feed readers and mail clients render
none of it, so the text shown to people has the commands turned into Unicode
(``α-divergence``, ``O(n log n)``, ``Jürgen Müller``) by pylatexenc, plus simple super-
and subscripts (``x^2`` → ``x²``). The raw text is kept by the caller; this module never
sees HTML.

Spacing in maths is the reader's, not the source's: an operator name (``\\ln``, ``\\max``,
``\\sin``, ...) keeps a space before its argument (``\\ln \\ln T`` → ``ln ln T``, not
``lnln T``), and a relation, binary operator or arrow is spaced between its operands
(``n \\to \\infty`` → ``n → ∞``) but not inside a sub- or superscript
(``\\lim_{n\\to\\infty}`` → ``lim_(n→∞)``), nor next to a bracket (``f(\\cdot)`` → ``f(·)``).
pylatexenc marks where those macros were with private-use characters, and one pass over
its output decides the spaces (:func:`_spaced`).

Text is only touched when it looks like LaTeX (a ``\\command``, an accent or a balanced
pair of ``$``), so "costs $5" and "50%" stay as they are; so does a dollar amount among
maths (``$5 and $10``) and code in backticks.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from pylatexenc.latex2text import (  # type: ignore[import-untyped]
    LatexNodes2Text,
    MacroTextSpec,
)
from pylatexenc.latex2text import (
    get_default_latex_context_db as _default_text_specs,
)
from pylatexenc.latexwalker import (  # type: ignore[import-untyped]
    LatexCharsNode,
    LatexGroupNode,
    LatexWalker,
    get_default_latex_context_db,
)

# Private-use characters that pylatexenc's output carries from the macros to _spaced:
# after an operator name, around a relation, and around a script's braced group.
_OPERATOR = "\ue000"
_RELATION = "\ue001"
_OPEN = "\ue002"
_CLOSE = "\ue003"
_MARKS_RE = re.compile("[\ue000-\ue003]")

# LaTeX's operator names (\DeclareMathOperator in the kernel and amsmath), and a few that
# papers use as if they were (pylatexenc drops \det and \arg: unknown to it).
_OPERATORS = (
    "arccos", "arcsin", "arctan", "arg", "cos", "cosh", "cot", "coth", "csc", "deg", "det",
    "dim", "exp", "gcd", "hom", "inf", "injlim", "ker", "lg", "lim", "liminf", "limsup",
    "ln", "log", "max", "min", "Pr", "projlim", "sec", "sin", "sinh", "sup", "tan", "tanh",
    "argmax", "argmin",
)  # fmt: skip
# Relations, binary operators and arrows, spaced between their operands.
_RELATIONS = (
    "to", "rightarrow", "leftarrow", "gets", "leftrightarrow", "Rightarrow", "Leftarrow",
    "Leftrightarrow", "longrightarrow", "longleftarrow", "longleftrightarrow",
    "Longrightarrow", "Longleftarrow", "Longleftrightarrow", "iff", "implies", "impliedby",
    "mapsto", "longmapsto", "hookrightarrow", "twoheadrightarrow", "rightharpoonup",
    "rightleftharpoons", "leadsto", "leq", "le", "geq", "ge", "leqslant", "geqslant",
    "leqq", "geqq", "lesssim", "gtrsim", "ll", "gg", "neq", "ne", "approx", "sim", "simeq",
    "cong", "equiv", "asymp", "propto", "doteq", "triangleq", "coloneqq", "in", "notin",
    "ni", "subset", "subseteq", "subsetneq", "supset", "supseteq", "cup", "cap", "setminus",
    "sqcup", "uplus", "times", "cdot", "pm", "mp", "div", "ast", "star", "circ", "bullet",
    "oplus", "ominus", "otimes", "odot", "wedge", "vee", "land", "lor", "perp", "mid",
    "nmid", "parallel", "prec", "succ", "preceq", "succeq", "vdash", "dashv", "models",
)  # fmt: skip
# What pylatexenc does not know of the above, and other macros it drops or misreads.
_MISSING = {
    "gets": "←",
    "iff": "⟺",
    "implies": "⟹",
    "impliedby": "⟸",
    "leadsto": "⇝",
    "ne": "≠",
    "coloneqq": "≔",
    "land": "∧",
    "lor": "∨",
    "models": "⊨",
}
_SYMBOLS = {
    "|": "‖",
    "Vert": "‖",
    "lVert": "‖",
    "rVert": "‖",
    "vert": "|",
    "lvert": "|",
    "rvert": "|",
    ",": " ",
    ":": " ",
    ";": " ",
    " ": " ",
    "quad": " ",
    "qquad": " ",
    "!": "",
}
# Letters written as macros: TeX swallows the space after them (``\ss e`` is "ße").
_LETTER_MACROS = r"ss|ae|AE|oe|OE|aa|AA|o|O|l|L|i|j"


def _text_specs() -> object:
    """pylatexenc's text rules with ours first: operators, relations, symbols."""
    specs = _default_text_specs().filter_context()  # a copy: the default is shared
    default = {name: specs.get_macro_spec(name) for name in _RELATIONS}
    macros = [MacroTextSpec(name, simplify_repl=name + _OPERATOR) for name in _OPERATORS]
    for name in _RELATIONS:
        symbol = _MISSING.get(name) or default[name].simplify_repl
        macros.append(MacroTextSpec(name, simplify_repl=f"{_RELATION}{symbol}{_RELATION}"))
    macros += [MacroTextSpec(name, simplify_repl=text) for name, text in _SYMBOLS.items()]
    macros.append(MacroTextSpec("operatorname", simplify_repl=_operatorname))
    specs.add_context_category("aggregator", macros=macros, prepend=True)
    return specs


def _operatorname(node: Any, l2tobj: Any) -> str:
    """``\\operatorname{Tr}``: its argument as an operator name (pylatexenc names
    the converter ``l2tobj``)."""
    args = node.nodeargd.argnlist if node.nodeargd else []
    name = l2tobj.node_to_text(args[-1]) if args and args[-1] is not None else ""
    return f"{name}{_OPERATOR}"


class _Converter(LatexNodes2Text):  # type: ignore[misc]
    """pylatexenc's converter, marking the braced group of a sub- or superscript."""

    def nodelist_to_text(self, nodelist: list[Any]) -> str:
        text = ""
        previous: Any = None
        for node in nodelist:
            if (
                self._is_bare_macro_node(previous)
                and node.isNodeType(LatexCharsNode)
                and not self.strict_latex_spaces["between-macro-and-chars"]
            ):
                text += previous.macro_post_space  # as pylatexenc does, in maths
            piece = self.node_to_text(node)
            if node.isNodeType(LatexGroupNode) and text.endswith(("_", "^")):
                piece = f"{_OPEN}{piece}{_CLOSE}"
            text += piece
            previous = node
        return text


_COMMAND_RE = re.compile(r"\\[A-Za-z]+|\\[{}%&$#_]|\\[\"'`^~=.][{\\A-Za-z]")
_DOLLAR_RE = re.compile(r"(?<!\\)\$")
_PERCENT_RE = re.compile(r"(?<!\\)%")
# A dollar amount: $ and a number, then a space or the end, where the text up to the
# next $ has no maths in it ("$5 and $10", "costs $5"; not "$1 - \epsilon$").
_MONEY_RE = re.compile(r"(?<!\\)\$(?=\d[\d.,]*(?:[kKmMbB]n?)?(?:\s|$)[^$\\^_=+<>]*(?:\$|$))")
# Code in single backticks (not TeX's ``quotes'' nor the accent \`e): left as it is.
_CODE_RE = re.compile(r"(?<![\\`])(`[^`\n]+`)(?!`)")
_SUPERSCRIPTS = str.maketrans("0123456789+-=()nix*", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱˣ*")
_SUBSCRIPTS = str.maketrans("0123456789+-=()aeijkmnoprstx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₘₙₒₚᵣₛₜₓ")
_SUP_CHARS = set("0123456789+-=()nix*")
_SUB_CHARS = set("0123456789+-=()aeijkmnoprstx")
# x^2, x^{10}, x^*, but not a^bc (ambiguous: leave it as typed).
_SUP_RE = re.compile(r"\^(\ue002([^\ue002\ue003]*)\ue003|([0-9]+|[A-Za-z*+\-])(?![A-Za-z]))")
_SUB_RE = re.compile(
    r"(?<=[A-Za-z0-9)\]|‖ℓ∑∏∫])_(\ue002([^\ue002\ue003]*)\ue003|([0-9]+|[A-Za-z])(?![A-Za-z0-9]))"
)
_SCRIPT_GROUP_RE = re.compile("\ue002([^\ue002\ue003]*)\ue003")
_OPERATOR_RE = re.compile(r"\s*\ue000\s*")
# An operator's sub- or superscript goes before the space to its argument: sin² θ.
_OPERATOR_SCRIPT_RE = re.compile(
    r"\ue000\s*((?:[_^](?:\ue002[^\ue002\ue003]*\ue003|[0-9]+|[A-Za-z*]))+)"
)
_RELATION_RE = re.compile(r"\s*\ue001([^\ue001]*)\ue001\s*")
# After an operator name, no space before these (``max_x``, ``log^2``, ``ln(x)``).
_OPERATOR_TIGHT = set("_^([{⟨)]},.;:'!\ue001\ue002\ue003")
# A relation is not spaced towards these: ``f(·)``, ``(→, ``2×`` at the end of maths.
_LEFT_TIGHT = set("([{⟨,;_^\ue002")
_RIGHT_TIGHT = set(")]}⟩,.;:\ue003")
_BARS = set("|‖")

_CONVERTER = _Converter(math_mode="text", latex_context=_text_specs())
# Built once: pylatexenc would rebuild its macro tables on every call otherwise.
_CONTEXT = get_default_latex_context_db()


def looks_like_latex(text: str) -> bool:
    """Whether ``text`` has a LaTeX command or accent, or a balanced ``$...$`` pair."""
    # Both need a backslash or a dollar; most texts have neither, and a substring test
    # finds that in a fraction of the time either pattern's scan takes.
    if "\\" not in text and "$" not in text:
        return False
    if _COMMAND_RE.search(text):
        return True
    dollars = len(_DOLLAR_RE.findall(text))
    return dollars >= 2 and dollars % 2 == 0


# The LaTeX pieces of a text: maths, commands with their brace arguments, accents, groups
# opening with a command and escaped specials. Only these go through pylatexenc, which is
# slow on long plain text.
_SEGMENT_RE = re.compile(
    rf"""
    \$\$.+?\$\$ | (?<!\\)\$(?:[^$\\]|\\.)+?\$     # display or inline maths
    | \\\(.+?\\\)                                   # \( ... \)
    | \{{\\[^{{}}]*(?:\{{[^{{}}]*\}}[^{{}}]*)*\}}   # a group: {{\"u}}, {{\o}}, {{\v{{s}}}}
    | \\["'`^~=.](?:[A-Za-z]                        # accents: \"o,
        | \\[ij](?![A-Za-z])(?:\{{\}}|\ (?=[A-Za-z]))?   # \'\i, \'\i{{}}, \'\i a,
        | \{{(?:\\["'`^~=.]?)?[A-Za-z]\}})              # \'{{e}}, \'{{\i}}, \~{{\^e}}
    | \\(?:{_LETTER_MACROS})(?![A-Za-z])(?:\{{\}}|\ (?=[A-Za-z]))?  # \ss e, \o{{}}
    | \\[A-Za-z]+\*?(?:\s*\{{[^{{}}]*(?:\{{[^{{}}]*\}}[^{{}}]*)*\}})*  # \command{{arg}}{{arg}}
    | \\[%&$\#_{{}}]                                # escaped specials
    """,
    re.DOTALL | re.VERBOSE,
)


def to_unicode(text: str) -> str:
    """``text`` with its LaTeX rendered as Unicode; unchanged if it has no LaTeX.

    Code in single backticks is left as written. Never raises: a piece pylatexenc cannot
    read is left as it was.
    """
    if not looks_like_latex(text):
        return text
    pieces = _CODE_RE.split(text)
    # Odd pieces are code; each even one is converted on its own.
    converted = "".join(piece if index % 2 else _prose(piece) for index, piece in enumerate(pieces))
    return " ".join(converted.split())


def _prose(text: str) -> str:
    if not looks_like_latex(text):
        return text
    text = _MONEY_RE.sub(r"\\$", text)
    if len(_DOLLAR_RE.findall(text)) % 2:
        # An odd number of $: money somewhere; convert commands only, not "maths".
        text = _DOLLAR_RE.sub(r"\\$", text)
    return _SEGMENT_RE.sub(lambda m: _convert(m.group(0)), text)


@lru_cache(maxsize=4096)
def _convert(segment: str) -> str:
    maths = segment.startswith(("$", "\\("))
    prepared = _PERCENT_RE.sub(r"\\%", _MARKS_RE.sub("", segment))  # % would start a comment
    try:
        nodes = LatexWalker(prepared, latex_context=_CONTEXT, tolerant_parsing=True)
        converted = str(_CONVERTER.nodelist_to_text(nodes.get_latex_nodes()[0]))
    except Exception:  # pylatexenc documents no exceptions; its parser can raise many
        return segment
    converted = _spaced(converted.replace("\xa0", " "))
    if maths:
        converted = _SUP_RE.sub(lambda m: _script(m, _SUP_CHARS, _SUPERSCRIPTS, "^"), converted)
        converted = _SUB_RE.sub(lambda m: _script(m, _SUB_CHARS, _SUBSCRIPTS, "_"), converted)
    return _MARKS_RE.sub("", converted).strip() if maths else _MARKS_RE.sub("", converted)


def _spaced(text: str) -> str:
    """pylatexenc's output with the spaces the marks ask for (see the module docstring)."""
    # Inside a script's group, relations are not spaced: lim_(n→∞).
    text = _SCRIPT_GROUP_RE.sub(
        lambda m: _OPEN + _RELATION_RE.sub(r"\1", m.group(1)).strip() + _CLOSE, text
    )
    text = _OPERATOR_SCRIPT_RE.sub(r"\1" + _OPERATOR, text)
    text = _OPERATOR_RE.sub(
        lambda m: "" if m.end() == len(text) or text[m.end()] in _OPERATOR_TIGHT else " ", text
    )
    return _RELATION_RE.sub(lambda m: _relation(m, text), text)


def _relation(match: re.Match[str], text: str) -> str:
    left = text[match.start() - 1] if match.start() else ""
    right = text[match.end()] if match.end() < len(text) else ""
    symbol = match.group(1)
    if not left or not right or (left in _BARS and right in _BARS):
        # At an end of the maths (2×, ≤5) or between bars (‖·‖): no operands to space.
        return symbol
    before = "" if not left or left in _LEFT_TIGHT or left == _RELATION else " "
    after = "" if not right or right in _RIGHT_TIGHT or right == _RELATION else " "
    return f"{before}{symbol}{after}"


def _script(match: re.Match[str], allowed: set[str], table: dict[int, int], mark: str) -> str:
    body = match.group(2) if match.group(2) is not None else match.group(3)
    if body and all(char in allowed for char in body):
        return body.translate(table)
    return f"{mark}{body}" if len(body) == 1 else f"{mark}({body})"
