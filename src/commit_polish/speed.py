"""How fast a server reads a prompt and writes a reply, learned from its replies, and how
many prompt tokens that lets the hook send within ``ai.target_seconds``.

One small JSON file per user (``speed.json`` in the state directory), keyed by api_base and
model: tokens per second for the prompt and for the reply, each an exponential moving
average, so that one slow commit (a busy machine) does not halve the next prompt. A sample
comes from the server's own ``timings`` (llama-server: ``prompt_n`` tokens actually
evaluated in ``prompt_ms``, so a prompt read from its cache never looks fast), else from wall
time and the usage counts less the cached tokens. The file is the user's: no repository
setting names it, a broken or hostile one is no estimate, and it is written atomically and
kept to ``MAX_SERVERS`` entries.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A first commit against an unknown server: SmolLM2-135M on a 2-core box (llama.cpp built
# without -march=native) read 72-90 prompt tokens/s and wrote about 20/s; a 1B model on a
# 4-to-8-core laptop is in the same range. Rounded down: better a short first prompt than a
# first commit that takes three times the target.
DEFAULT_PROMPT_TPS = 64.0
DEFAULT_REPLY_TPS = 16.0
# The hook's own fixed cost besides the model (git, the probes, LiteLLM's first call).
FIXED_SECONDS = 1.5
# How much a new sample moves the average, and how far one sample may go from it: a run
# that looked ten times faster (a cache the server did not report) only doubles it.
SMOOTHING = 0.3
MAX_STEP = 2.0
# Samples too small to time: a few tokens are mostly the server's per-request overhead.
MIN_PROMPT_SAMPLE = 32
MIN_REPLY_SAMPLE = 8
# Beyond any CPU or GPU a hook meets; a file claiming more is not believed.
MAX_TPS = 1_000_000.0
MAX_SERVERS = 16
MAX_FILE = 16 * 1024


@dataclass(frozen=True)
class Estimate:
    prompt_tps: float = DEFAULT_PROMPT_TPS
    reply_tps: float = DEFAULT_REPLY_TPS
    samples: int = 0  # 0: the conservative default, nothing learned yet


@dataclass(frozen=True)
class Sample:
    """One reply's speeds in tokens per second (None: not measured)."""

    prompt_tps: float | None = None
    reply_tps: float | None = None


def room_tokens(estimate: Estimate, *, target_seconds: float, max_tokens: int) -> int:
    """Prompt tokens that can be read within ``target_seconds`` once the reply (``max_tokens``
    at the reply speed) and the hook's fixed cost are taken out (never negative)."""
    seconds = target_seconds - FIXED_SECONDS - max_tokens / estimate.reply_tps
    return max(int(seconds * estimate.prompt_tps), 0)


def rate(tokens: Any, millis: Any, minimum: int) -> float | None:
    """``tokens`` per second over ``millis`` ms, or None when either is not a sane count."""
    count, ms = _number(tokens), _number(millis)
    if count is None or ms is None or count < minimum or ms <= 0:
        return None
    tps = count * 1000.0 / ms
    return tps if math.isfinite(tps) and 0 < tps <= MAX_TPS else None


def from_timings(timings: Any) -> Sample | None:
    """A sample from llama-server's ``timings`` object, or None when it has none."""
    if not isinstance(timings, dict):
        return None
    sample = Sample(
        rate(timings.get("prompt_n"), timings.get("prompt_ms"), MIN_PROMPT_SAMPLE),
        rate(timings.get("predicted_n"), timings.get("predicted_ms"), MIN_REPLY_SAMPLE),
    )
    return sample if sample != Sample() else None


def from_wall(
    estimate: Estimate, *, evaluated: int | None, completion: int | None, seconds: float
) -> Sample | None:
    """A prompt speed from a reply without timings: its wall time less the reply's writing
    at the estimated speed (``evaluated`` = prompt tokens less those taken from a cache)."""
    if evaluated is None or completion is None or evaluated < MIN_PROMPT_SAMPLE:
        return None
    reading = seconds - completion / estimate.reply_tps
    tps = rate(evaluated, reading * 1000.0, MIN_PROMPT_SAMPLE)
    return Sample(prompt_tps=tps) if tps is not None else None


def updated(estimate: Estimate, sample: Sample) -> Estimate:
    """``estimate`` moved towards ``sample``, each speed at most ``MAX_STEP`` times."""

    def blend(old: float, new: float | None) -> float:
        if new is None:
            return old
        if estimate.samples == 0:  # the default was a guess: the first measure replaces it
            return new
        new = min(max(new, old / MAX_STEP), old * MAX_STEP)
        return old + SMOOTHING * (new - old)

    return Estimate(
        blend(estimate.prompt_tps, sample.prompt_tps),
        blend(estimate.reply_tps, sample.reply_tps),
        min(estimate.samples + 1, 1_000_000),
    )


def file() -> Path:
    from commit_polish import paths

    return paths.state_dir() / "speed.json"


def key(api_base: str, model: str) -> str:
    return f"{model} @ {api_base}"


def _number(value: Any) -> float | None:
    """``value`` as a finite float when it is a JSON number, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _entries() -> dict[str, Any]:
    """The file's entries; {} for a missing, oversized, non-regular or malformed file."""
    from commit_polish.files import read_small

    try:
        data = json.loads(read_small(file(), limit=MAX_FILE))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _entry(raw: Any) -> Estimate | None:
    if not isinstance(raw, dict):
        return None
    prompt, reply = _number(raw.get("prompt_tps")), _number(raw.get("reply_tps"))
    samples = raw.get("samples")
    if prompt is None or reply is None or not isinstance(samples, int) or samples <= 0:
        return None
    if not (0 < prompt <= MAX_TPS and 0 < reply <= MAX_TPS):
        return None
    return Estimate(prompt, reply, samples)


def _when(raw: dict[str, Any]) -> float:
    return _number(raw.get("updated")) or 0.0


def load(api_base: str, model: str) -> Estimate:
    """What is known of this server, else the conservative default; never raises."""
    return _entry(_entries().get(key(api_base, model))) or Estimate()


def record(api_base: str, model: str, sample: Sample | None) -> None:
    """Fold ``sample`` into this server's estimate on disk; a failure to write is ignored
    (the estimate is an optimisation, never a reason to fail a commit)."""
    if sample is None or not api_base:
        return
    from commit_polish.files import write_atomic

    entries = {k: v for k, v in _entries().items() if _entry(v) is not None}
    name = key(api_base, model)
    new = updated(_entry(entries.pop(name, None)) or Estimate(), sample)
    entries[name] = {**vars(new), "updated": int(time.time())}
    # The most recently updated servers are kept.
    kept = sorted(entries.items(), key=lambda kv: _when(kv[1]))[-MAX_SERVERS:]
    try:
        file().parent.mkdir(parents=True, exist_ok=True)
        write_atomic(file(), json.dumps(dict(kept), indent=1).encode("utf-8"))
    except OSError:
        pass
