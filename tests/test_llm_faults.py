"""The LLM fault matrix: every way an endpoint misbehaves ends in the extractive answer, with the
right reason, within RAG_LLM_TIMEOUT + 1 s (one deadline per question). Loopback only: the fake
OpenAI-compatible server of tests/fake_openai.py on 127.0.0.1.
"""

from __future__ import annotations

import threading
import time

import pytest

from rag.answer import make_answerer
from rag.answer.deadline import CircuitBreaker, Deadline, question_arrived
from rag.answer.llm_client import retry_after_seconds
from rag.settings import Settings
from rag.types import Answer

from .answer_fixtures import DOCUMENTS, GOOD, NEWS_TECH, PILOT, QUESTION, QZ_REWARD, scored
from .fake_openai import FakeOpenAI

TIMEOUT = 1.0




def make(server, **overrides):
    server.requests.clear()
    values = {"llm_base_url": server.base_url, "llm_model": "fake-qwen", "llm_timeout": TIMEOUT, **overrides}
    return make_answerer("llm", Settings.load(env={}, overrides=values))


def ask(answerer, streaming=True) -> tuple[str, Answer, float]:
    t0 = time.perf_counter()
    if streaming:
        items = list(answerer.stream(QUESTION, scored(PILOT, NEWS_TECH, QZ_REWARD), DOCUMENTS))
        text, answer = "".join(i for i in items if isinstance(i, str)), items[-1]
    else:
        text, answer = "", answerer.answer(QUESTION, scored(PILOT, NEWS_TECH, QZ_REWARD), DOCUMENTS)
    return text, answer, time.perf_counter() - t0


def assert_fallback(answer: Answer, reason: str):
    assert answer.mode == "extractive" and not answer.abstained, answer.notices
    assert reason in answer.notices[0] and answer.notices[0].endswith("已改用摘录式回答。"), answer.notices
    assert answer.citations and all(s.supported for s in answer.sentences)
    assert "〔未核实〕" not in answer.answer


FAULTS = {
    "hang": (FakeOpenAI.hang(), "超时"),
    "slow headers": (FakeOpenAI.slow(5.0, GOOD), "超时"),
    "500": (FakeOpenAI.status(500), "HTTP 500"),
    "429 + Retry-After 60": (FakeOpenAI.status(429, "slow down", retry_after="60"), "60 秒后重试"),
    "garbage": (FakeOpenAI.raw("<html>not a completion</html>"), "无法解析"),
    "garbage mid-stream": (FakeOpenAI.broken_stream(GOOD), "无法解析"),
    "unknown ids": (FakeOpenAI.text("每个试点县补助1亿元[7]。"), "不存在的来源编号 [7]"),
    "dropped stream": (FakeOpenAI.dropped_stream(GOOD, keep=0.6), "未收到结束标记"),
    "dropped in the first sentence": (FakeOpenAI.dropped_stream(GOOD, keep=0.1), "未收到结束标记"),
}


@pytest.mark.parametrize("streaming", [True, False], ids=["stream", "blocking"])
@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_falls_back_within_the_deadline(server, name, streaming):
    reply, reason = FAULTS[name]
    server.reply = reply
    text, answer, took = ask(make(server), streaming)
    if not streaming and reply["kind"] in ("dropped_stream", "broken_stream"):  # a JSON reply: nothing to cut
        assert answer.mode == "llm"
        return
    assert took < TIMEOUT + 1.0, f"{name}: {took:.2f}s"
    assert_fallback(answer, reason)
    if streaming:
        assert answer.notices[0] in text  # the notice is visible while streaming too
    assert "1亿元" not in answer.answer


def test_retry_after_beyond_the_deadline_is_not_waited_for(server):
    server.reply = FakeOpenAI.status(429, retry_after="60")
    _, answer, took = ask(make(server))
    assert took < 0.5 and len(server.requests) == 1
    assert "HTTP 429" in answer.notices[0] and "超出 1 秒时限" in answer.notices[0]


