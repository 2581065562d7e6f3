"""Preparing fetched bytes for a parser: the right charset, and no entity tricks. Pure.

Owns two decisions made before any parser sees a document:

- **Which charset the text is really in.** Servers often call a document ISO-8859-1
  or windows-1252 (or nothing) when it is UTF-8, GBK/GB18030, Big5, Shift_JIS or
  EUC-JP. A single-byte Western charset decodes *any* bytes, so it proves nothing;
  valid UTF-8 beyond ASCII almost never happens by accident, so it wins; otherwise
  the CJK codecs that decode the bytes strictly are compared by how much of the text
  is made of the most frequent Chinese and Japanese characters and kana (a wrong
  CJK codec yields rare characters and half-width katakana). A declaration (HTTP,
  XML prolog, HTML meta) of a multi-byte charset that decodes cleanly is believed.
  When the declaration is missing, weak or contradicted by the bytes and none of
  that settles it, charset-normalizer is asked (EUC-KR, cp1251, KOI8-R, ISO-8859-7,
  ...); its answer is taken only when it reads the text as a non-Latin script with
  no chaos, since a Western declaration of Western text must never be "repaired"
  into another Latin code page. It needs some text to go on: at least 24 letters
  outside ASCII, and about 40 characters of Korean, Cyrillic or Greek prose to be
  reliable (CJK is settled by the frequency rule above from 10 characters).
  A document in another charset than UTF-8 is handed on transcoded to UTF-8, with
  its prolog and Content-Type saying so, so the parser has nothing left to guess.
- **Entity declarations.** XML whose DOCTYPE declares external entities, parameter
  entities, entities built from other entities (the "billion laughs" bomb) or huge
  ones is refused with a :class:`ParseError` before any parser expands anything.

Never does I/O.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

import charset_normalizer

from ..errors import ParseError

#: Charsets that decode any bytes, so a declaration of one proves nothing.
_WEAK = frozenset({"iso8859-1", "cp1252", "ascii", "iso8859-15"})
#: Tried, in this order of preference on a tie, when the declaration is weak or wrong.
_CJK = ("gb18030", "big5", "shift_jis", "euc_jp")
_THRESHOLD = 0.2
_MIN_EVIDENCE = 10
_DECLARED_BONUS = 0.1

# The most frequent characters of written Chinese (simplified and traditional) and
# Japanese, kana aside. A right decoding is full of them; a wrong one hardly has any.
_COMMON = frozenset(
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下"
    "自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其"
    "些主样理心她本前开但因只从想实日本月新聞社員間題研究語文化学校電話情報最近今回的場合"
    "這個們來為國說時會對過發後裡種經麼學現當沒動還進開從實問題與關係點長東車門頭見書業區"
    "論體邊義據處應當總電話發現網議計劃產業務機構員報導記者調查資料圖表數據結果方法"
    "数据结果问题关系发展经济社会政府工作企业市场技术系统服务信息网络公司产品用户模型"
    "论文训练学习推理语言大型基于方法任务提出实验性能显著提升知识智能深度神经注意力"
    "思言気手物話先生高同業政治経済首相円米世界行出入見私者場合年代内外物事今後最新"
    "、。「」『』（），：；？！・ー〜"
)
_KANA = (0x3041, 0x30FF)


@dataclass(frozen=True)
class Prepared:
    """The bytes to parse, and the Content-Type to hand the parser with them."""

    data: bytes
    content_type: str | None
    #: The charset the text was found to be in when it differs from what was declared.
    corrected_from: str | None = None
    encoding: str | None = None


def prepare(data: bytes, content_type: str | None, *, kind: str, source: str) -> Prepared:
    """Screen and (re)encode a fetched document for the parser of ``kind``.

    XML feeds are always screened and transcoded; HTML pages only when they came
    with a Content-Type (a local file's declarations are the parser's business).
    Raises ParseError for a dangerous DOCTYPE.
    """
    if kind in ("feed", "arxiv"):
        screen_entities(data, source=source)
        return _transcode(data, content_type, xml=True)
    if kind == "page" and content_type:
        return _transcode(data, content_type, xml=False)
    return Prepared(data, content_type)


# -- charsets ------------------------------------------------------------------------------

_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.I)
_PROLOG_RE = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_META_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def codec_name(label: str | None) -> str | None:
    """Python's name for a charset label, or None when unknown. GB2312 and GBK read as
    GB18030, their superset (as browsers do)."""
    if not label:
        return None
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return "gb18030" if name in ("gb2312", "gbk") else name


def detect(data: bytes, declared: list[str | None]) -> str | None:
    """The charset ``data`` is really in, given its declarations in order of authority.

    None means "leave it alone": a BOM, pure ASCII, or nothing better than a weak
    declaration. Never raises.
    """
    if data.startswith(_BOMS) or data.isascii():
        return None
    names = [name for name in (codec_name(label) for label in declared) if name]
    if _decodes(data, "utf-8"):
        return "utf-8"
    strong = [name for name in names if name not in _WEAK and name != "utf-8"]
    best: tuple[float, str] | None = None
    for name in dict.fromkeys([*strong, *_CJK]):
        text = _decoded(data, name)
        if text is None:
            continue
        score = cjk_score(text) + (_DECLARED_BONUS if name in strong else 0.0)
        if best is None or score > best[0]:
            best = (score, name)
    if best is not None and (best[0] >= _THRESHOLD or best[1] in strong):
        return best[1]
    return _normalizer_guess(data)


#: Most chaos charset-normalizer may see in its reading for that reading to be taken.
_MAX_CHAOS = 0.1
#: Share of the non-ASCII letters that must be outside the Latin script.
_NON_LATIN_SHARE = 0.8
#: Fewer non-ASCII letters than this are too little to go on ("Crème brûlée" reads
#: as Urdu to a detector): the declaration stands.
_MIN_LETTERS = 24


def _normalizer_guess(data: bytes) -> str | None:
    """charset-normalizer's charset for ``data`` when it reads as a non-Latin script.

    A Latin reading is refused: a weak Western declaration of Western text is right
    more often than a detector's choice between Western code pages.
    """
    match = charset_normalizer.from_bytes(data).best()
    if match is None or match.chaos > _MAX_CHAOS:
        return None
    name = codec_name(match.encoding)
    if name is None or name in _WEAK or name == "utf-8":
        return None
    text = _decoded(data, name)
    if text is None:
        return None
    letters = [char for char in text if ord(char) > 0x7F and char.isalpha()]
    if len(letters) < _MIN_LETTERS:
        return None
    latin = sum(1 for char in letters if unicodedata.name(char, "").startswith("LATIN"))
    return name if latin <= (1 - _NON_LATIN_SHARE) * len(letters) else None


def cjk_score(text: str) -> float:
    """The share of non-ASCII characters that are kana or frequent CJK characters.

    Counted over at least ``_MIN_EVIDENCE`` characters, so that a Western text with
    two accented letters that happen to pair into one common ideograph scores low.
    """
    wide = [char for char in text if ord(char) > 0x7F]
    if not wide:
        return 0.0
    hits = sum(1 for c in wide if c in _COMMON or _KANA[0] <= ord(c) <= _KANA[1])
    # Half-width katakana are what Chinese text read as Shift_JIS turns into.
    odd = sum(1 for c in wide if 0xFF61 <= ord(c) <= 0xFF9F or 0xE000 <= ord(c) <= 0xF8FF)
    return (hits - odd) / max(len(wide), _MIN_EVIDENCE)


def _decodes(data: bytes, encoding: str) -> bool:
    return _decoded(data, encoding) is not None


def _decoded(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _transcode(data: bytes, content_type: str | None, *, xml: bool) -> Prepared:
    http = _CHARSET_RE.search(content_type or "")
    http_label = http.group(1) if http else None
    pattern = _PROLOG_RE if xml else _META_RE
    doc = pattern.search(data[:4096])
    doc_label = doc.group(1).decode("ascii") if doc else None
    encoding = detect(data, [http_label, doc_label])
    if encoding is None:
        return Prepared(data, content_type)
    declared = codec_name(http_label) or codec_name(doc_label) or "utf-8"
    if encoding == declared and (doc is None or codec_name(doc_label) == encoding):
        return Prepared(data, content_type)  # everything already says what it is
    text = data.decode(encoding)
    if doc is not None:
        start, end = doc.span(1)
        head = data[:start].decode("ascii", "replace")
        # The declaration is ASCII in every codec considered here; rewrite it in place.
        text = head + "utf-8" + data[end:].decode(encoding)
    new_type = _with_charset(content_type, "utf-8")
    return Prepared(
        text.encode("utf-8"),
        new_type,
        corrected_from=declared if declared != encoding else None,
        encoding=encoding,
    )


def _with_charset(content_type: str | None, charset: str) -> str | None:
    if content_type is None:
        return None
    if _CHARSET_RE.search(content_type):
        return _CHARSET_RE.sub(f"charset={charset}", content_type, count=1)
    return f"{content_type}; charset={charset}"


# -- entity declarations -------------------------------------------------------------------

_DOCTYPE_RE = re.compile(rb"<!DOCTYPE\b[^\[>]*\[(.*?)\]\s*>", re.I | re.S)
_ENTITY_RE = re.compile(rb"<!ENTITY\s+(%\s+)?([^\s>]+)\s+(.*?)>", re.S)
_REFERENCE_RE = re.compile(rb"&(?!#)([^;\s]+);|%([^;\s]+);")
_MAX_ENTITIES = 256
_MAX_ENTITY_BYTES = 10_000
_HINT_ENTITIES = (
    "a feed never needs this; the document may be an attack or a broken export, so it was"
    " not read; tell its publisher"
)


def screen_entities(data: bytes, *, source: str) -> None:
    """Refuse documents whose DOCTYPE could expand or fetch entities. Raises ParseError."""
    head = data[:1_000_000]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head.decode("utf-16", "replace").encode("utf-8")
    start = head.find(b"<!")
    if start < 0 or b"<!ENTITY" not in head.upper():
        return
    doctype = _DOCTYPE_RE.search(head)
    if doctype is None:
        return
    entities = _ENTITY_RE.findall(doctype.group(1))
    if len(entities) > _MAX_ENTITIES:
        raise ParseError(
            f"the document declares {len(entities)} XML entities",
            source=source,
            hint=_HINT_ENTITIES,
        )
    total = 0
    for parameter, name, body in entities:
        label = name.decode("latin-1")
        if parameter:
            raise ParseError(
                f"refused: the document declares a parameter entity (%{label})",
                source=source,
                hint=_HINT_ENTITIES,
            )
        stripped = body.strip()
        if stripped[:6].upper() in (b"SYSTEM", b"PUBLIC"):
            raise ParseError(
                f"refused: the document declares an external entity ({label}) that would"
                " make the reader open another file or URL",
                source=source,
                hint=_HINT_ENTITIES,
            )
        if _REFERENCE_RE.search(stripped):
            raise ParseError(
                f"refused: the entity {label} is built from other entities, which can"
                " expand to gigabytes (a 'billion laughs' document)",
                source=source,
                hint=_HINT_ENTITIES,
            )
        total += len(stripped)
        if total > _MAX_ENTITY_BYTES:
            raise ParseError(
                f"refused: the document's entities hold more than {_MAX_ENTITY_BYTES} bytes",
                source=source,
                hint=_HINT_ENTITIES,
            )
