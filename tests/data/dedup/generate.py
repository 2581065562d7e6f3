"""Generate the labelled near-duplicate evaluation set ``pairs.jsonl`` (deterministic).

Run from the repository root: ``python tests/data/dedup/generate.py``. The output is
committed; re-running with the same inputs writes the same file.

Base stories: 24 English news stories written for this set (``base_en.json``, four
topics of six), and Chinese and Japanese texts cut from the samples in ``seeds/``
(the 39 papers of the daily list, sections of the Japanese report, paragraphs of the
Chinese articles). Each pair is labelled ``duplicate`` true or false and has a
``kind``:

duplicates
  clutter    the story republished with navigation, share buttons, copyright lines,
             related links and junk words injected into the text (like seeds/003)
  rewrite    light editing: synonyms, a sentence dropped, sentences swapped, a lead
             sentence added, the title reworded
  truncated  the first ~70% of the story (a feed that cuts the text)
  markup     the same text as HTML with entities, full-width characters, curly quotes
  arxiv      the same paper from an arXiv feed and a conference digest whose PDF link
             is an arXiv link in another form (pdf/abs/html, version, export.)
  doi        the same paper by DOI in another form
  title      the same title and first author, different abstract text

not duplicates
  topic      two different stories on the same topic, published the same week
  followup   a follow-up that quotes the first sentence of the story, then new text
  year       the same title a year later with lightly edited text (a yearly event)
  title-other-author  the same title by another first author, different text
"""

from __future__ import annotations

import html
import itertools
import json
import random
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from aggregator.parsers import ParseOptions, get_parser  # noqa: E402

rng = random.Random(20261123)
BASE_TIME = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# -- base stories -------------------------------------------------------------------------


def english() -> list[dict]:
    stories = json.loads((HERE / "base_en.json").read_text(encoding="utf-8"))
    for story in stories:
        story["lang"] = "en"
    return stories


def papers() -> list[dict]:
    parse = get_parser("markdown-digest")
    data = (ROOT / "seeds" / "002_d401467fe4d4ae84.txt").read_bytes()
    feed = parse(data, source="s", options=ParseOptions(location="seeds/002"))
    found = []
    for entry in feed.entries:
        text = "\n".join(body for _heading, body in entry.sections)
        found.append(
            {
                "topic": "papers",
                "lang": "zh",
                "title": entry.title,
                "authors": list(entry.authors),
                "text": text,
                "arxiv": entry.arxiv_id or (entry.link or "").rsplit("/", 1)[-1],
            }
        )
    return found


def chunks_of(path: str, lang: str, topic: str, size: int) -> list[dict]:
    """Cut a CJK article into stories of about ``size`` characters at paragraph ends."""
    text = (ROOT / "seeds" / path).read_text(encoding="utf-8")
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)(\{[^}]*\})?", "", text)
    paragraphs = [p.strip(" #*-\t") for p in re.split(r"\n\s*\n|\n(?=#)", text)]
    paragraphs = [p for p in paragraphs if len(p) > 40 and not p.startswith(("---", "title:"))]
    stories, current = [], ""
    for paragraph in paragraphs:
        current = f"{current}\n{paragraph}".strip()
        if len(current) >= size:
            stories.append(current)
            current = ""
    found = []
    for index, body in enumerate(stories):
        first = re.split(r"[。！？\n]", body)[0][:40]
        found.append(
            {"topic": topic, "lang": lang, "title": first, "authors": [], "text": body}
        )
        del index
    return found


# -- transformations ----------------------------------------------------------------------

EN_JUNK = [
    "click here",
    "best deals today",
    "trending now",
    "you won't believe this",
    "free download",
    "hot news",
    "top stories",
    "sponsored",
]
ZH_JUNK = ["力量", "中国", "大模", "绯闻", "下载", "体验", "爆料", "深圳", "高中", "精彩", "热点"]
JA_JUNK = ["無料", "速報", "話題", "人気", "必見", "注目"]
EN_SITE = ["Daily Feed Network", "NewsHub24", "TrendWire", "InfoStream Today"]
ZH_SITE = ["观察爆料社", "热站资讯", "每日精选网", "科技快讯网"]
JA_SITE = ["まとめニュース速報", "話題のITニュース", "テック情報局"]

