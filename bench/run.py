"""The hook's speed benchmarks; writes docs/performance.md and docs/performance.png.

    .venv/bin/python -m bench.run            # everything (about 5 minutes on 2 cores)
    .venv/bin/python -m bench.run --no-real  # without llama-server (skip paths, overhead)

Every figure is a median of wall times measured in this one run, next to a baseline measured
in the same run (machines are noisy: compare ratios, not absolute numbers across runs).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from bench import png
from bench.diffs import git, make_repo

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SIZES = (10, 100, 1_000, 10_000, 100_000)
REAL_CTX = 4096
REAL_MAX_TOKENS = 48


def median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000


def timed(cmd: Sequence[str], *, cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, check=False)
    return time.perf_counter() - started


def base_env(home: Path) -> dict[str, str]:
    """A clean user: own HOME and XDG dirs (so platformdirs runs as for a real user), and
    bytecode caches allowed, as in any installed package (PYTHONDONTWRITEBYTECODE in the
    developer's shell would make every run compile commit-polish from source)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "COMMIT_POLISH_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_STATE_HOME=str(home / ".local/state"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
    )
    (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n")
    return env


def hook_cmd(msg: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "commit_polish", "hook", str(msg), *args]


# --------------------------------------------------------------------------- skip paths


def bench_skip(work: Path, runs: int) -> dict[str, float]:
    env = base_env(work / "home")
    repo = work / "skip-repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.txt").write_text("a\n")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-q", "-m", "init")
    msg = repo / ".git" / "COMMIT_EDITMSG"
    msg.write_text("text\n")
    staged = dict(env)
    cases: dict[str, tuple[list[str], dict[str, str]]] = {
        "python -c pass": ([sys.executable, "-c", "pass"], env),
        "merge": (hook_cmd(msg, "merge"), env),
        "amend (commit HEAD)": (hook_cmd(msg, "commit", "HEAD"), env),
        "-m (message)": (hook_cmd(msg, "message"), env),
        "nothing staged": (hook_cmd(msg), env),
        "COMMIT_POLISH_SKIP=1": (hook_cmd(msg), {**staged, "COMMIT_POLISH_SKIP": "1"}),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):  # interleaved, so load changes hit every case alike
        for name, (cmd, case_env) in cases.items():
            samples[name].append(timed(cmd, cwd=repo, env=case_env))
    return {name: median_ms(s) for name, s in samples.items()}


def heavy_imports(work: Path) -> list[str]:
    """Modules over 5 ms (cumulative) on the -m skip path, from python -X importtime."""
    repo = work / "skip-repo"
    msg = repo / ".git" / "COMMIT_EDITMSG"
    env = base_env(work / "home")
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *hook_cmd(msg, "message")[1:]],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    loaded = [line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line]
    return [m for m in ("litellm", "httpx", "click", "openai", "pydantic") if m in loaded]


# --------------------------------------------------------------------------- stand-in server


# Names a definition of make_repo's change and has the type its facts settle, so the hook
# keeps it (a reply that names nothing of the change is rejected: the failure path).
STAND_IN_REPLY = "fix: update function_0"


