"""The rules for untrusted strings leaving the program (``aggregator._common.safety``)."""

from __future__ import annotations

import pytest

from aggregator._common.safety import (
    MAX_STEM_BYTES,
    distinct_stems,
    file_stem,
    has_controls,
    one_line,
    safe_url,
    strip_controls,
)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        " \x01javascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "file:///etc/passwd",
        "/relative/path",
        "relative.html",
        "http://",
        "https://exa mple.org/",
        "https://example.org:notaport/",
        "mailto:someone@example.org",
        "",
        None,
    ],
)
def test_unsafe_urls_are_refused(url: str | None) -> None:
    assert safe_url(url) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a?b=1#c", "https://example.org/a?b=1#c"),
        ("HTTP://Example.org/a", "http://Example.org/a"),
        ("  https://example.org/a\n", "https://example.org/a"),
        ("//cdn.example.org/x", "https://cdn.example.org/x"),
        ("http://[2001:db8::1]:8080/a", "http://[2001:db8::1]:8080/a"),
    ],
)
def test_web_urls_are_kept(url: str, expected: str) -> None:
    assert safe_url(url) == expected


def test_mailto_only_where_allowed() -> None:
    assert safe_url("mailto:a@example.org", mailto=True) == "mailto:a@example.org"
    assert safe_url("mailto:", mailto=True) is None


def test_one_line_removes_breaks_escapes_and_overrides() -> None:
    hostile = "evil\r\nBcc: victim@example.org\x1b]0;owned\x07 \u202etxt.exe\x9b31m"
    line = one_line(hostile)
    assert "\r" not in line and "\n" not in line
    assert not has_controls(line)
    assert line == "evil Bcc: victim@example.org ]0;owned txt.exe 31m"


def test_strip_controls_keeps_lines() -> None:
    assert strip_controls("a\r\nb\x1b[2Jc\td\re") == "a\nb[2Jc\td\ne"


def test_file_stem_keeps_safe_names_and_hashes_the_rest() -> None:
    assert file_stem("cs.AI") == "cs.AI"
    long = "x" * 300
    stem = file_stem(long)
    assert len(stem.encode()) <= MAX_STEM_BYTES and stem != file_stem("x" * 301)
    assert file_stem("a/../b") != "a/../b" and "/" not in file_stem("a/../b")
    assert file_stem("CON") != "CON"
    assert file_stem("all", reserved=frozenset({"all"})) != "all"
    assert file_stem("日本語").startswith("x-")


def test_distinct_stems_never_collide_by_case() -> None:
    stems = distinct_stems(["cs.ai", "cs.AI", "Cs.Ai"])
    assert len({stem.lower() for stem in stems.values()}) == 3
    assert stems == distinct_stems(["Cs.Ai", "cs.AI", "cs.ai"])


def test_a_name_with_nothing_safe_in_it_gets_the_callers_fallback() -> None:
    # Feeds published before file_stem existed were named "category-<hash>.atom": the
    # caller's fallback keeps such a subscriber's URL.
    assert file_stem("日本語", fallback="category") == "category-" + file_stem("日本語")[2:]
    assert distinct_stems(["日本語"], fallback="category")["日本語"].startswith("category-")
    assert file_stem("cs.AI", fallback="category") == "cs.AI"


def test_the_fast_path_of_safe_url_answers_as_the_parser_does() -> None:
    # safe_url returns plain http(s) URLs without parsing them (it checks every link
    # published); for every string, the answer must be the one parsing gives.
    import itertools
    import random

    from aggregator._common.safety import _parsed_safe_url

    schemes = ["http", "https", "HTTP", "Https", "javascript", "ftp", ""]
    separators = ["://", ":", ":///", "//", ":/"]
    hosts = ["example.org", "EXAMPLE.org", "a-b.c", "", ".", "-", "h:80", "h:99999", "h:",
             "[::1]", "u@h", "u:p@h", "h h", "é.org", "h\t", "xn--d1a.org", "h:0", "h:00",
             "h:080", "h:8080", "h:65535", "h:65536", "h:65529", "h:70000", "h:1:2", "h:-1",
             "h:+1", "h:1a", "1.2.3.4:18765"]  # fmt: skip
    rests = ["", "/", "/a", "/a?b", "/a?", "/a?#", "/a#", "/a#b", "?q", "?", "#", "//x",
             "/a b", "/\x1b", "/%20", "/a\\b", "/;x=1", "/~u/", "/a??", "/?#x", "/é",
             "/a\"b", "/<x>", "/a?b?c", "/a'b", "/{}|^`"]  # fmt: skip
    cases = ["".join(parts) for parts in itertools.product(schemes, separators, hosts, rests)]
    alphabet = "hts:/.?#@[]%:aA-1 \t\x1b\x7f\u202eé\"'<>\\"
    chooser = random.Random(12)
    for _ in range(20_000):
        tail = "".join(chooser.choice(alphabet) for _ in range(chooser.randrange(12)))
        cases.append(chooser.choice(["http://", "https://", ""]) + tail)
    for case in cases:
        assert safe_url(case) == _parsed_safe_url(case, mailto=False), repr(case)


def test_the_fast_paths_of_the_text_rules_answer_as_the_character_classes_do() -> None:
    # one_line, strip_controls and has_controls skip their regular expression for text
    # str.isprintable() accepts; every character they remove must be one it rejects.
    import random
    import sys

    from aggregator._common import safety

    removed = [chr(c) for c in range(sys.maxunicode + 1) if safety._CONTROL_RE.match(chr(c))]
    assert removed and not any(c.isprintable() for c in removed)
    chooser = random.Random(7)
    alphabet = [*removed[:40], *removed[-12:], " ", "  ", "a", "é", "語", "\xa0", "\u3000", "x"]
    for _ in range(5_000):
        text = "".join(chooser.choice(alphabet) for _ in range(chooser.randrange(10)))
        assert safety.one_line(text) == " ".join(safety._CONTROL_RE.sub(" ", text).split())
        lines = text.replace("\r\n", "\n").replace("\r", "\n")
        assert safety.strip_controls(text) == safety._CONTROL_EXCEPT_LINES_RE.sub("", lines)
        assert safety.has_controls(text) == bool(safety._CONTROL_RE.search(text))