EN_SYNONYMS = {
    "said": "stated",
    "company": "firm",
    "researchers": "scientists",
    "percent": "per cent",
    "expected": "projected",
    "plans": "intends",
    "largest": "biggest",
    "new": "new",
    "found": "discovered",
    "about": "roughly",
    "first": "first",
    "team": "group",
    "published": "released",
    "shows": "demonstrates",
    "main": "primary",
    "start": "begin",
    "warned": "cautioned",
}
ZH_SYNONYMS = {
    "提出": "提供",
    "方法": "方式",
    "显著": "明显",
    "我们": "本文",
    "研究": "研究工作",
    "实验": "试验",
    "提高": "提升",
    "问题": "难题",
    "能力": "本领",
    "进行": "开展",
}
JA_SYNONYMS = {"論文": "研究論文", "提案": "提示", "手法": "方法", "技術": "テクノロジー"}


def sentences(text: str, lang: str) -> list[str]:
    if lang == "en":
        return [s for s in re.split(r"(?<=[.!?])\s+", text) if s]
    return [s for s in re.split(r"(?<=[。！？\n])", text) if s.strip()]


def join(parts: list[str], lang: str) -> str:
    return (" " if lang == "en" else "").join(parts)


def inject_junk(text: str, lang: str, every: int) -> str:
    junk = {"en": EN_JUNK, "zh": ZH_JUNK, "ja": JA_JUNK}[lang]
    if lang == "en":
        words = text.split(" ")
        out = []
        for word in words:
            out.append(word)
            if rng.random() < 1 / every:
                out.append(rng.choice(junk))
        return " ".join(out)
    out = []
    for char in text:
        out.append(char)
        if rng.random() < 1 / every and char not in "\n":
            out.append(rng.choice(junk))
    return "".join(out)


def clutter(story: dict, others: list[dict]) -> dict:
    lang = story["lang"]
    related = [o["title"] for o in rng.sample(others, 3)]
    if lang == "en":
        site = rng.choice(EN_SITE)
        head = [
            "Home | World | Tech | Business | Science | Opinion",
            f"Posted by staff writer | {site}",
            "Share on Facebook",
            "Share on X",
        ]
        tail = [
            "Advertisement",
            *[f"Read more: {t}" for t in related],
            "Subscribe to our newsletter for daily updates",
            f"Copyright © 2026 {site}. All rights reserved.",
        ]
        body = inject_junk(story["text"], lang, every=rng.randint(22, 35))
        title = f"{story['title']} - {site}"
    else:
        site = rng.choice(ZH_SITE if lang == "zh" else JA_SITE)
        head = (
            ["设为首页加入收藏", "首页 | 热点 | 知识 | 时尚 | 探索 | 综合", f"来源：{site}", "作者：热站"]
            if lang == "zh"
            else ["ホーム | ニュース | IT | ビジネス", f"出典：{site}", "編集部"]
        )
        tail = [
            *[f"相关阅读：{t}" for t in related],
            "分享到：微信 微博 QQ空间" if lang == "zh" else "共有：X Facebook LINE",
            f"版权所有 © 2026 {site}" if lang == "zh" else f"© 2026 {site}",
        ]
        body = inject_junk(story["text"], lang, every=rng.randint(30, 45))
        title = f"{story['title']}_{site}"
    return {**story, "title": title, "text": "\n".join([*head, body, *tail])}


def rewrite(story: dict) -> dict:
    lang = story["lang"]
    parts = sentences(story["text"], lang)
    if len(parts) > 4:
        del parts[rng.randrange(1, len(parts))]
    if len(parts) > 3:
        i = rng.randrange(1, len(parts) - 1)
        parts[i], parts[i + 1] = parts[i + 1], parts[i]
    synonyms = {"en": EN_SYNONYMS, "zh": ZH_SYNONYMS, "ja": JA_SYNONYMS}[lang]
    text = join(parts, lang)
    for word, other in synonyms.items():
        if rng.random() < 0.6:
            text = re.sub(rf"\b{word}\b" if lang == "en" else word, other, text)
    lead = {
        "en": "According to a statement released this week, ",
        "zh": "据报道，",
        "ja": "報道によると、",
    }[lang]
    text = lead + (text[0].lower() + text[1:] if lang == "en" else text)
    title = {
        "en": lambda t: f"Report: {t}",
        "zh": lambda t: f"快讯｜{t}",
        "ja": lambda t: f"【解説】{t}",
    }[lang](story["title"])
    return {**story, "title": title, "text": text}


