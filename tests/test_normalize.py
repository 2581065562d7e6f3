from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from aggregator._update.normalize import (
    arxiv_id,
    canonical_url,
    content_hash,
    doi,
    html_to_text,
    identity_key,
    is_plain_text,
    normalize,
    parse_datetime,
    sanitize_html,
    sanitized,
)
from aggregator.types import ParsedEntry


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://arxiv.org/abs/2601.06098", ("2601.06098", None)),
        ("https://arxiv.org/pdf/2601.06098v2", ("2601.06098", 2)),
        ("http://export.arxiv.org/abs/2601.06098v3", ("2601.06098", 3)),
        ("https://arxiv.org/html/2601.06098v1", ("2601.06098", 1)),
        ("https://arxiv.org/pdf/2601.06098v2.pdf", ("2601.06098", 2)),
        ("oai:arXiv.org:2601.06098v2", ("2601.06098", 2)),
        ("math/0611800v2", ("math/0611800", 2)),
        ("https://arxiv.org/abs/hep-th/9901001", ("hep-th/9901001", None)),
        ("arXiv:0704.0001", ("0704.0001", None)),
        ("https://example.org/abs/2601.06098", None),
        ("not an id", None),
        (None, None),
    ],
)
def test_arxiv_id(text: str | None, expected: tuple[str, int | None] | None) -> None:
    assert arxiv_id(text) == expected


def test_doi_forms() -> None:
    assert doi("https://doi.org/10.1000/ABC.1") == "10.1000/abc.1"
    assert doi("doi:10.1000/x") == "10.1000/x"
    assert doi("10.1000") is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "HTTP://Group.NTT:80/jp/topics/a.html?utm_source=feed&utm_medium=atom#main",
            "https://group.ntt/jp/topics/a.html",
        ),
        ("https://example.org:8443/p?id=3&fbclid=x", "https://example.org:8443/p?id=3"),
        ("https://example.org", "https://example.org/"),
        # IPv6 literals keep their brackets (and read compressed, in lower case).
        ("http://[2001:db8::1]:8080/a", "https://[2001:db8::1]:8080/a"),
        ("http://[2001:DB8:0:0::1]/a", "https://[2001:db8::1]/a"),
        # Dot segments (RFC 3986 5.2.4).
        ("https://example.org/a/../b", "https://example.org/b"),
        ("https://example.org/a/./b/../../c", "https://example.org/c"),
        ("https://example.org/a/b/..", "https://example.org/a/"),
        ("https://example.org/../a", "https://example.org/a"),
        ("https://example.org/.well-known/feed", "https://example.org/.well-known/feed"),
        # Unreserved escapes decoded, the others upper case, raw characters escaped.
        ("https://example.org/%7Euser/%61rticle", "https://example.org/~user/article"),
        ("https://example.org/a%2fb%3a", "https://example.org/a%2Fb%3A"),
        ("https://example.org/caf%c3%a9", "https://example.org/caf%C3%A9"),
        ("https://example.org/café", "https://example.org/caf%C3%A9"),
        ("https://example.org/a b", "https://example.org/a%20b"),
        # Internationalised hosts as punycode (UTS 46: ß stays ß, as in browsers).
        ("https://Bücher.example/x", "https://xn--bcher-kva.example/x"),
        ("https://xn--bcher-kva.example/x", "https://xn--bcher-kva.example/x"),
        ("https://straße.example/", "https://xn--strae-oqa.example/"),
        # A port that is not a number is not guessed at.
        ("http://example.org:abc/x", "http://example.org:abc/x"),
        ("mailto:someone@example.org", "mailto:someone@example.org"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://example.org/~user/a", "https://example.org/%7Euser/a"),
        ("https://example.org/b", "http://example.org/a/../b"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("http://[2001:db8::1]:8080/a", "https://[2001:0db8::0001]:8080/a#top"),
    ],
)
def test_spellings_of_one_address_are_one_key(one: str, other: str) -> None:
    key = identity_key(source="s", arxiv=None, doi_value=None, link=one, guid="g", title="t")
    assert key == identity_key(
        source="s", arxiv=None, doi_value=None, link=other, guid="h", title="u"
    )


def test_a_canonical_url_is_canonical_again() -> None:
    for url in ("http://[2001:db8::1]:8080/a/../b?x=%7E", "https://Bücher.example/a%2f/./b"):
        once = canonical_url(url)
        assert canonical_url(once) == once


def test_a_time_out_of_range_in_utc_is_no_time() -> None:
    # Valid where written, but before year 1 or after 9999 once in UTC.
    assert parse_datetime("0001-01-01T00:30:00+01:00") is None
    assert parse_datetime("0001-01-01T00:30:00", "Europe/Berlin") is None
    assert parse_datetime("9999-12-31T23:30:00-01:00") is None
    assert parse_datetime("0001-01-01T01:30:00+01:00") == datetime(1, 1, 1, 0, 30, tzinfo=UTC)


def test_parse_datetime_reads_naive_times_in_the_given_zone() -> None:
    assert parse_datetime("2025-09-08 15:44:43", "Asia/Shanghai") == datetime(
        2025, 9, 8, 7, 44, 43, tzinfo=UTC
    )
    assert parse_datetime("2026-01-14T00:00:00-05:00") == datetime(2026, 1, 14, 5, tzinfo=UTC)
    assert parse_datetime("Wed, 14 Jan 2026 10:00:00 GMT") == datetime(2026, 1, 14, 10, tzinfo=UTC)
    assert parse_datetime("2026-02-30") is None
    assert parse_datetime("yesterday") is None