class StandIn:
    """An instant OpenAI-compatible server that also answers /props and /tokenize."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The headers and the body go out in two writes: with Nagle on, the body waits
            # for the client's delayed ACK, 40 ms per POST that are the stand-in's, not ours.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._send({"default_generation_settings": {"n_ctx": 4096}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/tokenize":
                    self._send({"tokens": list(range(len(body.get("content", "")) // 4))})
                    return
                self._send(
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "created": 0,
                        "model": "stand-in",
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": STAND_IN_REPLY},
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


NO_TEARDOWN = 'python -c "import litellm, os; os._exit(0)"'


def bench_overhead(work: Path, runs: int) -> dict[str, float]:
    env = base_env(work / "home")
    repo = work / "overhead-repo"
    make_repo(repo, 100)
    msg = repo / ".git" / "COMMIT_EDITMSG"
    with StandIn() as server:
        hook_env = {
            **env,
            "COMMIT_POLISH_API_BASE": f"http://127.0.0.1:{server.port}/v1",
            "COMMIT_POLISH_MODEL": "llamafile/stand-in",
        }
        cases = {
            "python -c pass": ([sys.executable, "-c", "pass"], env),
            'python -c "import litellm"': ([sys.executable, "-c", "import litellm"], env),
            NO_TEARDOWN: ([sys.executable, "-c", "import litellm, os; os._exit(0)"], env),
            "commit-polish hook (generate)": (hook_cmd(msg), hook_env),
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(runs):
            for name, (cmd, case_env) in cases.items():
                msg.write_text("\n# git's comment\n")
                samples[name].append(timed(cmd, cwd=repo, env=case_env))
        if STAND_IN_REPLY not in msg.read_text():
            raise RuntimeError("the hook did not write the stand-in's message")
    return {name: median_ms(s) for name, s in samples.items()}


# --------------------------------------------------------------------------- warm service

SERVICE_RUNS = 5
HEAVY = ("litellm", "openai", "httpx", "pydantic", "click")


# Runs the command and prints its wall seconds and peak RSS. A child's maxrss counts what it
# was at fork, so the command is started from this small interpreter, not from the bench's
# own (tens of MB with httpx loaded): the floor is a bare interpreter's size.
_MEASURE = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def timed_rss(cmd: Sequence[str], *, cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one process (resource.getrusage of children)."""
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *cmd], cwd=cwd, env=env, capture_output=True, text=True
    ).stdout.split()
    per_kb = 1 if sys.platform.startswith("linux") else 1024  # macOS reports bytes
    return float(out[0]), float(out[1]) / 1024 / per_kb


@contextmanager
def warm_service(env: dict[str, str]) -> Iterator[Path]:
    """``python -m commit_polish.service`` for this user, once it answers."""
    from commit_polish import service

    where = [sys.executable, "-c", "from commit_polish import service as s; print(s.socket_path())"]
    path = Path(subprocess.run(where, env=env, capture_output=True, text=True).stdout.strip())
    proc = subprocess.Popen(
        [sys.executable, "-m", "commit_polish.service"], env=env, stderr=subprocess.DEVNULL
    )
    try:
        while service.ping(path) is None:
            if proc.poll() is not None:
                raise RuntimeError("the service exited before it listened")
            time.sleep(0.1)
        yield path
    finally:
        proc.terminate()
        proc.wait(30)


def loaded_modules(cmd: Sequence[str], *, cwd: Path, env: dict[str, str]) -> list[str]:
    """The heavy modules one run imports, from python -X importtime."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *cmd[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    loaded = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    return [name for name in HEAVY if name in loaded]


def bench_service(work: Path, runs: int = SERVICE_RUNS) -> dict[str, Any]:
    """The generating hook with and without the warm service, against the instant
    stand-in: wall time and the hook process's peak RSS, medians of ``runs``."""
    env = base_env(work / "home")
    repo = work / "service-repo"
    make_repo(repo, 100)
    msg = repo / ".git" / "COMMIT_EDITMSG"
    with StandIn() as server, warm_service(env) as path:
        hook_env = {
            **env,
            "COMMIT_POLISH_API_BASE": f"http://127.0.0.1:{server.port}/v1",
            "COMMIT_POLISH_MODEL": "llamafile/stand-in",
        }
        hidden = path.with_name(path.name + ".away")  # the "without" case: no socket there
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "hook, in-process LiteLLM": hook_cmd(msg),
            "hook with the warm service": hook_cmd(msg),
        }
        walls: dict[str, list[float]] = {name: [] for name in cases}
        rss: dict[str, list[float]] = {name: [] for name in cases}
        imports: dict[str, list[str]] = {}
        for _ in range(runs):
            for name, cmd in cases.items():
                msg.write_text("\n# git's comment\n")
                away = name == "hook, in-process LiteLLM"
                if away:
                    path.rename(hidden)
                try:
                    seconds, peak = timed_rss(cmd, cwd=repo, env=hook_env)
                    if name not in imports and name != "python -c pass":
                        msg.write_text("\n# git's comment\n")
                        imports[name] = loaded_modules(cmd, cwd=repo, env=hook_env)
                finally:
                    if away:
                        hidden.rename(path)
                walls[name].append(seconds)
                rss[name].append(peak)
                if name != "python -c pass" and STAND_IN_REPLY not in msg.read_text():
                    raise RuntimeError(f"{name}: the hook did not write the stand-in's message")
    return {
        "runs": runs,
        "medians": {name: median_ms(s) for name, s in walls.items()},
        "rss_mb": {name: statistics.median(s) for name, s in rss.items()},
        "imports": imports,
    }