def test_retry_after_within_the_deadline_is_honoured(server):
    server.reply = FakeOpenAI.sequence(FakeOpenAI.status(429, retry_after="0.3"), FakeOpenAI.text(GOOD))
    _, answer, took = ask(make(server, llm_timeout=3.0))
    assert answer.mode == "llm" and answer.notices == ()
    assert len(server.requests) == 2 and 0.3 <= took < 3.0


def test_a_dropped_stream_is_never_a_half_answer(server):
    server.reply = FakeOpenAI.dropped_stream(GOOD, keep=0.6)
    _, answer, _ = ask(make(server))
    assert answer.mode == "extractive" and "中断" in answer.notices[0]
    assert not any(n.startswith("第") and "未能" in n for n in answer.notices)  # not a "sentence not verified" notice


def test_the_deadline_counts_from_the_question_s_arrival(server):
    server.reply = FakeOpenAI.text(GOOD)
    answerer = make(server)
    with question_arrived(time.monotonic() - TIMEOUT - 0.1):  # e.g. it queued for a worker that long
        _, answer, took = ask(answerer)
    assert answer.mode == "extractive" and "超时" in answer.notices[0] and took < 0.5


def test_circuit_breaker_stops_calling_then_tries_again(server):
    answerer = make(server, llm_breaker_failures=2, llm_breaker_cooldown=0.6)
    server.reply = FakeOpenAI.status(503)
    _, first, _ = ask(answerer)  # two attempts (call + retry): two failures -> open
    assert "HTTP 503" in first.notices[0] and len(server.requests) == 2
    _, paused, took = ask(answerer)
    assert len(server.requests) == 2 and took < 0.3  # not called at all
    assert "暂停调用" in paused.notices[0] and paused.mode == "extractive"
    time.sleep(0.7)
    server.reply = FakeOpenAI.text(GOOD)
    _, recovered, _ = ask(answerer)  # the trial call succeeds: closed again
    assert recovered.mode == "llm" and len(server.requests) == 3
    assert answerer.client.breaker.state == "closed"


def test_concurrent_questions_against_a_hanging_endpoint_all_fall_back_in_time(server):
    server.reply = FakeOpenAI.hang()
    answerer = make(server, llm_concurrency=2)  # most questions wait for a slot: on their deadline
    took: list[float] = []
    answers: list[Answer] = []

    def one():
        _, a, t = ask(answerer)
        took.append(t)
        answers.append(a)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(answers) == 8 and max(took) < TIMEOUT + 1.0, took
    # timed out, or refused at once by the circuit breaker that the timeouts opened
    assert all(a.mode == "extractive" and ("超时" in a.notices[0] or "暂停调用" in a.notices[0]) for a in answers), \
        [a.notices for a in answers]
    assert len(server.requests) < 8  # at most llm_concurrency in flight: the others waited, most until their deadline


def test_breaker_states():
    now = [0.0]
    b = CircuitBreaker(failures=2, cooldown=10, clock=lambda: now[0])
    assert b.before_call() is None
    b.failure()
    assert b.state == "closed"
    b.failure()
    assert b.state == "open" and b.before_call() == pytest.approx(10)
    now[0] = 10.5
    assert b.before_call() is None  # the trial call
    assert b.before_call() is not None  # only one at a time
    b.failure()  # the trial failed: open, cooldown doubled
    now[0] = 25
    assert b.before_call() is not None
    now[0] = 31
    assert b.before_call() is None
    b.success()
    assert b.state == "closed" and b.before_call() is None


def test_retry_after_forms():
    assert retry_after_seconds({"retry-after": "60"}) == 60
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470) == 10
    assert retry_after_seconds({"retry-after": "soon"}) is None and retry_after_seconds({}) is None
    assert Deadline.after(-1).remaining() == 0