def truncated(story: dict) -> dict:
    lang = story["lang"]
    parts = sentences(story["text"], lang)
    keep = max(2, round(len(parts) * 0.7))
    return {**story, "text": join(parts[:keep], lang) + (" …" if lang == "en" else "……")}


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" and c.isalnum() else c for c in text)


def markup(story: dict) -> dict:
    lang = story["lang"]
    parts = sentences(story["text"], lang)
    body = "".join(f"<p>{html.escape(p)}</p>" for p in parts)
    body = body.replace("'", "&rsquo;").replace(" - ", " &ndash; ")
    if lang != "en":
        body = fullwidth(body.replace("<p>", "\x00").replace("</p>", "\x01"))
        body = body.replace("\x00", "<p>").replace("\x01", "</p>")
    return {**story, "text": body, "html": True}


def year_later(story: dict) -> dict:
    """The same title a year later: an event that recurs, text lightly changed."""
    changed = re.sub(r"\d+", lambda m: str(int(m.group()) + 1), story["text"])
    return {**rewrite({**story, "text": changed}), "title": story["title"]}


def followup(story: dict, other: dict) -> dict:
    lang = story["lang"]
    first = sentences(story["text"], lang)[0]
    lead = {"en": "Last week we reported: ", "zh": "上周报道：", "ja": "先週の記事："}[lang]
    return {**other, "text": f"{lead}{first}\n{other['text']}"}


# -- pairs --------------------------------------------------------------------------------


def entry(story: dict, *, days: float = 0, **extra: object) -> dict:
    when = BASE_TIME + timedelta(days=days)
    text = story["text"] if story.get("html") else "".join(
        f"<p>{html.escape(line)}</p>" for line in story["text"].splitlines() if line.strip()
    )
    return {
        "title": story["title"],
        "content": text,
        "authors": story.get("authors", []),
        "published": when.isoformat(),
        "link": extra.get("link"),
        "pdf_url": extra.get("pdf_url"),
        "arxiv_id": extra.get("arxiv_id"),
        "doi": extra.get("doi"),
    }


