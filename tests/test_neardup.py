"""The pure near-duplicate core: text, shingles, MinHash, work keys and the decision."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import rensa

from aggregator._neardup.minhash import (
    MIN_SHINGLES,
    MinHasher,
    Scheme,
    jaccard,
    normalize_text,
    shingle_hashes,
    shingle_hashes_of_all,
    shingles,
    shingles_of,
    similarity,
    text_shingles,
    tokens,
)
from aggregator._neardup.rules import (
    Candidate,
    Features,
    Rules,
    arxiv_ids,
    choose_match,
    document_features,
    dois,
    features,
    grey_keys,
    newcomer_is_kept,
    refine,
    surname,
    title_author_key,
)
from aggregator._update.normalize import normalize
from aggregator.types import Entry, ParsedEntry

T0 = datetime(2026, 11, 20, 8, tzinfo=UTC)
HASHER = MinHasher(Scheme())
TEXT = (
    "The regional grid operator approved a battery storage project on the site of a retired"
    " coal plant. The project will store surplus solar power in the afternoon and release it"
    " during the evening peak, when prices are highest."
)


def entry(**fields: object) -> Entry:
    values: dict[str, object] = {"title": "A title", "published": T0, "content": TEXT}
    values.update(fields)
    return normalize(ParsedEntry(**values), source=str(values.get("source", "s")))  # type: ignore[arg-type]


def feats(item: Entry, source: str = "s") -> Features:
    return features(item, key=item.key, source=source, first_seen=T0, hasher=HASHER)


def cand(found: Features, kept_key: str | None = None) -> Candidate:
    return Candidate(found.key, found.when, found.signature, found.work_keys, kept_key)


def test_normalize_text_folds_width_and_case_and_drops_boilerplate() -> None:
    text = "ＩＣＬＲ　２０２４ Results\nShare on Facebook\nHome | News | Tech | Sports\nsee https://x.org/a"
    assert normalize_text(text) == "iclr 2024 results\nsee  "
    assert normalize_text("来源：观察爆料社\n正文内容") == "正文内容"


def test_shingles_are_word_trigrams_and_cjk_character_trigrams() -> None:
    assert shingles("One two three four") == {"one two three", "two three four"}
    assert shingles("大模型的力量") == {"大 模 型", "模 型 的", "型 的 力", "的 力 量"}
    assert "iclr 2024 的" in shingles("ICLR 2024 的力量")


def test_short_texts_get_no_signature() -> None:
    assert HASHER.signature({f"s{i}" for i in range(MIN_SHINGLES - 1)}) is None
    assert HASHER.signature({f"s{i}" for i in range(MIN_SHINGLES)}) is not None


def test_similarity_estimates_jaccard() -> None:
    base = {f"w{i}" for i in range(400)}
    half = {f"w{i}" for i in range(200, 600)}  # Jaccard 200 / 600
    one, other = HASHER.signature(base), HASHER.signature(half)
    assert similarity(one, one) == 1.0
    estimate = similarity(one, other)
    assert estimate is not None and abs(estimate - 1 / 3) < 0.12
    assert similarity(one, None) is None
    assert HASHER.bands(one) == HASHER.bands(HASHER.from_bytes(HASHER.to_bytes(one)))  # type: ignore[arg-type]


def test_scheme_needs_num_perm_a_multiple_of_bands() -> None:
    with pytest.raises(ValueError, match="multiple"):
        Scheme(num_perm=100, bands=32)
    # The scheme names rensa's algorithm version: another one recomputes the signatures.
    version = rensa.RMinHash.ALGORITHM_VERSION
    assert Scheme().name == f"minhash4:k3:128x32:s1:r{version}"


@pytest.mark.parametrize(
    "link",
    [
        "https://arxiv.org/abs/2601.06098",
        "https://arxiv.org/abs/2601.06098v3",
        "https://arxiv.org/pdf/2601.06098v2",
        "https://arxiv.org/pdf/2601.06098.pdf",
        "https://arxiv.org/html/2601.06098v1",
        "http://export.arxiv.org/abs/2601.06098",
        "https://www.arxiv.org/pdf/2601.06098",
    ],
)
def test_arxiv_ids_from_any_link_form(link: str) -> None:
    assert arxiv_ids(entry(link=link)) == {"2601.06098"}
    assert arxiv_ids(entry(link="https://conf.example.org/1", pdf_url=link)) == {"2601.06098"}


def test_dois_from_the_field_or_a_doi_link() -> None:
    assert dois(entry(doi="doi:10.1145/ABC.1")) == {"10.1145/abc.1"}
    assert dois(entry(link="https://doi.org/10.1145/ABC.1")) == {"10.1145/abc.1"}
    assert dois(entry(link="https://example.org/10.1145/abc")) == set()


def test_title_author_key_ignores_case_punctuation_and_name_order() -> None:
    one = entry(title="Wavelet Positional Encoding for Transformers", authors=("Yuki Sato",))
    two = entry(title="WAVELET positional encoding, for transformers!", authors=("Sato, Yuki",))
    assert title_author_key(one) == title_author_key(two) is not None
    assert title_author_key(entry(title="Introduction", authors=("Yuki Sato",))) is None
    assert title_author_key(entry(title="年度研究报告", authors=("王小明",))) is None
    assert title_author_key(entry(title="大型语言模型偏好学习的理论统一", authors=("王小明",)))
    assert title_author_key(entry(title="Wavelet Positional Encoding for Transformers")) is None
    assert surname("Waïss Azizian") == "azizian"


def test_choose_match_prefers_exact_keys_then_the_most_similar() -> None:
    probe = feats(entry(link="https://b.org/1", pdf_url="https://arxiv.org/pdf/2601.06098"))
    paper = feats(entry(link="https://arxiv.org/abs/2601.06098", content="Other words " * 20))
    copy = feats(entry(link="https://c.org/1"), source="other")
    rules = Rules()
    match = choose_match(probe, [cand(copy), cand(paper)], rules=rules)
    assert match is not None and (match.key, match.reason) == (paper.key, "arxiv")
    near = choose_match(feats(entry(link="https://b.org/2")), [cand(copy)], rules=rules)
    assert near is not None and near.reason == "near" and near.similarity == 1.0


def test_different_arxiv_ids_are_different_works_however_alike() -> None:
    one = feats(entry(link="https://arxiv.org/abs/2601.00001"))
    two = feats(entry(link="https://arxiv.org/abs/2601.00002"))
    assert choose_match(two, [cand(one)], rules=Rules()) is None


def test_window_split_and_kept_key() -> None:
    old = feats(entry(link="https://a.org/1", published=T0 - timedelta(days=30)))
    new = feats(entry(link="https://b.org/1"))
    assert choose_match(new, [cand(old)], rules=Rules()) is None
    assert choose_match(new, [cand(old)], rules=Rules(window=timedelta(days=31))) is not None
    recent = replace(old, when=T0)
    assert choose_match(new, [cand(recent)], rules=Rules(), split_from=frozenset({old.key})) is None
    match = choose_match(new, [cand(recent, kept_key="url:https://k.org/")], rules=Rules())
    assert match is not None and (match.key, match.via) == ("url:https://k.org/", old.key)


def test_same_text_from_the_same_source_is_a_reissue() -> None:
    one = feats(entry(guid="g-1", link=None), source="feed")
    two = feats(entry(guid="g-2", link=None), source="feed")
    other_source = feats(entry(guid="g-3", link=None), source="elsewhere")
    assert set(one.work_keys) & set(two.work_keys)
    assert not {k for k in one.work_keys if k.startswith("same")} & set(other_source.work_keys)
    match = choose_match(two, [cand(one)], rules=Rules())
    assert match is not None and match.reason == "same"


def test_kept_copy_rule() -> None:
    assert not newcomer_is_kept("b", ["a"], ())
    assert newcomer_is_kept("b", ["a"], ("b", "a"))
    assert newcomer_is_kept("b", ["a"], ("b",))
    assert not newcomer_is_kept("b", ["a", "b"], ("b",))
    assert not newcomer_is_kept("c", ["a"], ("a", "c"))


def test_a_signature_is_the_minimum_over_its_items_whatever_their_order() -> None:
    items = [f"w{i}" for i in range(20_000)]
    whole = HASHER.signature(items)
    first, rest = HASHER.signature(items[:4096]), HASHER.signature(items[4096:])
    assert whole is not None and first is not None and rest is not None
    assert (HASHER.signature(list(reversed(items))) == whole).all()
    # MinHash: the signature of a union is the element-wise minimum of the signatures.
    assert (whole == np.minimum(first, rest)).all()
    assert whole.dtype == np.uint32 and whole.shape == (128,)


def test_borderline_estimates_are_replaced_by_the_exact_similarity() -> None:
    words = [f"w{i}" for i in range(300)]
    probe_text = " ".join(words)
    other_text = " ".join(words[:150] + [f"x{i}" for i in range(150)])  # Jaccard ~ 1/3
    probe = feats(entry(content=probe_text, link="https://p.org/"))
    stored = feats(entry(content=other_text, link="https://s.org/"), source="other")
    candidate = cand(stored)
    assert grey_keys(probe, [candidate], threshold=0.35) == [stored.key]
    assert grey_keys(probe, [candidate], threshold=0.9) == []
    [refined] = refine(probe, [candidate], {stored.key: "A title\n" + other_text})
    assert refined.exact == jaccard(probe.shingles, text_shingles("A title\n" + other_text))
    # The exact similarity over shingle hashes is the one over the shingles themselves.
    ours, theirs = shingles("A title\n" + probe_text), shingles("A title\n" + other_text)
    assert refined.exact == len(ours & theirs) / len(ours | theirs)
    assert 0.3 < refined.exact < 0.36
    # The exact value decides: just above it matches, just below it does not.
    assert choose_match(probe, [refined], rules=Rules(threshold=refined.exact)) is not None
    assert choose_match(probe, [refined], rules=Rules(threshold=refined.exact + 0.001)) is None


@pytest.mark.parametrize(
    ("line", "dropped"),
    [
        ("作者 | 赖文昕", True),
        ("来源：观察爆料社", True),
        ("当前位置:首页 >专报 >在 ICLR 2024", True),
        ("版权所有 © 2026 观察爆料社", True),
        ("Subscribe to our newsletter", True),
        ("Copyright © 2026 TrendWire", True),
        ("作者认为这个方法很好", False),
        ("Subscribers grew by 10%", False),
        ("Copyright law changes in the EU", False),
        ("Share " + "a long paragraph of real text " * 8, False),
    ],
)
def test_only_boilerplate_lines_are_dropped(line: str, dropped: bool) -> None:
    assert (normalize_text(line) == "") is dropped


def test_shingle_hashes_count_the_distinct_shingles_in_order() -> None:
    words = tokens(normalize_text("one two three one two three four 大模型的力量"))
    hashed = shingle_hashes(words)
    assert hashed.shape[0] == len(shingles_of(words))
    assert (np.diff(hashed.astype(np.float64)) > 0).all()  # sorted, distinct
    # Order matters within a shingle; a repeated shingle counts once.
    assert shingle_hashes(["a", "b", "c"])[0] != shingle_hashes(["c", "b", "a"])[0]
    assert shingle_hashes(["a", "b", "c", "a", "b", "c"]).shape[0] == 3
    assert shingle_hashes(["a", "b"]).shape[0] == 1 and shingle_hashes([]).shape[0] == 0
    # A shingle has one hash, wherever it occurs.
    assert set(shingle_hashes(["x", "a", "b", "c"])) >= set(shingle_hashes(["a", "b", "c"]))


def test_jaccard_of_shingle_hashes() -> None:
    one, other = text_shingles("a b c d e f"), text_shingles("c d e f g h")
    assert jaccard(one, other) == 2 / 6  # "c d e", "d e f" of 6 shingles in all
    assert jaccard(one, one) == 1.0 and jaccard(one, text_shingles("")) == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "Plain ASCII words, with_underscores and digits 2024!",
        "Accented café naïve ½ ｆｕｌｌ ｗｉｄｔｈ and “quotes”",
        "ICLR 2024 的力量：大模型・カタカナ ㈱ 한국어 텍스트",
        "𝐁𝐨𝐥𝐝 maths and 𠀀 beyond the BMP 😀",
    ],
)
def test_tokens_take_the_fast_paths_without_changing_a_token(text: str) -> None:
    cjk = "\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31a0-\u31ff"
    cjk += "\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff"
    definition = re.compile(rf"[{cjk}]|[^\W_{cjk}]+")
    for variant in (text, text.lower(), normalize_text(text)):
        assert tokens(variant) == definition.findall(variant)


#: Texts of every length that matters: none, fewer tokens than a shingle, fewer
#: shingles than a signature needs, and enough, in Latin and CJK scripts.
_TEXTS = [
    "",
    "one",
    "two words",
    "just three words",
    " ".join(f"w{n}" for n in range(MIN_SHINGLES + 1)),  # 12 shingles
    " ".join(f"w{n}" for n in range(MIN_SHINGLES + 2)),  # 13
    TEXT,
    "大规模语言模型在推理任务上的表现。" * 3,
    TEXT + " 実験の結果、従来手法と比べて精度が向上しました。",
]


def _reference_shingles(words: list[str]) -> list[int]:
    """The shingle hashes by their definition, in Python integers: each token's 8-byte
    BLAKE2b, mixed position by position with the module's multipliers, modulo 2**64."""
    mix = [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9]
    hashed = [
        int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little") for w in words
    ]
    found = set()
    for start in range(max(len(hashed) - 2, 1) if hashed else 0):
        value = hashed[start] * mix[0] % 2**64
        for position in range(1, min(3, len(hashed))):
            value = (value ^ hashed[start + position]) * mix[position] % 2**64
        found.add(value)
    return sorted(found)


