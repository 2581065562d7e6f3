"""Liked papers as readers give them: IDs, DOIs and URLs in the config, and like files
(one per line, BibTeX exports, Zotero's CSV export)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aggregator._enrich.likes import ARXIV, DOI, URL, LikedRef, parse_ref, read_like_file
from aggregator.config.settings import load_config
from aggregator.errors import ConfigError

DATA = Path(__file__).parent / "data" / "likes"


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("2401.01234", ARXIV, "2401.01234"),
        ("2401.01234v3", ARXIV, "2401.01234"),
        ("arXiv:0704.0001", ARXIV, "0704.0001"),
        ("hep-th/9901001", ARXIV, "hep-th/9901001"),
        ("math.GT/0309136v2", ARXIV, "math.GT/0309136"),
        ("https://arxiv.org/abs/2401.01234v2", ARXIV, "2401.01234"),
        ("http://arxiv.org/pdf/2401.01234.pdf", ARXIV, "2401.01234"),
        ("10.48550/arXiv.2401.01234", ARXIV, "2401.01234"),
        ("https://doi.org/10.48550/arxiv.hep-th/9901001", ARXIV, "hep-th/9901001"),
        ("10.1145/3292500.3330701", DOI, "10.1145/3292500.3330701"),
        ("doi:10.1103/PhysRevLett.116.061102", DOI, "10.1103/physrevlett.116.061102"),
        ("https://dx.doi.org/10.1038/nature14539", DOI, "10.1038/nature14539"),
        ("http://Blog.Example.org/post?utm_source=x", URL, "https://blog.example.org/post"),
    ],
)
def test_a_reference_is_recognised_and_normalised(text: str, kind: str, value: str) -> None:
    assert parse_ref(text) == LikedRef(kind, value)


@pytest.mark.parametrize("text", ["", "attention is all you need", "ftp://x.org/a", "2401.1"])
def test_what_names_no_paper_is_refused(text: str) -> None:
    assert parse_ref(text) is None


def test_a_bibtex_export_gives_each_entrys_eprint_doi_or_url() -> None:
    found = read_like_file((DATA / "liked.bib").read_text(encoding="utf-8"))
    assert found.format == "bibtex"
    assert [(r.kind, r.value) for r in found.refs] == [
        (ARXIV, "2403.01234"),
        (DOI, "10.1103/physrevresearch.5.023101"),
        (ARXIV, "2209.04567"),
        (ARXIV, "hep-th/9901001"),
    ]
    assert found.refs[0].title.startswith("Surface Code Decoding with Learned Priors for Low")
    assert found.unusable == ("entry nobody2020 (A book without identifiers)",)


def test_zoteros_csv_export_gives_extra_doi_or_url() -> None:
    # Zotero writes UTF-8 with a byte order mark, doubled quotes inside values.
    text = (DATA / "liked.csv").read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")
    found = read_like_file(text)
    assert found.format == "zotero-csv"
    assert [(r.kind, r.value) for r in found.refs] == [
        (ARXIV, "2403.01234"),
        (DOI, "10.1103/physrevresearch.5.023101"),
        (ARXIV, "2209.04567"),
    ]
    assert found.unusable == ("row 5 (A book without identifiers)",)


def test_a_list_one_per_line_with_comments() -> None:
    found = read_like_file((DATA / "liked.txt").read_text(encoding="utf-8"))
    assert found.format == "lines"
    assert [str(r) for r in found.refs] == [
        "arXiv:2403.01234",
        "arXiv:2209.04567",
        "arXiv:hep-th/9901001",
        "arXiv:math.GT/0309136",
        "10.1103/physrevresearch.5.023101",
        "10.1145/3292500.3330701",
        "https://blog.example.org/posts/attention",
    ]
    assert found.unusable == ("line 9: 'not a reference'",)


def test_interests_are_validated_and_like_file_is_relative_to_the_config(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config(
        '[interests]\nkeywords = ["agent"]\nlike = ["2401.01234v2", "2401.01234"]\n'
        'like_file = "liked.bib"\n'
        '[[subscribers]]\nemail = "a@example.org"\nmax_entries = 5\npersonal_feed = true\n'
        '[subscribers.interests]\nauthors = ["Ada Lovelace"]\n'
    )
    settings = load_config(path)
    assert settings.interests.like == (LikedRef(ARXIV, "2401.01234"),)
    assert settings.interests.like_file == path.parent / "liked.bib"
    reader = settings.subscribers[0]
    assert reader.interests is not None and reader.interests.authors == ("Ada Lovelace",)
    assert (reader.max_entries, reader.personal_feed) == (5, True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[interests]\nlike = ["2401.01234", "my favourite paper"]\n',
            r"interests\.like\[1\]: 'my favourite paper' is not an arXiv ID, a DOI or an",
        ),
        ('[interests]\nauthor = ["x"]\n', r"interests\.author: unknown key"),
        (
            '[[subscribers]]\nemail = "a@example.org"\n[subscribers.interests]\nlike = [3]\n',
            r"subscribers\[0\] \(a@example.org\)\.interests\.like: expected a list of non-empty",
        ),
        (
            '[[subscribers]]\nemail = "a@example.org"\nmax_entries = -1\n',
            r"subscribers\[0\] \(a@example.org\)\.max_entries: must not be negative",
        ),
    ],
)
def test_bad_interests_name_the_key(
    write_config: Callable[[str], Path], text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write_config(text))
