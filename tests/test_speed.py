"""The time budget: the speed estimate (speed.py) and the prompt it sizes (budget.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import FakeLLMServer, completion, fake_tokens, git, is_prefill
from pytest_httpx import HTTPXMock

from commit_polish import budget, hook, request, speed
from commit_polish.speed import Estimate, Sample

CHAT = re.compile(r"http://127\.0\.0\.1:\d+/v1/chat/completions$")
TIMINGS = {"prompt_n": 400, "prompt_ms": 2000.0, "predicted_n": 40, "predicted_ms": 2000.0}


@pytest.mark.parametrize(
    ("prompt_tps", "reply_tps", "target", "max_tokens", "room"),
    [
        (100.0, 20.0, 15.0, 48, int((15 - 1.5 - 2.4) * 100)),
        (100.0, 20.0, 15.0, 160, int((15 - 1.5 - 8.0) * 100)),
        (1000.0, 50.0, 30.0, 100, int((30 - 1.5 - 2.0) * 1000)),
        (100.0, 10.0, 15.0, 160, 0),  # the reply alone is over the target
        (64.0, 16.0, 1.0, 48, 0),
    ],
)
def test_room_tokens(
    prompt_tps: float, reply_tps: float, target: float, max_tokens: int, room: int
) -> None:
    estimate = Estimate(prompt_tps, reply_tps, samples=1)
    assert speed.room_tokens(estimate, target_seconds=target, max_tokens=max_tokens) == room


@pytest.mark.parametrize(
    ("timings", "sample"),
    [
        (TIMINGS, Sample(200.0, 20.0)),
        # The prompt read from the cache: three tokens say nothing of the prompt's speed.
        ({**TIMINGS, "prompt_n": 3, "prompt_ms": 1.0}, Sample(None, 20.0)),
        ({**TIMINGS, "predicted_n": 1}, Sample(200.0, None)),
        ({"prompt_n": 400, "prompt_ms": 0}, None),
        ({"prompt_n": True, "prompt_ms": 5.0}, None),
        ({"prompt_n": "400", "prompt_ms": 5.0}, None),
        ({"prompt_n": 1e300, "prompt_ms": 1e-300}, None),  # beyond any machine
        ({"prompt_n": float("nan"), "prompt_ms": 5.0}, None),
        ([1, 2], None),
        (None, None),
    ],
)
def test_from_timings(timings: object, sample: Sample | None) -> None:
    assert speed.from_timings(timings) == sample


@pytest.mark.parametrize(
    ("evaluated", "completion_tokens", "seconds", "prompt_tps"),
    [
        (500, 16, 6.0, 100.0),  # 1 s of writing at 16/s, 5 s of reading
        (500, 160, 6.0, None),  # the writing alone took longer: no prompt speed
        (10, 16, 6.0, None),  # nearly all cached
        (None, 16, 6.0, None),
    ],
)
def test_from_wall(
    evaluated: int | None, completion_tokens: int, seconds: float, prompt_tps: float | None
) -> None:
    sample = speed.from_wall(
        Estimate(), evaluated=evaluated, completion=completion_tokens, seconds=seconds
    )
    assert (sample.prompt_tps if sample else None) == prompt_tps


@pytest.mark.parametrize(
    ("before", "sample", "after"),
    [
        (Estimate(), Sample(300.0, 30.0), Estimate(300.0, 30.0, 1)),  # a first measure
        (Estimate(100.0, 20.0, 5), Sample(120.0, None), Estimate(106.0, 20.0, 6)),
        # One slow commit moves the estimate by 30% of at most half: not halved.
        (Estimate(100.0, 20.0, 5), Sample(10.0, 2.0), Estimate(85.0, 17.0, 6)),
        # A cache the server did not report (100x faster) at most doubles it, smoothed.
        (Estimate(100.0, 20.0, 5), Sample(10_000.0, None), Estimate(130.0, 20.0, 6)),
    ],
)
def test_updated(before: Estimate, sample: Sample, after: Estimate) -> None:
    got = speed.updated(before, sample)
    assert got.prompt_tps == pytest.approx(after.prompt_tps)
    assert got.reply_tps == pytest.approx(after.reply_tps)
    assert got.samples == after.samples


def test_record_then_load_round_trip() -> None:
    speed.record("http://127.0.0.1:1/v1", "llamafile/m", Sample(250.0, 25.0))
    assert speed.load("http://127.0.0.1:1/v1", "llamafile/m") == Estimate(250.0, 25.0, 1)
    assert speed.load("http://127.0.0.1:2/v1", "llamafile/m") == Estimate()  # another server


def test_file_is_bounded() -> None:
    for port in range(speed.MAX_SERVERS + 5):
        speed.record(f"http://127.0.0.1:{port}/v1", "m", Sample(100.0, 10.0))
    assert len(json.loads(speed.file().read_text())) == speed.MAX_SERVERS


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[1, 2]",
        b'{"m @ B": {"prompt_tps": NaN, "reply_tps": 1, "samples": 1}}',
        b'{"m @ B": {"prompt_tps": -5, "reply_tps": 1, "samples": 1}}',
        b'{"m @ B": {"prompt_tps": 1e999, "reply_tps": 1, "samples": 1}}',
        b'{"m @ B": {"prompt_tps": "fast", "reply_tps": 1, "samples": 1}}',
        b'{"m @ B": {"prompt_tps": 5, "reply_tps": 1, "samples": 0}, "x": 1}',
        b'{"m @ B": ' * 5000 + b"}" * 5000,
        b" " * (speed.MAX_FILE + 1),
        b"\xff\xfe",
    ],
)
def test_broken_file_is_no_estimate(content: bytes) -> None:
    speed.file().parent.mkdir(parents=True, exist_ok=True)
    speed.file().write_bytes(content)
    assert speed.load("B", "m") == Estimate()
    speed.record("B", "m", Sample(100.0, 10.0))  # and is replaced, not an error
    assert speed.load("B", "m") == Estimate(100.0, 10.0, 1)


def test_estimate_file_may_not_be_a_fifo() -> None:
    import os

    speed.file().parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(speed.file())
    assert speed.load("B", "m") == Estimate()  # no wait for a writer


# ------------------------------------------------------------ the prompt the hook sends


def _stage_big(repo: Path) -> None:
    for i in range(40):
        (repo / f"m{i:02}.py").write_text("".join(f"value_{i}_{n} = {n}\n" for n in range(60)))
    git(repo, "add", "-A")


def _sent_prompt(httpx_mock: HTTPXMock) -> tuple[int, dict[str, object]]:
    """Tokens (fake tokenizer) of the request proper's messages, and its body."""
    bodies = [json.loads(r.content) for r in httpx_mock.get_requests(url=CHAT) if not is_prefill(r)]
    body = bodies[0]
    text = "\n".join(m["content"] for m in body["messages"])
    return len(fake_tokens(text)), body