def test_shingles_of_many_texts_at_once_are_each_texts_own() -> None:
    texts = [tokens(normalize_text(text)) for text in _TEXTS]
    together = shingle_hashes_of_all(texts)
    assert [hashed.tolist() for hashed in together] == [_reference_shingles(w) for w in texts]
    assert [hashed.tolist() for hashed in map(shingle_hashes, texts)] == [
        _reference_shingles(w) for w in texts
    ]


def test_a_documents_features_are_each_entrys_own() -> None:
    entries = [entry(link=f"https://e.org/{n}", content=text) for n, text in enumerate(_TEXTS)]
    entries.append(entry(link="https://e.org/untitled", title="", content=None))
    together = document_features(entries, source="s", first_seen=T0, hasher=HASHER)
    assert sum(found.signature is not None for found in together) == 5
    for item, found in zip(entries, together, strict=True):
        alone = features(
            item, key=item.key, source="s", first_seen=T0, hasher=HASHER, keep_shingles=False
        )
        assert (found.key, found.when, found.bands, found.work_keys, found.shingle_count) == (
            alone.key,
            alone.when,
            alone.bands,
            alone.work_keys,
            alone.shingle_count,
        )
        if alone.signature is None:
            assert found.signature is None
        else:
            assert found.signature is not None
            assert found.signature.dtype == alone.signature.dtype == np.uint32
            assert found.signature.tolist() == alone.signature.tolist()
        assert found.shingles.shape[0] == 0


