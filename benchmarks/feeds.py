"""A deterministic generator of realistic feeds, and a loopback HTTP server for them.

Feed ``i`` of a benchmark is, for even ``i``, an arXiv-style RSS 2.0 listing (about
1,500-character abstracts, ``oai:`` guids with versions, ``dc:creator`` lists, announce
types, and one entry in five a cross-listing of a paper that feed ``i - 2`` announced,
so the run meets the same paper twice), and for odd ``i`` a blog-style Atom feed (HTML
content with links, images and code, relative URLs, Chinese and Japanese text, several
authors and categories). The same arguments always give the same bytes.

The server runs in its own process so that its memory and CPU are not counted as the
aggregator's; it pre-builds every feed before it reports its port.
"""

from __future__ import annotations

import html
import multiprocessing
import threading
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection

ARXIV_CATEGORIES = tuple(
    f"{area}.{sub}"
    for area, subs in (
        (
            "cs",
            [
                "AI",
                "CL",
                "LG",
                "CV",
                "IR",
                "RO",
                "SE",
                "DB",
                "DC",
                "CR",
                "NE",
                "HC",
                "MA",
                "SD",
                "SY",
            ],
        ),
        ("stat", ["ML", "ME", "AP", "CO", "TH"]),
        ("math", ["OC", "ST", "PR", "NA", "IT", "CO", "AG"]),
        ("eess", ["SP", "IV", "AS", "SY"]),
        ("q-bio", ["NC", "QM", "GN", "BM"]),
        ("physics", ["comp-ph", "data-an", "soc-ph", "optics"]),
        ("econ", ["EM", "GN", "TH"]),
        ("q-fin", ["ST", "CP", "RM"]),
        ("astro-ph", ["IM", "CO", "GA"]),
        ("cond-mat", ["dis-nn", "stat-mech"]),
    )
    for sub in subs
)[:50]
BLOG_TOPICS = tuple(f"blog.topic{n:02d}" for n in range(50))

_WORDS = [
    "model",
    "models",
    "language",
    "large",
    "reasoning",
    "agents",
    "benchmark",
    "dataset",
    "training",
    "inference",
    "retrieval",
    "augmented",
    "generation",
    "graph",
    "neural",
    "network",
    "attention",
    "transformer",
    "layer",
    "robust",
    "efficient",
    "scalable",
    "sparse",
    "dense",
    "embedding",
    "contrastive",
    "learning",
    "representation",
    "evaluation",
    "human",
    "preference",
    "alignment",
    "reward",
    "policy",
    "optimisation",
    "gradient",
    "descent",
    "convergence",
    "bound",
    "theorem",
    "analysis",
    "empirical",
    "results",
    "improve",
    "outperform",
    "baseline",
    "state-of-the-art",
    "novel",
    "approach",
    "framework",
    "method",
    "propose",
    "we",
    "show",
    "that",
    "our",
    "the",
    "of",
    "and",
    "in",
    "for",
    "with",
    "on",
    "to",
    "a",
    "an",
    "by",
    "from",
    "under",
    "across",
    "multiple",
    "tasks",
    "domains",
    "settings",
    "uncertainty",
    "calibration",
    "causal",
    "structure",
    "temporal",
    "spatial",
    "multimodal",
    "vision",
    "text",
    "audio",
    "speech",
    "robotics",
    "control",
    "planning",
    "memory",
    "context",
    "window",
    "long",
    "short",
    "fine-tuning",
    "quantisation",
    "distillation",
    "pruning",
    "hardware",
    "latency",
    "throughput",
    "energy",
    "privacy",
    "federated",
    "secure",
    "adversarial",
    "attack",
    "defence",
    "fairness",
    "bias",
    "interpretability",
]
_CJK = (
    "大规模语言模型在推理任务上的表现",
    "本研究提出了一种新的检索增强生成方法",
    "深層学習を用いた画像認識の高速化について報告します",
    "実験の結果、従来手法と比べて精度が向上しました",
    "我们在多个基准数据集上验证了该方法的有效性",
    "研究チームは来年度に成果を公開する予定です",
)
_SURNAMES = [
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Sato",
    "Suzuki",
    "Takahashi",
    "Tanaka",
    "Kim",
    "Lee",
    "Park",
    "Smith",
    "Johnson",
    "Garcia",
    "Müller",
    "Schmidt",
    "Rossi",
    "Dubois",
    "Novak",
    "Kowalski",
    "Silva",
    "Santos",
    "Ivanov",
    "Nguyen",
    "Singh",
    "Patel",
    "Kumar",
    "Cohen",
    "Levi",
    "Andersson",
    "Nielsen",
    "Virtanen",
    "Horvat",
    "Papadopoulos",
]
_INITIALS = "ABCDEFGHIJKLMNOPRSTUVWY"
_START = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)


