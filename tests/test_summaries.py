"""Summaries: the extractive provider, the chat-completions provider against a real
HTTP server on 127.0.0.1, the cache by content and the run's budget."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from aggregator._enrich.summaries import Summariser, extractive_summary, summary_for, variant_of
from aggregator._enrich.summaries.extractive import sentences
from aggregator._enrich.summaries.server import ServerProblem, parse_reply, retry_after
from aggregator._storage.sqlite import Store
from aggregator.config.summaries import SummariesSettings
from aggregator.types import StoredEntry
from benchmarks.chatserver import Answer, ChatServer, chat_server, completion, summarise

NOW = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)

# Abstracts written for these tests, in the shape of real ones.
ABSTRACT = (
    "Large language model agents increasingly act in open-ended software environments, "
    "yet their failures are hard to diagnose because errors compound over long action "
    "sequences. Existing benchmarks report only final success rates. We introduce "
    "TraceBench, a suite of 1,200 annotated agent trajectories with step-level labels "
    "for planning, tool-use and recovery errors. We further propose a critic model that "
    "flags the first faulty step, e.g. a wrong tool argument, from the trajectory alone. "
    "Experiments show that the critic localises 71% of first errors and improves task "
    "success by 9 points when used for retries. Code and data are available at "
    "https://example.org/tracebench."
)
PLAIN_ABSTRACT = (
    "The thermal conductivity of twisted bilayer graphene depends strongly on the twist "
    "angle. Molecular dynamics simulations at angles between 0.5 and 30 degrees reveal a "
    "minimum near the magic angle. Phonon lifetimes shorten where flat bands form."
)


def entry(key: str, title: str, summary: str | None = ABSTRACT, **changes: Any) -> StoredEntry:
    base = StoredEntry(
        key=key,
        atom_id=f"urn:test:{key}",
        title=title,
        link=f"https://example.org/{key}",
        published=NOW,
        updated=NOW,
        first_seen=NOW,
        digest_day=date(2026, 12, 4),
        authors=("A. Author",),
        summary=summary,
        content=None,
        sections=(),
        categories=("cs.AI",),
        pdf_url=None,
        arxiv_id=None,
        doi=None,
        language="en",
        content_hash=f"hash-{key}",
        position=0,
    )
    return replace(base, **changes)


def settings(url: str, **changes: Any) -> SummariesSettings:
    values: dict[str, Any] = {
        "provider": "openai-compatible",
        "base_url": url,
        "model": "llama3.1",
        "timeout": 5.0,
        "max_seconds": 30.0,
    }
    values.update(changes)
    return SummariesSettings(**values)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "test.db") as opened:
        yield opened


class Sleeps:
    """An injected sleep: remembers the waits and moves a fake monotonic clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def summariser(config: SummariesSettings, sleeps: Sleeps | None = None, **kw: Any) -> Summariser:
    if sleeps is not None:
        kw.update(clock=sleeps.clock, sleep=sleeps.sleep)
    return Summariser(config, now=lambda: NOW, environ=kw.pop("environ", {}), **kw)


# -- extractive ---------------------------------------------------------------------------


def test_extractive_sections_come_from_the_abstract_in_order() -> None:
    found = extractive_summary(ABSTRACT)
    assert found is not None
    # The TL;DR is the first sentence saying what this work does.
    assert found.tldr.startswith("We introduce TraceBench")
    assert found.background.startswith("Large language model agents")
    assert "Existing benchmarks" in found.background
    assert "critic model" in found.innovation
    assert found.conclusion.startswith("Experiments show")
    # The housekeeping sentence (code and data, a URL) is in no section.
    assert "example.org" not in json.dumps(found.__dict__)
    # Every word it shows is the abstract's own.
    for text in (found.tldr, found.background, found.innovation, found.conclusion):
        assert text.rstrip("…") in ABSTRACT or all(s in ABSTRACT for s in sentences(text))


def test_extractive_keeps_abbreviations_inside_a_sentence() -> None:
    assert len(sentences(ABSTRACT)) == 6
    assert any("e.g. a wrong tool argument" in s for s in sentences(ABSTRACT))


def test_extractive_without_we_still_has_a_tldr() -> None:
    found = extractive_summary(f"<p>{PLAIN_ABSTRACT}</p>")
    assert found is not None
    assert found.background.startswith("The thermal conductivity")
    assert found.conclusion  # "reveal a minimum"
    assert found.tldr and "<p>" not in found.tldr