def test_features_cross_processes_whole() -> None:
    import pickle

    with_text = feats(entry(link="https://e.org/long"))
    short = feats(entry(link="https://e.org/short", content="too short"))
    assert with_text.signature is not None and with_text.shingles.shape[0]
    assert short.signature is None
    for found in (with_text, short, replace(with_text, shingles=np.zeros(0, dtype=np.uint64))):
        back = pickle.loads(pickle.dumps(found))
        assert (back.key, back.when, back.bands, back.work_keys, back.shingle_count) == (
            found.key,
            found.when,
            found.bands,
            found.work_keys,
            found.shingle_count,
        )
        for mine, theirs in ((back.signature, found.signature), (back.shingles, found.shingles)):
            assert (mine is None) == (theirs is None)
            if mine is not None and theirs is not None:
                assert mine.dtype == theirs.dtype and mine.tolist() == theirs.tolist()
                assert mine.flags.writeable


def test_features_pass_the_job_queues_restricted_unpickler() -> None:
    # A worker's outcome is decoded naming aggregator's data classes only, never a
    # function: features must not need one to be rebuilt.
    from aggregator._update.queue.outcome import Outcome, decode, encode
    from aggregator._update.reading import Read

    item = entry(link="https://e.org/queued")
    found = feats(item)
    sent = Outcome(
        now=T0,
        read=Read(entries=(item,), warnings=(), announced=None, features={item.key: (item, found)}),
    )
    back = decode(encode(sent))
    assert back is not None and back.read is not None
    _, features_back = back.read.features[item.key]
    assert features_back.signature is not None and found.signature is not None
    assert features_back.signature.tolist() == found.signature.tolist()
    assert features_back.bands == found.bands