# --------------------------------------------------------------------------- real server


@contextmanager
def real_server(ctx: int, extra: Sequence[str] = ()) -> Iterator[Any]:
    sys.path.insert(0, str(ROOT))
    from dev.realserver import RealServer, llama_server_binary, smollm2_gguf

    with RealServer(
        llama_server_binary(), smollm2_gguf(), ctx=ctx, alias="smollm2", extra_args=extra
    ) as server:
        yield server


def real_hook_env(env: dict[str, str], server: Any, stats: Path) -> dict[str, str]:
    """The hook's environment against the real server: SmolLM2, a short reply, a generous
    time budget, and one JSON line per reply in ``stats``."""
    return {
        **env,
        "COMMIT_POLISH_API_BASE": server.api_base,
        "COMMIT_POLISH_MODEL": "llamafile/smollm2",
        "COMMIT_POLISH_MAX_TOKENS": str(REAL_MAX_TOKENS),
        "COMMIT_POLISH_TIMEOUT": "600",
        # The size curve measures the context's limit; bench_target the time's.
        "COMMIT_POLISH_TARGET_SECONDS": "3600",
        "COMMIT_POLISH_STATS": str(stats),
    }


def read_all_stats(path: Path) -> list[dict[str, Any]]:
    """Every reply the hook recorded since the last read (the first, any repair)."""
    lines = path.read_text().splitlines() if path.exists() else []
    path.unlink(missing_ok=True)
    if not lines:
        raise RuntimeError("the hook recorded no reply (did it fail? see its stderr)")
    return [json.loads(line) for line in lines]


def read_stats(path: Path) -> dict[str, Any]:
    return read_all_stats(path)[-1]


def flush(server: Any) -> None:
    """Evaluate an unrelated prompt so the next request finds nothing of its own cached."""
    httpx.post(
        f"{server.base_url}/completion",
        json={"prompt": f"unrelated {time.time()}", "n_predict": 1, "cache_prompt": False},
        timeout=60,
    )


def metrics(server: Any) -> dict[str, float]:
    """llama-server's cumulative counters (``--metrics``): seconds spent reading prompts and
    generating, so a hook run's split comes from its own requests."""
    text = httpx.get(f"{server.base_url}/metrics", timeout=30).text
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("llamacpp:") and " " in line:
            name, value = line.split(" ", 1)
            values[name[len("llamacpp:") :]] = float(value)
    return values


def bench_sizes(work: Path, runs: int) -> list[dict[str, Any]]:
    env = base_env(work / "home")
    rows: list[dict[str, Any]] = []
    with real_server(REAL_CTX, ["--cache-ram", "0", "--metrics"]) as server:
        n_ctx = httpx.get(f"{server.base_url}/props").json()["default_generation_settings"]
        stats = work / "stats.jsonl"
        hook_env = real_hook_env(env, server, stats)
        for size in SIZES:
            repo = work / f"size-{size}"
            started = time.perf_counter()
            lines = make_repo(repo, size)
            made = time.perf_counter() - started
            msg = repo / ".git" / "COMMIT_EDITMSG"
            walls, prompts, gens, prompt_s, gen_s = [], [], [], [], []
            for _ in range(runs):
                flush(server)
                msg.write_text("\n# git's comment\n")
                before = metrics(server)
                walls.append(timed(hook_cmd(msg), cwd=repo, env=hook_env))
                after = metrics(server)
                prompt_s.append(after["prompt_seconds_total"] - before["prompt_seconds_total"])
                gen_s.append(
                    after["tokens_predicted_seconds_total"]
                    - before["tokens_predicted_seconds_total"]
                )
                got = read_stats(stats)
                prompts.append(got["prompt_tokens"])
                gens.append(got["completion_tokens"])
            rows.append(
                {
                    "lines": lines,
                    "repo_seconds": made,
                    "wall_ms": median_ms(walls),
                    "prompt_tokens": statistics.median(prompts),
                    "completion_tokens": statistics.median(gens),
                    "prompt_ms": median_ms(prompt_s),
                    "predicted_ms": median_ms(gen_s),
                    "n_ctx": n_ctx["n_ctx"],
                    "startup_s": server.startup_seconds,
                }
            )
            print(f"bench: {lines} lines: {rows[-1]}", file=sys.stderr)
    return rows