class _Numbers:
    """A tiny deterministic pseudo-random stream (an LCG): fast, and identical on every
    Python version, unlike ``random`` whose algorithms may change."""

    def __init__(self, seed: int) -> None:
        self.state = (seed * 2654435761 + 12345) & 0xFFFFFFFF

    def next(self, bound: int) -> int:
        self.state = (self.state * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.state >> 8) % bound


def _sentence(rng: _Numbers, words: int) -> str:
    text = " ".join(_WORDS[rng.next(len(_WORDS))] for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: _Numbers, chars: int) -> str:
    parts: list[str] = []
    total = 0
    while total < chars:
        sentence = _sentence(rng, 8 + rng.next(14))
        parts.append(sentence)
        total += len(sentence) + 1
    return " ".join(parts)


def _people(rng: _Numbers, count: int) -> list[str]:
    return [
        f"{_INITIALS[rng.next(len(_INITIALS))]}. {_SURNAMES[rng.next(len(_SURNAMES))]}"
        for _ in range(count)
    ]


def _rfc822(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S +0000")


def arxiv_paper(feed: int, number: int) -> str:
    """The arXiv ID of the ``number``-th paper announced by arXiv-style feed ``feed``."""
    return f"2601.{(feed // 2) * 1000 + number:05d}"


def _arxiv_item(feed: int, position: int, entries: int) -> str:
    cross = position % 5 == 4 and feed >= 2
    origin = feed - 2 if cross else feed
    rng = _Numbers(origin * 100_003 + position)  # a cross-listing repeats the paper's text
    paper = arxiv_paper(origin, position)
    primary = ARXIV_CATEGORIES[(origin // 2) % len(ARXIV_CATEGORIES)]
    here = ARXIV_CATEGORIES[(feed // 2) % len(ARXIV_CATEGORIES)]
    title = _sentence(rng, 6 + rng.next(8))[:-1]
    abstract = _paragraph(rng, 1500)
    authors = ", ".join(_people(rng, 2 + rng.next(6)))
    announce = "cross" if cross else ("replace" if position % 17 == 16 else "new")
    version = 2 if announce == "replace" else 1
    categories = [primary] + ([here] if cross else [])
    if rng.next(3) == 0:
        categories.append(ARXIV_CATEGORIES[rng.next(len(ARXIV_CATEGORIES))])
    category_xml = "".join(f"<category>{c}</category>" for c in dict.fromkeys(categories))
    return (
        "<item>"
        f"<title>{html.escape(title)}</title>"
        f"<link>https://arxiv.org/abs/{paper}</link>"
        f"<description>arXiv:{paper}v{version} Announce Type: {announce} \n"
        f"Abstract: {html.escape(abstract)}</description>"
        f'<guid isPermaLink="false">oai:arXiv.org:{paper}v{version}</guid>'
        f"{category_xml}"
        f"<pubDate>{_rfc822(_START)}</pubDate>"
        f"<arxiv:announce_type>{announce}</arxiv:announce_type>"
        "<dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>"
        f"<dc:creator>{html.escape(authors)}</dc:creator>"
        "</item>\n"
    )


def _arxiv_feed(feed: int, entries: int) -> Iterator[str]:
    category = ARXIV_CATEGORIES[(feed // 2) % len(ARXIV_CATEGORIES)]
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss xmlns:arxiv="http://arxiv.org/schemas/atom"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:atom="http://www.w3.org/2005/Atom"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/" version="2.0">\n'
        f"<channel><title>{category} updates on arXiv.org</title>"
        f"<link>http://rss.arxiv.org/rss/{category}</link>"
        f"<description>{category} updates on the arXiv.org e-print archive.</description>"
        f'<atom:link href="https://rss.arxiv.org/rss/{category}" rel="self"'
        ' type="application/rss+xml"/>'
        "<docs>http://www.rssboard.org/rss-specification</docs><language>en-us</language>"
        f"<lastBuildDate>{_rfc822(_START)}</lastBuildDate>"
        "<managingEditor>rss-help@arxiv.org</managingEditor>"
        f"<pubDate>{_rfc822(_START)}</pubDate><skipDays><day>Saturday</day>"
        "<day>Sunday</day></skipDays>\n"
    )
    for position in range(entries):
        yield _arxiv_item(feed, position, entries)
    yield "</channel></rss>\n"


def _blog_entry(feed: int, position: int) -> str:
    rng = _Numbers(feed * 7_919 + position * 31 + 1)
    slug = f"{2026 - position // 300}/{1 + position % 12:02d}/post-{feed}-{position}"
    title = _sentence(rng, 4 + rng.next(6))[:-1]
    cjk = _CJK[rng.next(len(_CJK))]
    if rng.next(2):
        title = f"{title}: {cjk}"
    paragraphs = [f"<p>{html.escape(_paragraph(rng, 300 + rng.next(300)))}</p>" for _ in range(3)]
    paragraphs.insert(
        1,
        f'<p>{html.escape(cjk)}。<a href="/{slug}/notes">notes</a> and '
        f'<a href="https://example.com/ref/{position}?utm_source=feed&amp;x=1">a reference</a>'
        f'</p><figure><img src="images/{position}.png" alt="figure {position}"/>'
        f"<figcaption>{html.escape(_CJK[rng.next(len(_CJK))])}</figcaption></figure>",
    )
    paragraphs.append(
        "<pre><code>for x in range(10):\n    print(x &lt; 5 &amp;&amp; x)</code></pre>"
    )
    moment = _START - timedelta(hours=position * 7 + feed)
    people = _people(rng, 1 + rng.next(2))
    authors = "".join(f"<author><name>{name}</name></author>" for name in people)
    tags = "".join(
        f'<category term="{_WORDS[rng.next(len(_WORDS))]}"/>' for _ in range(1 + rng.next(3))
    )
    summary = html.escape(_paragraph(rng, 200))
    return (
        "<entry>"
        f"<title>{html.escape(title)}</title>"
        f'<link rel="alternate" type="text/html" href="/{slug}"/>'
        f"<id>tag:blog{feed}.example.org,2026:{slug}</id>"
        f"<published>{moment.isoformat()}</published>"
        f"<updated>{(moment + timedelta(minutes=position % 90)).isoformat()}</updated>"
        f"{authors}{tags}"
        f'<summary type="html">{summary}</summary>'
        f'<content type="html">{html.escape("".join(paragraphs))}</content>'
        "</entry>\n"
    )


def _blog_feed(feed: int, entries: int) -> Iterator[str]:
    yield (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">'
        f"<title>Blog number {feed} · ブログ</title>"
        f'<link rel="alternate" type="text/html" href="https://blog{feed}.example.org/"/>'
        f'<link rel="self" href="https://blog{feed}.example.org/atom.xml"/>'
        f"<id>tag:blog{feed}.example.org,2026:feed</id>"
        f"<updated>{_START.isoformat()}</updated>"
        f"<author><name>Blog {feed} editors</name></author>\n"
    )
    for position in range(entries):
        yield _blog_entry(feed, position)
    yield "</feed>\n"


def feed_bytes(index: int, entries: int) -> bytes:
    """Feed number ``index`` with ``entries`` entries, as served."""
    parts = _arxiv_feed(index, entries) if index % 2 == 0 else _blog_feed(index, entries)
    return "".join(parts).encode("utf-8")


def feed_kind(index: int) -> str:
    return "arxiv" if index % 2 == 0 else "feed"


def feed_category(index: int) -> str:
    """The category a config files feed ``index`` under (50 arXiv + 50 blog topics)."""
    if index % 2 == 0:
        return ARXIV_CATEGORIES[(index // 2) % len(ARXIV_CATEGORIES)]
    return BLOG_TOPICS[(index // 2) % len(BLOG_TOPICS)]


# -- serving ------------------------------------------------------------------------------


def answer(handler: BaseHTTPRequestHandler, body: bytes, etag: str, content_type: str) -> None:
    """Send ``body`` with its ETag, or a 304 when the request names that ETag."""
    if handler.headers.get("If-None-Match") == etag:
        handler.send_response(304)
        handler.send_header("ETag", etag)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return
    handler.send_response(200)
    handler.send_header("ETag", etag)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _serve(feeds: int, entries: int, big_entries: int, conn: Connection) -> None:
    documents = {f"/feeds/{i}.xml": feed_bytes(i, entries) for i in range(feeds)}
    if big_entries:
        documents["/feeds/big.xml"] = feed_bytes(0, big_entries)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = documents.get(self.path)
            if body is None:
                self.send_error(404)
                return
            # Validators as a real server sends them: a rerun is answered 304.
            answer(self, body, f'"{zlib.crc32(body):08x}-{len(body)}"', "application/xml")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    total = sum(len(body) for body in documents.values())
    conn.send((server.server_address[1], total))
    stopper = threading.Thread(target=lambda: (conn.recv(), server.shutdown()), daemon=True)
    stopper.start()
    server.serve_forever()


class FeedServer:
    """``with FeedServer(200, 500) as server:`` serves ``server.url(i)`` on 127.0.0.1."""

    def __init__(self, feeds: int, entries: int, *, big_entries: int = 0) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(feeds, entries, big_entries, child), daemon=True
        )
        self.port = 0
        self.total_bytes = 0

    def __enter__(self) -> FeedServer:
        self._process.start()
        self.port, self.total_bytes = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()

    def url(self, name: int | str) -> str:
        return f"http://127.0.0.1:{self.port}/feeds/{name}.xml"