def test_sanitize_html_removes_scripts_and_handlers() -> None:
    cleaned = sanitize_html(
        '<p onclick="steal()">Hi <script>alert(1)</script><a href="javascript:x()">x</a>'
        '<img src="https://e.org/i.png" onerror="x()"></p>'
    )
    assert cleaned is not None
    assert "script" not in cleaned and "onclick" not in cleaned and "onerror" not in cleaned
    assert "javascript:" not in cleaned
    assert cleaned.startswith("<p>Hi ")


def test_html_to_text_keeps_paragraphs() -> None:
    assert html_to_text("<p>a &amp; b</p><p>c<br>d</p>") == "a & b\nc\nd"


def test_identity_key_prefers_arxiv_then_doi_then_url_then_guid() -> None:
    common = {"source": "s", "title": "T"}
    assert (
        identity_key(arxiv="1", doi_value="10.1/x", link="https://a/", guid="g", **common)
        == "arxiv:1"
    )
    assert (
        identity_key(arxiv=None, doi_value="10.1/x", link="https://a/", guid="g", **common)
        == "doi:10.1/x"
    )
    assert (
        identity_key(arxiv=None, doi_value=None, link="http://A/#x", guid="g", **common)
        == "url:https://a/"
    )
    assert identity_key(arxiv=None, doi_value=None, link=None, guid="g", **common) == "guid:s:g"
    assert identity_key(arxiv=None, doi_value=None, link=None, guid=None, **common).startswith(
        "guid:s:title-"
    )


def test_normalize_finds_the_arxiv_id_in_the_link_and_hashes_content() -> None:
    parsed = ParsedEntry(title="  A \n paper on x<y ", link="https://arxiv.org/abs/2601.00001v2")
    entry = normalize(parsed, source="s")
    assert entry.key == "arxiv:2601.00001"
    assert entry.title == "A paper on x<y"
    changed = normalize(ParsedEntry(title="A paper, revised", link=parsed.link), source="s")
    assert changed.content_hash != entry.content_hash
    assert normalize(parsed, source="other").content_hash == entry.content_hash


def test_arxiv_author_names_read_as_unicode_and_the_delivered_ones_are_kept() -> None:
    delivered = (r"Fran\c{c}ois Lef\`evre", r"J\"urgen M\"uller", "Ada Lovelace")
    parsed = ParsedEntry(
        title=r"Regret of $\ln \ln T$", link="https://arxiv.org/abs/2609.01234v1", authors=delivered
    )
    entry = normalize(parsed, source="s")
    assert entry.authors == ("François Lefèvre", "Jürgen Müller", "Ada Lovelace")
    assert entry.raw_authors == delivered
    assert entry.title == "Regret of ln ln T"
    # The hash is of the names as delivered: the same as before names were read.
    assert entry.content_hash == content_hash(replace(parsed, title=entry.title, version=1))


def test_names_without_tex_keep_no_raw_copy() -> None:
    parsed = ParsedEntry(
        title="A paper", link="https://arxiv.org/abs/2609.01234", authors=("Jürgen Müller",)
    )
    entry = normalize(parsed, source="s")
    assert entry.authors == ("Jürgen Müller",) and entry.raw_authors is None


def test_names_outside_arxiv_are_left_as_delivered() -> None:
    parsed = ParsedEntry(
        title="A post", link="https://blog.example.org/post", authors=(r"J\"urgen",)
    )
    entry = normalize(parsed, source="s")
    assert entry.authors == (r"J\"urgen",) and entry.raw_authors is None


@pytest.mark.parametrize("element", ["iframe", "IFRAME", "noembed", "noframes", "noscript"])
def test_fallback_markup_inside_frames_and_plugins_is_read_as_markup(element: str) -> None:
    # An HTML parser reads these elements' content as raw text: dropping the element
    # used to publish its fallback markup as escaped tags ("&lt;b&gt;Atom&lt;/b&gt;").
    value = f'<p>Before</p><{element} src="https://e.org/frame"><b>Atom</b> text</{element}> after'
    assert sanitize_html(value) == "<p>Before</p><b>Atom</b> text after"


def test_raw_text_elements_stay_text() -> None:
    # <xmp> and <textarea> hold literal text by definition: their tags stay visible text.
    assert sanitize_html("<xmp><b>x</b></xmp>") == "&lt;b&gt;x&lt;/b&gt;"


# Text, with the characters the sanitiser treats specially and white space made likely.
_TEXTS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",))
    | st.sampled_from(" \t\n\r\x0b\x0c\x00\x1f\x7f\x85\xa0\ufeff\u2028&<>;#=\"'/ab"),
    max_size=40,
)


@given(_TEXTS)
@hypothesis_settings(max_examples=3000, deadline=None)
def test_plain_text_is_what_the_sanitiser_gives(value: str) -> None:
    # The short cut for text with nothing to parse gives what the sanitiser gives.
    assert sanitize_html(value) == sanitized(value)


@pytest.mark.parametrize(
    ("value", "expected", "plain"),
    [
        ("  a&amp;b ", "a&amp;b", False),
        ("a & b", "a &amp; b", False),
        ("a > b", "a &gt; b", False),
        ("a\r\nb\rc", "a\nb\nc", False),
        ("a\x00b", "ab", False),
        ("\ufeffa", "a", False),
        ("a\xa0b", "a&nbsp;b", False),
        (" plain text, 中文 ", "plain text, 中文", True),
        (" \n ", None, True),
    ],
)
def test_only_plain_text_skips_the_sanitiser(value: str, expected: str | None, plain: bool) -> None:
    assert sanitize_html(value) == sanitized(value) == expected
    assert is_plain_text(value) == plain


def test_a_lone_surrogate_is_refused_as_the_sanitiser_refuses_it() -> None:
    with pytest.raises(UnicodeEncodeError):
        sanitized("a\ud800b")
    with pytest.raises(UnicodeEncodeError):
        sanitize_html("a\ud800b")