# On these 2 cores SmolLM2-135M reads about 80 prompt tokens/s: the default 15 s leaves room
# for the fixed prompt (about 500 tokens) and a few hundred tokens of diff.
TARGET_SECONDS = float(os.environ.get("BENCH_TARGET_SECONDS", "15"))


def speed_file(env: dict[str, str]) -> Path:
    """Where the hook keeps its speed estimate for this environment's user."""
    code = "from commit_polish import speed; print(speed.file())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return Path(out.stdout.strip())


def target_run(server: Any, repo: Path, env: dict[str, str], stats: Path) -> dict[str, float]:
    msg = repo / ".git" / "COMMIT_EDITMSG"
    flush(server)
    msg.write_text("\n# git's comment\n")
    wall = timed(hook_cmd(msg), cwd=repo, env=env)
    replies = read_all_stats(stats)
    return {
        "wall_s": wall,
        "prompt_tokens": replies[0]["prompt_tokens"],
        # Where the time went: how many requests (a repair doubles the work), the model's
        # own seconds and the reply tokens.
        "requests": len(replies),
        "model_s": sum(r["seconds"] for r in replies),
        "completion_tokens": sum(r["completion_tokens"] or 0 for r in replies),
    }


def bench_target(work: Path, runs: int, *, service: bool = True) -> dict[str, Any]:
    """The 10 -> 100,000-line curve against ``target_seconds``: a first commit with no
    speed estimate (the conservative default), then warmed (after one commit to learn
    from), nothing of the diff cached either way."""
    env = base_env(work / "home")
    rows: list[dict[str, Any]] = []
    # As `commit-polish serve` runs it: the model server and the warm service beside it;
    # or, without the service, the hook importing LiteLLM itself on every commit.
    beside = warm_service(env) if service else contextlib.nullcontext()
    with real_server(REAL_CTX, ["--cache-ram", "0"]) as server, beside:
        stats = work / "stats.jsonl"
        hook_env = {
            **real_hook_env(env, server, stats),
            "COMMIT_POLISH_TARGET_SECONDS": f"{TARGET_SECONDS:g}",
        }
        estimate = speed_file(hook_env)
        for size in SIZES:
            repo = work / f"target-{size}"
            lines = make_repo(repo, size)
            firsts, warmed = [], []
            for _ in range(runs):
                estimate.unlink(missing_ok=True)
                firsts.append(target_run(server, repo, hook_env, stats))
            for _ in range(runs):  # each learns from the one before
                warmed.append(target_run(server, repo, hook_env, stats))
            row: dict[str, Any] = {"lines": lines}
            for name, got in (("first", firsts), ("warmed", warmed)):
                for key in ("wall_s", "prompt_tokens", "requests", "model_s", "completion_tokens"):
                    row[f"{name}_{key}"] = statistics.median(g[key] for g in got)
            row["estimate"] = json.loads(estimate.read_text()) if estimate.exists() else {}
            rows.append(row)
            print(f"bench: target {lines} lines: {row}", file=sys.stderr)
    return {"target_seconds": TARGET_SECONDS, "runs": runs, "rows": rows, "service": service}