def _generate(httpx_mock: HTTPXMock, reply: dict[str, object] | None = None) -> int:
    httpx_mock.add_response(
        url=CHAT, json=reply or completion("feat: add value modules"), is_reusable=True
    )
    hook.generate(hook.load_context(), draft="", comment="#")
    return _sent_prompt(httpx_mock)[0]


def _seed(prompt_tps: float, reply_tps: float) -> None:
    ctx = hook.load_context()
    speed.record(hook.destination(ctx), ctx.cfg.ai.model, Sample(prompt_tps, reply_tps))


@pytest.mark.parametrize(("slow", "fast"), [(80.0, 800.0), (100.0, 1000.0)])
def test_slow_estimate_shrinks_the_diff_sent(
    staged: Path,
    httpx_mock: HTTPXMock,
    llama_cpp: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    slow: float,
    fast: float,
) -> None:
    llama_cpp["n_ctx"] = 32768
    monkeypatch.setenv("COMMIT_POLISH_RULES", "false")
    _stage_big(staged.parent.parent)
    _seed(slow, 50.0)
    slow_tokens = _generate(httpx_mock)
    httpx_mock.reset()
    from helpers import answer_as_llama_cpp

    answer_as_llama_cpp(httpx_mock, llama_cpp)
    speed.file().unlink()
    _seed(fast, 50.0)
    fast_tokens = _generate(httpx_mock)
    # What the target allows (15 s less 1.5 s and a subject's 40 tokens at 50/s), the prompt
    # included; more than if all of max_tokens (160) were spent on the reply.
    allowed = int((15 - 1.5 - budget.SUBJECT_TOKENS / 50) * slow)
    assert int((15 - 1.5 - 160 / 50) * slow) + 64 < slow_tokens <= allowed + 64
    assert fast_tokens > 2 * slow_tokens