def test_extractive_cjk_sentences() -> None:
    text = (
        "大语言模型在长文本推理中容易遗漏关键信息。"
        "本文提出一种分段检索方法，在推理时动态选择相关段落。"
        "实验表明该方法在三个基准上优于现有方法。"
    )
    found = extractive_summary(text)
    assert found is not None
    assert found.tldr.startswith("本文提出")
    assert found.background.startswith("大语言模型")
    assert found.conclusion.startswith("实验表明")


def test_extractive_long_sentence_is_cut_at_a_word() -> None:
    long = "We propose " + " ".join(f"word{i}" for i in range(200)) + "."
    found = extractive_summary(long)
    assert found is not None
    assert found.tldr.endswith("…") and len(found.tldr) <= 240
    assert not found.tldr[:-1].endswith("wor")


def test_extractive_nothing_to_summarise() -> None:
    assert extractive_summary(None) is None
    assert extractive_summary("<p> </p>") is None
    short = extractive_summary("A short note.")
    assert short is not None and short.tldr == "A short note." and not short.sections


def test_summary_for_prefers_the_cache_and_respects_own_sections() -> None:
    config = settings("http://127.0.0.1:9/v1")
    plain = entry("a", "Paper A")
    cached = {"hash-a": summarise_fields("cached TL;DR")}
    assert summary_for(plain, cached, config) == cached["hash-a"]
    assert summary_for(plain, {}, config) == extractive_summary(ABSTRACT)
    own = entry("b", "Paper B", sections=(("Background", "given"),))
    assert summary_for(own, cached, config) is None
    assert summary_for(plain, cached, SummariesSettings(provider="none")) is None


def summarise_fields(tldr: str) -> Any:
    from aggregator.types import Summary

    return Summary(tldr=tldr, background="b", innovation="i", conclusion="c")


# -- the reply ----------------------------------------------------------------------------


def test_parse_reply_accepts_fenced_json_and_counts_tokens() -> None:
    content = "```json\n" + json.dumps({k: "x y" for k in FIELDS}) + "\n```"
    reply = parse_reply(completion(content), language="", provider="p")
    assert reply.summary.tldr == "x y" and reply.tokens == 508


FIELDS = ("tldr", "background", "innovation", "conclusion")


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        ({"choices": []}, "not a chat completion"),
        (completion("Sure! Here is a summary: it is good."), "not JSON"),
        (completion("[1, 2]"), "not an object"),
        (completion(json.dumps({"tldr": "x"})), "lacks background, innovation, conclusion"),
        (completion(json.dumps(dict.fromkeys(FIELDS, "x")), finish="length"), "max_tokens"),
    ],
)
def test_parse_reply_refuses_what_was_not_asked_for(payload: Any, why: str) -> None:
    with pytest.raises(ServerProblem, match=why) as caught:
        parse_reply(payload, language="", provider="p")
    assert caught.value.kind == "malformed"


def test_parse_reply_wants_the_translated_title_when_asked() -> None:
    content = json.dumps(dict.fromkeys(FIELDS, "x"))
    with pytest.raises(ServerProblem, match="lacks title"):
        parse_reply(completion(content), language="zh", provider="p")


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after("7", now=NOW) == 7.0
    assert retry_after("Fri, 04 Dec 2026 07:00:30 GMT", now=NOW) == 30.0
    assert retry_after("soon", now=NOW) is None
    assert retry_after(None, now=NOW) is None


# -- against the server -------------------------------------------------------------------


def test_structured_summaries_are_asked_for_cached_and_not_asked_again(store: Store) -> None:
    entries = [entry(f"e{i}", f"Paper {i}") for i in range(5)]
    # The same text filed twice (another category, another source): asked once.
    entries.append(entry("copy", "Paper 0", content_hash="hash-e0"))
    with chat_server() as server:
        config = settings(server.url, api_key_env="TEST_KEY", concurrency=3)
        first = summariser(config, environ={"TEST_KEY": "sk-test-123"})
        lines = first.enrich(entries, store)
        assert server.calls == 5
        # What was sent: the model, a JSON schema, the key as a bearer token.
        sent = server.seen[0]
        assert sent.body["model"] == "llama3.1"
        assert sent.body["response_format"]["type"] == "json_schema"
        assert sent.body["response_format"]["json_schema"]["schema"]["required"] == list(FIELDS)
        assert sent.headers["authorization"] == "Bearer sk-test-123"
        assert sent.body["messages"][1]["content"].startswith("Title: Paper ")
        assert first.report.written == 5 and first.report.tokens == 5 * 508
        assert lines[0].startswith("Summaries: 5 written by openai-compatible/llama3.1")
        # A rerun (another process: a new summariser) asks nothing.
        again = summariser(config, environ={"TEST_KEY": "sk-test-123"})
        again.enrich(entries, store)
        assert server.calls == 5 and again.report.cached == 5
    cached = store.summaries_of(["hash-e3"], variant=variant_of(config) or "")
    assert cached["hash-e3"].tldr == "TLDR of Paper 3."
    assert cached["hash-e3"].provider == "openai-compatible/llama3.1"
    # A new version (new text) is asked for again; a new model is another variant.
    assert store.summaries_of(["hash-e3"], variant="openai-compatible|other||p1") == {}