def main() -> None:
    en = english()
    zh_papers = papers()
    ja = chunks_of("001_42b39434066c0679.txt", "ja", "ntt-iclr", 150)
    zh_news = chunks_of("003_366078ac11276017.txt", "zh", "iclr-2024", 320) + chunks_of(
        "000_9f6f0ba65013c320.txt", "zh", "ntt-icml", 260
    )
    cjk = zh_papers + ja + zh_news
    everything = en + cjk
    pairs: list[dict] = []

    def add(kind: str, dup: bool, story: dict, a: dict, b: dict) -> None:
        pairs.append(
            {
                "id": f"{story['lang']}-{kind}-{len(pairs):03d}",
                "lang": story["lang"],
                "kind": kind,
                "duplicate": dup,
                "a": a,
                "b": b,
            }
        )

    link = lambda s, i: f"https://{s}.example.org/news/{i}"  # noqa: E731
    for i, story in enumerate(everything):
        others = [o for o in everything if o["lang"] == story["lang"] and o is not story]
        day = rng.uniform(0, 3)
        add("clutter", True, story, entry(story, link=link("orig", i)),
            entry(clutter(story, others), days=day, link=link("farm", i)))
        add("rewrite", True, story, entry(story, link=link("orig", i)),
            entry(rewrite(story), days=day, link=link("blog", i)))
        if i % 2 == 0:
            add("truncated", True, story, entry(story, link=link("orig", i)),
                entry(truncated(story), days=day, link=link("feed", i)))
        if i % 3 == 0:
            add("markup", True, story, entry(story, link=link("orig", i)),
                entry(markup(story), days=day, link=link("mirror", i)))

    # The same paper under other metadata.
    forms = [
        "https://arxiv.org/pdf/{id}v2",
        "http://export.arxiv.org/abs/{id}",
        "https://arxiv.org/html/{id}v1",
        "https://www.arxiv.org/pdf/{id}.pdf",
    ]
    for i, paper in enumerate(zh_papers[:20]):
        arxiv = paper["arxiv"]
        english_version = {**paper, "title": f"Paper {arxiv}", "text": "Abstract withheld."}
        add("arxiv", True, paper,
            entry(paper, link=f"https://arxiv.org/abs/{arxiv}", arxiv_id=arxiv),
            entry(english_version, days=40,
                  link=f"https://conference.example.org/poster/{i}",
                  pdf_url=forms[i % len(forms)].format(id=arxiv)))
    for i, paper in enumerate(zh_papers[20:32]):
        doi = f"10.1145/3700{i:03d}.{i + 5:04d}"
        add("doi", True, paper, entry(paper, doi=doi, link=f"https://journal.example.org/a/{i}"),
            entry({**paper, "text": paper["title"]}, days=90,
                  link=f"https://doi.org/{doi.upper()}"))
    for i, paper in enumerate(p for p in zh_papers if len(p["title"]) >= 8):
        if i >= 12:
            break
        first = paper["authors"][0] if paper["authors"] else "Anon Author"
        given, _, family = first.rpartition(" ")
        other = {**paper, "title": paper["title"].upper() + "。",
                 "authors": [f"{family}, {given}".strip(", "), *paper["authors"][1:]],
                 "text": "会议版本摘要：" + paper["title"]}
        add("title", True, paper, entry(paper, link=f"https://site-a.example.org/{i}"),
            entry(other, days=120, link=f"https://proceedings.example.org/{i}"))

    # Different stories.
    by_topic: dict[str, list[dict]] = {}
    for story in everything:
        by_topic.setdefault(story["topic"], []).append(story)
    topic_pairs = []
    for group in by_topic.values():
        topic_pairs.extend(itertools.combinations(group, 2))
    for a, b in rng.sample(topic_pairs, 110):
        add("topic", False, a, entry(a, link="https://a.example.org/x"),
            entry(b, days=rng.uniform(0, 5), link="https://b.example.org/y"))
    for story in rng.sample(everything, 20):
        other = rng.choice([o for o in by_topic[story["topic"]] if o is not story])
        add("followup", False, story, entry(story, link="https://a.example.org/f"),
            entry(followup(story, other), days=rng.uniform(1, 6), link="https://b.example.org/f"))
    for story in rng.sample(everything, 24):
        add("year", False, story, entry(story, link="https://events.example.org/2026"),
            entry(year_later(story), days=365 + rng.uniform(-3, 3),
                  link="https://events.example.org/2027"))
    for i, paper in enumerate(zh_papers[:10]):
        other = zh_papers[(i + 7) % len(zh_papers)]
        twin = {**other, "title": paper["title"], "authors": ["Someone Else", *other["authors"]]}
        add("title-other-author", False, paper, entry(paper, link=f"https://x.example.org/{i}"),
            entry(twin, days=2, link=f"https://y.example.org/{i}"))

    out = HERE / "pairs.jsonl"
    with out.open("w", encoding="utf-8") as handle:
        for pair in pairs:
            handle.write(json.dumps(pair, ensure_ascii=False, sort_keys=True) + "\n")
    counts: dict[tuple[str, bool], int] = {}
    for pair in pairs:
        counts[(pair["kind"], pair["duplicate"])] = counts.get((pair["kind"], pair["duplicate"]), 0) + 1
    print(f"{len(pairs)} pairs written to {out}")
    for (kind, dup), n in sorted(counts.items()):
        print(f"  {kind:20} {'dup' if dup else 'not'} {n}")
    langs: dict[str, int] = {}
    for pair in pairs:
        langs[pair["lang"]] = langs.get(pair["lang"], 0) + 1
    print("  by language:", langs)


if __name__ == "__main__":
    main()