def test_a_server_too_slow_for_the_facts_gets_fewer_of_their_lines(
    staged: Path, httpx_mock: HTTPXMock, llama_cpp: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 new files' facts alone are more than 20 tokens/s reads in the target: the facts
    shrink instead of the commit taking several targets."""
    llama_cpp["n_ctx"] = 32768
    monkeypatch.setenv("COMMIT_POLISH_RULES", "false")
    _stage_big(staged.parent.parent)
    _seed(20.0, 50.0)
    _generate(httpx_mock)
    _tokens, body = _sent_prompt(httpx_mock)
    user = body["messages"][-1]["content"]  # type: ignore[index]
    kept = user.count(" (Python, source)")
    assert kept in request.FACT_FILES[1:]
    assert f"… and {41 - kept} more files" in user  # greet.py and the 40


def test_context_stays_the_hard_limit(
    staged: Path, httpx_mock: HTTPXMock, llama_cpp: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server the estimate says is instant still gets no more than its context."""
    llama_cpp["n_ctx"] = 2048
    monkeypatch.setenv("COMMIT_POLISH_RULES", "false")
    _stage_big(staged.parent.parent)
    _seed(speed.MAX_TPS, speed.MAX_TPS)
    tokens = _generate(httpx_mock)
    assert 1000 < tokens <= 2048 - 160


def test_timings_in_a_reply_are_recorded(
    staged: Path, httpx_mock: HTTPXMock, llama_cpp: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_RULES", "false")
    _stage_big(staged.parent.parent)
    reply = {**completion("feat: add value modules"), "timings": TIMINGS}
    _generate(httpx_mock, reply)
    ctx = hook.load_context()
    # 400 prompt tokens evaluated in 2 s, 40 written in 2 s.
    learned = speed.load(hook.destination(ctx), ctx.cfg.ai.model)
    assert (learned.prompt_tps, learned.reply_tps) == (200.0, 20.0)
    assert learned.samples >= 1


def test_commit_through_the_hook_learns_the_speed(
    hooked_repo: Path, fake_server: FakeLLMServer
) -> None:
    """A real commit, with a broken estimate file in place: it is ignored and replaced by
    what the reply's timings say."""
    speed.file().parent.mkdir(parents=True, exist_ok=True)
    speed.file().write_text("{broken")
    fake_server.timings = TIMINGS
    (hooked_repo / "greet.py").write_text("def greet():\n    return 'hi'\n")
    git(hooked_repo, "add", "greet.py")
    result = git(hooked_repo, "commit", "-q", check=False)
    assert result.returncode == 0, result.stderr
    assert git(hooked_repo, "log", "-1", "--format=%s").stdout.strip() == fake_server.reply
    entries = json.loads(speed.file().read_text())
    (entry,) = entries.values()
    assert entry["prompt_tps"] == 200.0 and entry["reply_tps"] == 20.0


def test_the_warm_service_brings_the_timings_back(
    hooked_repo: Path, fake_server: FakeLLMServer, warm_service: Path
) -> None:
    """Through the service the reply's timings come back to the hook, which records them
    (the service holds no estimate of its own)."""
    fake_server.timings = TIMINGS
    (hooked_repo / "greet.py").write_text("def greet():\n    return 'hi'\n")
    git(hooked_repo, "add", "greet.py")
    result = git(hooked_repo, "commit", "-q", check=False)
    assert result.returncode == 0, result.stderr
    (entry,) = json.loads(speed.file().read_text()).values()
    assert (entry["prompt_tps"], entry["reply_tps"]) == (200.0, 20.0)
