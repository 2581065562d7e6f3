"""Text served under a wrong or weak charset declaration ends as the right text.

Eight East-Asian, Cyrillic and Greek encodings, each with a paragraph of realistic
length (detection on a dozen characters is a coin toss; these are 250-420 bytes,
and the detector is relied on from about 60 characters of text). Written for these
tests, not taken from anywhere.
"""

from __future__ import annotations

import codecs
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from pytest_httpserver import HTTPServer

from aggregator._fetch.decoding import detect, prepare
from aggregator.config.settings import load_config
from aggregator.core import run

SIMPLIFIED = (
    "近年来，大型语言模型在自然语言处理领域取得了显著进展。研究人员发现，"
    "通过在海量文本上进行预训练，模型能够学习到丰富的语言知识和常识推理能力。"
    "然而，这些模型在处理专业领域的问题时仍然存在明显不足，例如医学诊断和法律分析。"
    "本文提出一种新的训练方法，在保持通用能力的同时，显著提升模型在特定任务上的表现。"
)
TRADITIONAL = (
    "深度學習技術在醫學影像分析中的應用日益廣泛。本研究團隊收集了來自三家醫院的"
    "兩萬張胸部X光片，並由資深放射科醫師進行標註。實驗結果顯示，我們提出的模型在"
    "肺炎偵測任務上的準確率達到百分之九十四，明顯優於過去的方法。未來我們將進一步"
    "探討模型在不同族群與設備之間的泛化能力。"
)
JAPANESE = (
    "大規模言語モデルの研究は、ここ数年で自然言語処理の分野に大きな変化をもたらしました。"
    "特に、少ない例から新しい課題を学ぶ能力が注目されています。本論文では、日本語の文章を"
    "対象として、モデルがどのように文脈を理解しているのかを詳しく調べました。その結果、"
    "敬語や省略の多い文では、まだ多くの誤りが見られることが分かりました。"
)
KOREAN = (
    "최근 몇 년 동안 인공지능 기술은 빠르게 발전해 왔습니다. 특히 대규모 언어 모델은 "
    "번역, 요약, 질문 응답 등 다양한 작업에서 놀라운 성능을 보여 주고 있습니다. "
    "그러나 한국어처럼 자료가 상대적으로 적은 언어에서는 여전히 개선할 점이 많습니다. "
    "이 논문에서는 한국어 뉴스 기사를 이용하여 모델의 이해 능력을 평가한 결과를 소개합니다."
)
RUSSIAN = (
    "В последние годы большие языковые модели заметно изменили подход к обработке "
    "естественного языка. Исследователи из нескольких университетов показали, что такие "
    "модели способны решать задачи, для которых их специально не обучали. Тем не менее "
    "качество ответов на русском языке всё ещё уступает английскому, особенно в научных "
    "и юридических текстах. В этой статье мы описываем новый набор данных для проверки."
)
GREEK = (
    "Τα τελευταία χρόνια, τα μεγάλα γλωσσικά μοντέλα έχουν αλλάξει τον τρόπο με τον οποίο "
    "επεξεργαζόμαστε τη φυσική γλώσσα. Οι ερευνητές δείχνουν ότι τα μοντέλα αυτά μπορούν "
    "να απαντούν σε ερωτήσεις και να συνοψίζουν κείμενα με μεγάλη ακρίβεια. Ωστόσο, για "
    "τα ελληνικά η ποιότητα παραμένει χαμηλότερη, επειδή τα διαθέσιμα δεδομένα είναι λίγα."
)

CASES = [
    (SIMPLIFIED, "gbk"),
    (TRADITIONAL, "big5"),
    (JAPANESE, "shift_jis"),
    (JAPANESE, "euc_jp"),
    (KOREAN, "euc_kr"),
    (RUSSIAN, "cp1251"),
    (RUSSIAN, "koi8_r"),
    (GREEK, "iso8859_7"),
]
IDS = [encoding for _, encoding in CASES]
WESTERN = (
    "Crème brûlée, déjà vu et café noir : à Paris, les pâtissiers préparent chaque matin "
    "des gâteaux qu'on déguste près de la fenêtre. Müller & Söhne, Größe: 42; Ærøskøbing, "
    "señor Núñez, ½ livre, prix £5 — « très bon », dit-il."
)