def target_table(target: dict[str, Any]) -> list[str]:
    goal = target["target_seconds"]
    out = [
        f"### Time budget: `target_seconds = {goal:g}` with llama-server + SmolLM2-135M"
        f" (ctx {REAL_CTX}, max_tokens {REAL_MAX_TOKENS}, median of {target['runs']} runs,"
        " nothing of the diff cached, "
        + (
            "the warm service running as `serve` runs it)"
            if target.get("service", True)
            else "**no warm service**: the hook imports LiteLLM on every commit)"
        ),
        "",
        "| changed lines | first commit s | x target | prompt tokens | requests | warmed s"
        " | x target | prompt tokens | requests |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    worst = 0.0
    for r in target["rows"]:
        first, warm = r["first_wall_s"], r["warmed_wall_s"]
        worst = max(worst, first / goal, warm / goal)
        out.append(
            f"| {r['lines']:,} | {first:.1f} | {first / goal:.2f} | {r['first_prompt_tokens']:.0f}"
            f" | {r.get('first_requests', 0):g} | {warm:.1f} | {warm / goal:.2f}"
            f" | {r['warmed_prompt_tokens']:.0f} | {r.get('warmed_requests', 0):g} |"
        )
    learned: dict[str, Any] = next(iter(target["rows"][-1].get("estimate", {}).values()), {})
    out += [
        "",
        f"Worst size: {worst:.2f} x the target (goal: within 1.25 x); "
        + ("met." if worst <= 1.25 else "**not met**.")
        + (
            f" The estimate learned: {learned.get('prompt_tps', 0):.0f} prompt tokens/s,"
            f" {learned.get('reply_tps', 0):.0f} reply tokens/s."
            if learned
            else ""
        ),
        "",
    ]
    if target.get("service", True):
        out += ["![hook wall seconds by diff size against the target](performance-target.png)", ""]
    return out


def bench_cache(work: Path) -> dict[str, Any]:
    """Two consecutive commits with different diffs; what the second took from the cache.

    The server's own counter of prompt tokens it evaluated says what was read afresh for
    each commit (the prefill and the request proper together): the request's own
    ``cached_tokens`` are nearly all of its prompt either way, thanks to the prefill."""
    env = base_env(work / "home")
    repo = work / "cache-repo"
    # One consistent style in the history: the style the hook infers from it is part of the
    # instructions, and a history that flips style changes them (and so the cached prefix).
    make_repo(repo, 200, subject="feat: add the modules")
    git(repo, "commit", "-q", "-m", "feat: change the limits")
    with real_server(REAL_CTX, ["--metrics"]) as server:
        stats = work / "cache-stats.jsonl"
        hook_env = real_hook_env(env, server, stats)
        msg = repo / ".git" / "COMMIT_EDITMSG"
        results = []
        for n, path in enumerate(["src/pkg0/module_00000.py", "src/pkg1/module_00001.py"]):
            with (repo / path).open("a") as out:
                out.write(f"    extra_{n} = limit_{n} * 2\n")
            git(repo, "add", path)
            msg.write_text("\n# git's comment\n")
            before = metrics(server)["prompt_tokens_total"]
            wall = timed(hook_cmd(msg), cwd=repo, env=hook_env)
            got = read_stats(stats)
            got["wall_ms"] = wall * 1000
            got["evaluated_tokens"] = metrics(server)["prompt_tokens_total"] - before
            results.append(got)
            # A fixed subject: the hook may have failed open and left no message.
            git(repo, "commit", "-q", "-m", f"feat: add extra value {n}")
        system = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from commit_polish import hook, request; ctx = hook.load_context(); "
                "built = request.build(ctx.cfg, hook.start_request(ctx)); "
                "sys.stdout.write(built.request.messages[0]['content'])",
            ],
            cwd=repo,
            env=hook_env,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        system_tokens = len(
            httpx.post(f"{server.base_url}/tokenize", json={"content": system}).json()["tokens"]
        )
    return {"first": results[0], "second": results[1], "system_tokens": system_tokens}


# --------------------------------------------------------------------------- report


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs (`nproc`), {cpu}, Python {platform.python_version()}"