def test_a_malformed_reply_is_retried_once_then_falls_back(store: Store) -> None:
    def script(body: dict[str, Any], number: int) -> Answer:
        title = body["messages"][1]["content"]
        if "Paper 0" in title:  # always prose
            return Answer(body=completion("I think this paper is about agents."))
        if "Paper 1" in title and number <= 3:  # prose once, then JSON
            return Answer(body=completion("Here you go!"))
        return summarise(body)

    with chat_server(script) as server:
        worker = summariser(settings(server.url, concurrency=1))
        lines = worker.enrich([entry("e0", "Paper 0"), entry("e1", "Paper 1")], store)
        assert server.calls == 4  # 2 for Paper 0, 2 for Paper 1
    assert worker.report.written == 1
    assert worker.report.fell_back == {"malformed reply": 1}
    assert any("unusable twice" in line for line in lines)
    assert set(store.summaries_of(["hash-e0", "hash-e1"], variant="x")) == set()
    assert set(store.summaries_of(["hash-e0", "hash-e1"], variant=worker_variant())) == {"hash-e1"}


def worker_variant() -> str:
    return variant_of(settings("http://127.0.0.1:1/v1")) or ""


def test_429_waits_as_told_then_summarises(store: Store) -> None:
    def script(body: dict[str, Any], number: int) -> Answer:
        if number == 1:
            return Answer(429, {"error": {"message": "slow down"}}, {"Retry-After": "20"})
        return summarise(body)

    sleeps = Sleeps()
    with chat_server(script) as server:
        worker = summariser(settings(server.url, concurrency=1), sleeps)
        worker.enrich([entry("e0", "Paper 0")], store)
    assert sleeps.waits == [20.0]
    assert worker.report.written == 1 and worker.report.retries == 1


def test_429_longer_than_the_time_left_stops_asking(store: Store) -> None:
    sleeps = Sleeps()
    script = lambda body, n: Answer(429, {"error": "quota"}, {"Retry-After": "3600"})  # noqa: E731
    with chat_server(script) as server:
        worker = summariser(settings(server.url, concurrency=1, max_seconds=60), sleeps)
        lines = worker.enrich([entry(f"e{i}", f"Paper {i}") for i in range(4)], store)
        assert server.calls == 1  # the rest are not sent at all
    assert sleeps.waits == []
    assert worker.report.written == 0 and sum(worker.report.fell_back.values()) == 4
    assert any("asked to wait 3600 s" in line and "max_seconds" in line for line in lines)


def test_5xx_is_retried_once_and_three_in_a_row_stop_the_server(store: Store) -> None:
    sleeps = Sleeps()
    with chat_server(lambda body, n: Answer(503, {"error": "overloaded"})) as server:
        worker = summariser(settings(server.url, concurrency=1), sleeps)
        lines = worker.enrich([entry(f"e{i}", f"Paper {i}") for i in range(10)], store)
        assert server.calls == 3
    assert worker.report.stopped and "3 times in a row" in worker.report.stopped
    assert sum(worker.report.fell_back.values()) == 10
    assert any(line.startswith("summaries: the server failed (HTTP 503)") for line in lines)


def test_max_seconds_bounds_the_whole_pass(store: Store) -> None:
    # Each reply takes 10 s of the (fake, shared) clock: 35 s fit four calls.
    sleeps = Sleeps()

    def script(body: dict[str, Any], number: int) -> Answer:
        sleeps.now += 10
        return summarise(body)

    with chat_server(script) as server:
        worker = summariser(settings(server.url, concurrency=1, max_seconds=35), sleeps)
        lines = worker.enrich([entry(f"e{i}", f"Paper {i}") for i in range(10)], store)
        assert server.calls == 4
    assert worker.report.written == 4 and worker.report.fell_back == {"out of time": 6}
    assert any("max_seconds = 35 ran out" in line for line in lines)


