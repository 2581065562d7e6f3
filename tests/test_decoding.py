"""Charset correction and entity screening, on bytes."""

from __future__ import annotations

import pytest

from aggregator._fetch.decoding import detect, prepare, screen_entities
from aggregator.errors import ParseError

CHINESE = "大型语言模型在自然语言处理中的应用与挑战，以及未来的研究方向。"
TRADITIONAL = "深度學習在醫學影像中的應用與挑戰，以及未來的研究方向。"
JAPANESE = "大規模言語モデルの研究は、自然言語処理の分野で大きな進展を見せています。"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (CHINESE, "gb18030"),
        (CHINESE, "gbk"),
        (TRADITIONAL, "big5"),
        (JAPANESE, "shift_jis"),
        (JAPANESE, "euc_jp"),
        (CHINESE, "utf-8"),
        ("Café crème", "utf-8"),
    ],
)
def test_the_real_charset_beats_a_latin1_declaration(text: str, encoding: str) -> None:
    found = detect(text.encode(encoding), ["iso-8859-1", "iso-8859-1"])
    assert found is not None and text.encode(encoding).decode(found) == text


def test_latin1_that_is_latin1_and_ascii_are_left_alone() -> None:
    assert detect("Crème brûlée".encode("latin-1"), ["iso-8859-1"]) is None
    assert detect(b"plain", ["iso-8859-1"]) is None
    assert detect(b"\xef\xbb\xbfwith a BOM \xc3\xa9", ["iso-8859-1"]) is None


def test_western_text_is_not_mistaken_for_cjk() -> None:
    text = "“Crème brûlée” – déjà vu, naïve café; Ærøskøbing’s señor ½ £5 ©"
    assert detect(text.encode("cp1252"), ["windows-1252"]) is None
    assert detect("Crème".encode("cp1252"), [None]) is None


def test_a_document_that_says_what_it_is_is_handed_on_untouched() -> None:
    data = f'<?xml version="1.0" encoding="utf-8"?><rss><t>{CHINESE}</t></rss>'.encode()
    prepared = prepare(data, "application/rss+xml; charset=utf-8", kind="feed", source="s")
    assert prepared.data is data and prepared.corrected_from is None


def test_a_right_multibyte_declaration_is_believed() -> None:
    assert detect(TRADITIONAL.encode("big5"), ["big5"]) == "big5"


def test_prepare_rewrites_the_prolog_and_content_type() -> None:
    data = f'<?xml version="1.0" encoding="ISO-8859-1"?><rss><t>{CHINESE}</t></rss>'.encode("gbk")
    prepared = prepare(data, "text/xml; charset=ISO-8859-1", kind="feed", source="s")
    assert prepared.data.decode("utf-8").startswith('<?xml version="1.0" encoding="utf-8"?>')
    assert CHINESE in prepared.data.decode("utf-8")
    assert prepared.content_type == "text/xml; charset=utf-8"
    assert prepared.corrected_from == "iso8859-1" and prepared.encoding == "gb18030"


def test_markdown_is_not_touched() -> None:
    data = CHINESE.encode("gbk")
    assert prepare(data, None, kind="markdown", source="s").data == data


def test_harmless_entities_pass() -> None:
    screen_entities(
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY nbsp "&#160;"><!ENTITY co "ACME">]><rss/>',
        source="s",
    )


@pytest.mark.parametrize(
    ("doctype", "message"),
    [
        (b'<!ENTITY a "x"><!ENTITY b "&a;&a;">', "built from other entities"),
        (b'<!ENTITY a SYSTEM "http://evil/">', "external entity"),
        (b'<!ENTITY a PUBLIC "-//x" "http://evil/">', "external entity"),
        (b'<!ENTITY % p "x">', "parameter entity"),
        (b'<!ENTITY big "' + b"x" * 20_000 + b'">', "more than 10000 bytes"),
    ],
)
def test_dangerous_entities_are_refused(doctype: bytes, message: str) -> None:
    data = b'<?xml version="1.0"?><!DOCTYPE rss [' + doctype + b"]><rss/>"
    with pytest.raises(ParseError, match=message) as info:
        screen_entities(data, source="evil-feed")
    assert info.value.source == "evil-feed"