def write_report(
    skip: dict[str, float],
    imports: list[str],
    overhead: dict[str, float],
    sizes: list[dict[str, Any]],
    cache: dict[str, Any] | None,
    service: dict[str, Any] | None,
    runs: int,
    real_runs: int,
    measured: dict[str, str],
) -> str:
    out = [
        f"Measured {measured['date']} on {measured['machine']}.",
        "",
        f"### Skip paths (median of {runs} runs, wall time of the whole process)",
        "",
        "| case | median ms | over `python -c pass` |",
        "| --- | ---: | ---: |",
    ]
    base = skip["python -c pass"]
    for name, ms in skip.items():
        out.append(f"| {name} | {ms:.0f} | {ms - base:+.0f} |")
    out += [
        "",
        "Heavy modules imported on the `-m` skip path: "
        + (", ".join(imports) if imports else "none (no litellm, httpx, click, openai, pydantic)"),
        "",
        f"### Generate path against an instant stand-in server (median of {runs} runs)",
        "",
        "| case | median ms |",
        "| --- | ---: |",
    ]
    for name, ms in overhead.items():
        out.append(f"| {name} | {ms:.0f} |")
    hook_ms = overhead["commit-polish hook (generate)"]
    lite_ms = overhead['python -c "import litellm"']
    out += [
        "",
        f'Hook overhead beyond `python -c "import litellm"`: **{hook_ms - lite_ms:+.0f} ms**.',
    ]
    if NO_TEARDOWN in overhead:
        bare = overhead[NO_TEARDOWN]
        out += [
            f"Beyond the import alone (the same without the interpreter's teardown, which the "
            f"hook skips): **{hook_ms - bare:+.0f} ms**."
        ]
    out.append("")
    if service:
        out += service_table(service)
    if sizes:
        out += [
            f"### Diff size with llama-server + SmolLM2-135M (ctx {REAL_CTX}, max_tokens "
            f"{REAL_MAX_TOKENS}, median of {real_runs} runs, nothing cached)",
            "",
            "| changed lines | prompt tokens | hook wall ms | prompt eval ms | generation ms |"
            " generated tokens | not the model, ms |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in sizes:
            rest = r["wall_ms"] - r["prompt_ms"] - r["predicted_ms"]
            out.append(
                f"| {r['lines']:,} | {r['prompt_tokens']:.0f} | {r['wall_ms']:.0f} | "
                f"{r['prompt_ms']:.0f} | {r['predicted_ms']:.0f} | {r['completion_tokens']:.0f} |"
                f" {rest:.0f} |"
            )
        out += [
            "",
            "not the model: the hook's wall time less the server's prompt evaluation and"
            " generation (medians each, so only roughly their difference): what the user"
            " waits for that is not the model at work.",
        ]
        budget_row, last = sizes[2], sizes[-1]
        wall_ratio = last["wall_ms"] / budget_row["wall_ms"]
        token_ratio = last["prompt_tokens"] / budget_row["prompt_tokens"]
        out += [
            "",
            f"100,000 lines vs 1,000 lines (already over the budget): wall time x{wall_ratio:.2f},"
            f" prompt tokens x{token_ratio:.2f}. "
            f"Server start-up (model load): {sizes[0]['startup_s']:.1f} s, paid once by"
            " `commit-polish serve`, never by the hook.",
            "",
            "![prompt tokens and wall time by diff size](performance.png)",
            "",
        ]
    if cache:
        first, second = cache["first"], cache["second"]
        out += [
            "### Prompt cache: two consecutive commits",
            "",
            "| commit | prompt tokens | evaluated by the server | taken from its cache |"
            " hook wall ms |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for name, row in (("first", first), ("second (different diff)", second)):
            evaluated = row["evaluated_tokens"]
            out.append(
                f"| {name} | {row['prompt_tokens']} | {evaluated:.0f} |"
                f" {max(row['prompt_tokens'] - evaluated, 0):.0f} | {row['wall_ms']:.0f} |"
            )
        out += [
            "",
            f"The system message (the fixed instructions) is {cache['system_tokens']} tokens; the"
            f" second commit evaluated {second['evaluated_tokens']:.0f} of its"
            f" {second['prompt_tokens']} prompt tokens and took the other"
            f" {second['prompt_tokens'] - second['evaluated_tokens']:.0f} from the cache."
            " Evaluated counts the prefill and the request proper together.",
            "",
        ]
    return "\n".join(out)


def service_table(service: dict[str, Any]) -> list[str]:
    medians, rss, imports = service["medians"], service["rss_mb"], service["imports"]
    base = medians["python -c pass"]
    out = [
        f"### The warm service (median of {service['runs']} runs, instant stand-in server)",
        "",
        "| case | median ms | over `python -c pass` | peak RSS of the process, MB |"
        " heavy modules it imported |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for name, ms in medians.items():
        heavy = ", ".join(imports.get(name, [])) or "none"
        out.append(f"| {name} | {ms:.0f} | {ms - base:+.0f} | {rss[name]:.0f} | {heavy} |")
    return [*out, ""]


START, END = "<!-- results: written by python -m bench.run -->", "<!-- /results -->"


def replace_results(path: Path, tables: str) -> None:
    """Put ``tables`` between the markers in ``path``, keeping the prose around them."""
    text = path.read_text() if path.exists() else f"# Performance\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        text += f"\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(f"{head}{START}\n{tables}\n{END}{tail}")


SECTIONS = ("skip", "overhead", "service", "sizes", "target", "target-inprocess", "cache")
RAW = DOCS / "performance.json"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="runs per fast case")
    parser.add_argument("--real-runs", type=int, default=3, help="runs per real-server case")
    parser.add_argument("--no-real", action="store_true", help="skip llama-server benchmarks")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help="comma-separated sections to measure (the others are kept from "
        "docs/performance.json): " + ", ".join(SECTIONS),
    )
    args = parser.parse_args(argv)
    todo = set(args.only.split(","))
    if args.no_real:
        todo -= {"sizes", "target", "target-inprocess", "cache"}
    raw: dict[str, Any] = json.loads(RAW.read_text()) if RAW.exists() else {}
    with tempfile.TemporaryDirectory(prefix="commit-polish-bench-") as tmp:
        work = Path(tmp)
        (work / "home").mkdir()

        def save(section: str, value: Any) -> None:
            raw[section] = value
            raw["measured"] = {"date": datetime.date.today().isoformat(), "machine": machine()}
            RAW.write_text(json.dumps(raw, indent=1) + "\n")
            print(f"bench: {section} {value}", file=sys.stderr)

        if "skip" in todo or "overhead" in todo:
            skip = bench_skip(work, args.runs)
            save("skip", {"runs": args.runs, "medians": skip, "imports": heavy_imports(work)})
        if "overhead" in todo:
            save("overhead", {"runs": args.runs, "medians": bench_overhead(work, args.runs)})
        if "service" in todo:
            save("service", bench_service(work))
        if "sizes" in todo:
            save("sizes", {"runs": args.real_runs, "rows": bench_sizes(work, args.real_runs)})
        if "target" in todo:
            save("target", bench_target(work, args.real_runs))
        if "target-inprocess" in todo:
            save("target_inprocess", bench_target(work, args.real_runs, service=False))
        if "cache" in todo:
            save("cache", bench_cache(work))
    sizes = raw.get("sizes", {}).get("rows", [])
    tables = write_report(
        raw["skip"]["medians"],
        raw["skip"]["imports"],
        raw["overhead"]["medians"],
        sizes,
        raw.get("cache"),
        raw.get("service"),
        raw["skip"]["runs"],
        raw.get("sizes", {}).get("runs", 0),
        raw["measured"],
    )
    target = raw.get("target")
    if target:
        tables += "\n" + "\n".join(target_table(target))
        plot_target(target)
    if raw.get("target_inprocess"):
        tables += "\n" + "\n".join(target_table(raw["target_inprocess"]))
    DOCS.mkdir(exist_ok=True)
    replace_results(DOCS / "performance.md", tables)
    if sizes:
        xs = [float(r["lines"]) for r in sizes]
        png.chart(
            DOCS / "performance.png",
            xs,
            [
                ("prompt tokens", [float(r["prompt_tokens"]) for r in sizes], (31, 119, 180)),
                ("wall ms", [float(r["wall_ms"]) for r in sizes], (214, 39, 40)),
            ],
            title="changed lines (log) vs prompt tokens and hook wall time",
        )
    print(tables)


def plot_target(target: dict[str, Any]) -> None:
    rows = target["rows"]
    png.chart(
        DOCS / "performance-target.png",
        [float(r["lines"]) for r in rows],
        [
            ("first commit s", [float(r["first_wall_s"]) for r in rows], (214, 39, 40)),
            ("warmed s", [float(r["warmed_wall_s"]) for r in rows], (31, 119, 180)),
            ("target s", [float(target["target_seconds"])] * len(rows), (120, 120, 120)),
        ],
        title=f"changed lines (log) vs hook seconds, target {target['target_seconds']:g} s",
    )


if __name__ == "__main__":
    main()