@pytest.mark.parametrize(("text", "encoding"), CASES, ids=IDS)
@pytest.mark.parametrize("declared", [["iso-8859-1"], ["windows-1252", "iso-8859-1"], [None]])
def test_each_encoding_is_found_under_a_weak_or_missing_declaration(
    text: str, encoding: str, declared: list[str | None]
) -> None:
    data = text.encode(encoding)
    assert len(data) >= 250
    found = detect(data, declared)
    assert found is not None
    assert data.decode(found) == text


@pytest.mark.parametrize(("text", "encoding"), CASES, ids=IDS)
def test_a_contradicted_multibyte_declaration_yields_to_the_bytes(text: str, encoding: str) -> None:
    # UTF-16 is multi-byte and "strong", but these bytes are not valid UTF-16-ish text
    # in any useful way; a declaration the bytes refuse to decode under is no evidence.
    data = text.encode(encoding)
    found = detect(data, ["utf-8", "iso-8859-1"])
    assert found is not None and data.decode(found) == text


@pytest.mark.parametrize("encoding", ["iso-8859-1", "cp1252"])
def test_western_text_under_a_western_declaration_is_left_alone(encoding: str) -> None:
    data = WESTERN.encode(encoding, "replace")
    assert detect(data, [encoding]) is None
    assert detect(data, [None]) is None


def test_a_strong_declaration_is_believed() -> None:
    # KOI8-R bytes declared as KOI8-R stay KOI8-R although cp1251 also decodes them.
    for encoding, label in (("koi8_r", "koi8-r"), ("cp1251", "windows-1251")):
        found = detect(RUSSIAN.encode(encoding), [label])
        assert found is not None and codecs.lookup(found).name == codecs.lookup(encoding).name


def _title(text: str) -> str:
    return text.split("。")[0].split(". ")[0][:40].strip()


def _rss(text: str, encoding: str, declared: str) -> bytes:
    title = _title(text)
    return (
        f'<?xml version="1.0" encoding="{declared}"?>\n<rss version="2.0"><channel>'
        "<title>Weekly notes</title><link>https://example.org/</link>"
        f"<item><title>{title}</title><link>https://example.org/notes/1</link>"
        f"<guid>https://example.org/notes/1</guid><description>{text}</description>"
        "</item></channel></rss>"
    ).encode(encoding)


@pytest.mark.parametrize(("text", "encoding"), CASES, ids=IDS)
def test_a_feed_served_as_latin1_is_published_as_the_right_text(
    httpserver: HTTPServer, tmp_path: Path, text: str, encoding: str
) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        _rss(text, encoding, "ISO-8859-1"), content_type="application/rss+xml; charset=ISO-8859-1"
    )
    path = tmp_path / "aggregator.toml"
    path.write_text(
        '[storage]\ndatabase = "agg.db"\n[fetch]\nmin_interval = {}\n'
        f'[[sources]]\nname = "notes"\nurl = "{httpserver.url_for("/feed")}"\n',
        encoding="utf-8",
    )
    when = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
    summary = run(load_config(path), clock=lambda: when, run_date=when.date())
    assert not summary.failed, summary.failed
    parsed = feedparser.parse((tmp_path / "public" / "feeds" / "notes.atom").read_bytes())
    (entry,) = parsed.entries
    assert entry.title == _title(text)
    assert text[:60] in entry.summary


def test_prepare_names_the_charset_it_found() -> None:
    data = _rss(RUSSIAN, "koi8_r", "ISO-8859-1")
    prepared = prepare(data, "text/xml; charset=ISO-8859-1", kind="feed", source="s")
    assert prepared.encoding == "koi8-r" and prepared.corrected_from == "iso8859-1"
    assert RUSSIAN in prepared.data.decode("utf-8")