def test_a_reply_slower_than_timeout_is_a_failure(store: Store) -> None:
    sleeps = Sleeps()
    script = lambda body, n: Answer(delay=1.0, body=completion("{}"))  # noqa: E731
    with chat_server(script) as server:
        worker = summariser(settings(server.url, concurrency=1, timeout=0.2), sleeps)
        lines = worker.enrich([entry(f"e{i}", f"Paper {i}") for i in range(5)], store)
        assert server.calls == 3  # one entry retried once, a third: stopped
    assert sum(worker.report.fell_back.values()) == 5
    assert any("no reply within 0.2 s, 3 times in a row" in line for line in lines)


def test_no_server_there_is_said_once(store: Store) -> None:
    worker = summariser(settings("http://127.0.0.1:9/v1", concurrency=4))
    lines = worker.enrich([entry(f"e{i}", f"Paper {i}") for i in range(6)], store)
    assert worker.report.calls <= 4  # the ones already started, no more
    assert [line for line in lines if "cannot connect" in line] == [
        f"summaries: cannot connect to http://127.0.0.1:9/v1 ({_refused()}): is the server running?"
    ]


def _refused() -> str:
    try:
        httpx.post("http://127.0.0.1:9/v1/chat/completions", timeout=2)
    except httpx.ConnectError as err:
        return str(err)
    raise AssertionError("something listens on port 9")


def test_a_refused_key_and_a_missing_key(store: Store) -> None:
    with chat_server(lambda body, n: Answer(401, {"error": {"message": "bad key"}})) as server:
        config = settings(server.url, api_key_env="KEY", concurrency=1)
        worker = summariser(config, environ={"KEY": "wrong"})
        lines = worker.enrich([entry("e0", "Paper 0"), entry("e1", "Paper 1")], store)
        assert server.calls == 1
        assert "refused the API key (HTTP 401): check $KEY" in lines[-1]
        missing = summariser(settings(server.url, api_key_env="KEY"), environ={})
        lines = missing.enrich([entry("e0", "Paper 0")], store)
        assert server.calls == 1
    assert "$KEY is not set" in lines[-1]
    # The key itself is never in what the run says.
    assert "wrong" not in " ".join(lines)


def test_budget_of_entries_and_tokens(store: Store) -> None:
    entries = [entry(f"e{i}", f"Paper {i}") for i in range(10)]
    with chat_server() as server:
        by_count = summariser(settings(server.url, concurrency=1, max_entries_per_run=3))
        lines = by_count.enrich(entries, store)
        assert server.calls == 3
        assert any("max_entries_per_run = 3" in line for line in lines)
        # 508 tokens per call: the fourth call is not made past 1,500.
        by_tokens = summariser(settings(server.url, concurrency=1, max_tokens_per_run=1500))
        lines = by_tokens.enrich(entries, store)
        assert server.calls == 3 + 3
        assert any("max_tokens_per_run = 1,500 reached" in line for line in lines)


def test_translated_title_in_cjk(store: Store) -> None:
    with chat_server() as server:
        config = settings(server.url, language="zh")
        worker = summariser(config)
        worker.enrich([entry("e0", "Agent Traces")], store)
        assert (
            "translated into the language with the BCP 47 tag 'zh'"
            in (server.seen[0].body["messages"][0]["content"])
        )
        schema = server.seen[0].body["response_format"]["json_schema"]["schema"]
        assert "title" in schema["required"]
    found = store.summaries_of(["hash-e0"], variant=variant_of(config) or "")["hash-e0"]
    assert found.title == "关于Agent Traces的研究" and found.language == "zh"


def test_own_sections_and_empty_entries_are_never_sent(store: Store) -> None:
    with chat_server() as server:
        worker = summariser(settings(server.url))
        worker.enrich(
            [
                entry("own", "Daily list item", sections=(("Background", "given"),)),
                entry("empty", "Title only", summary=None),
            ],
            store,
        )
        assert server.calls == 0


def test_the_extractive_provider_sends_nothing(store: Store) -> None:
    with chat_server() as server:
        worker = Summariser(SummariesSettings(), now=lambda: NOW)
        assert worker.enrich([entry("e0", "Paper 0")], store) == []
        assert server.calls == 0


def test_chat_server_rejects_unknown_paths() -> None:
    # The test server itself: a wrong base_url gets a 404 like a real one.
    with chat_server() as server:
        response = httpx.post(server.url.replace("/v1", "/v2") + "/chat/completions", json={})
        assert response.status_code == 404
        assert isinstance(server, ChatServer)
