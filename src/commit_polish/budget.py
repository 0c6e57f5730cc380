"""Fit the diff summary to the server's context, in tokens when the server can count them.

With a llama.cpp-family server (``backend.is_llama_cpp``, confirmed by ``/props``) the room
for the diff is
``n_ctx - max_tokens - tokens(fixed part of the prompt) - MARGIN_TOKENS - RETRY_TOKENS``
(room for the reply, and for a repair request should the first reply be unusable), and the
summary is measured with the server's own tokenizer: a first guess at the character budget,
one count, a rescale by the chars-per-token ratio just measured, and a count again, so what
is sent fits the context whatever the diff. ``prompt_budget`` (characters) still caps it: it is
the user's speed setting, the context is the hard limit. With a ``target_seconds`` (the
config's ``ai.target_seconds``) the room is also at most the prompt tokens the server's
speed estimate (``speed.py``) says can be read in that time once the reply is written. Any
other server: the character budget alone, as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from commit_polish import backend, speed
from commit_polish import diff as diff_mod

# Characters per token when estimating; code and diffs run about 3 to 4 on common models.
CHARS_PER_TOKEN = 3.5
# When the context is known but /tokenize failed: a safe (low) ratio, so the estimate errs
# on the short side.
SAFE_CHARS_PER_TOKEN = 2.5
# The chat template's role markers, BOS, and the short "N more hunks" note.
MARGIN_TOKENS = 64
# Room for one repair request (validate.py): the first answer and the correction, at most
# about 730 characters, plus their role markers.
RETRY_TOKENS = 256
MAX_ATTEMPTS = 4


@dataclass(frozen=True)
class Fit:
    summary: diff_mod.Summary
    n_ctx: int | None = None  # the server's context, when it told us
    room_tokens: int | None = None  # tokens left for the file list and the diff
    tokens: int | None = None  # what the file list and the diff came to, when counted
    extra_body: dict[str, Any] = field(default_factory=dict)
    # The fixed part of the prompt alone takes longer to read than target_seconds allows
    # (request.py then sends fewer of the facts' lines).
    short_of_time: bool = False

    @property
    def answered_props(self) -> bool:
        """Whether the server answered /props: it is a llama.cpp-family server."""
        return self.n_ctx is not None


# The reply of a subject-only request, for the time budget: a 72-character subject is 15 to
# 25 tokens (17 median on real histories, docs/quality.md); the rest is for a repair.
SUBJECT_TOKENS = 40


def time_room(
    model: str, api_base: str, *, target_seconds: float | None, max_tokens: int, fixed: int
) -> int | None:
    """Tokens for the file list and the diff within the target (None: no target set)."""
    if target_seconds is None:
        return None
    estimate = speed.load(api_base, model)
    tokens = speed.room_tokens(estimate, target_seconds=target_seconds, max_tokens=max_tokens)
    return max(tokens - fixed, 0)


def summary_text(summary: diff_mod.Summary) -> str:
    return f"{summary.files}\n{summary.diff}"


def fit(
    prepared: diff_mod.Prepared,
    *,
    model: str,
    api_base: str,
    fixed_text: str,
    max_tokens: int,
    prompt_budget: int,
    reply_tokens: int | None = None,
    target_seconds: float | None = None,
) -> Fit:
    """The largest summary that fits both ``prompt_budget`` characters and the server's
    context (``fixed_text`` is the prompt without the file list and the diff). The time
    budget counts ``reply_tokens`` for the reply (default ``max_tokens``): the context must
    hold the longest reply, the time is spent on the likely one."""
    info = backend.probe(api_base) if backend.is_llama_cpp(model, api_base) else None
    if info is None:
        return Fit(diff_mod.select(prepared, prompt_budget))
    extra: dict[str, Any] = {"cache_prompt": True}
    fixed = backend.count_tokens(api_base, fixed_text)
    can_count = fixed is not None
    if fixed is None:
        fixed = math.ceil(len(fixed_text) / SAFE_CHARS_PER_TOKEN)
    room = max(info.n_ctx - max_tokens - fixed - MARGIN_TOKENS - RETRY_TOKENS, 0)
    likely = max_tokens if reply_tokens is None else min(reply_tokens, max_tokens)
    in_time = time_room(
        model, api_base, target_seconds=target_seconds, max_tokens=likely, fixed=fixed
    )
    short = in_time is not None and in_time <= 0
    room = room if in_time is None else min(room, in_time)
    ratio = CHARS_PER_TOKEN if can_count else SAFE_CHARS_PER_TOKEN
    chars = min(prompt_budget, int(room * ratio))
    summary = diff_mod.select(prepared, chars)
    for _ in range(MAX_ATTEMPTS):
        text = summary_text(summary)
        tokens = backend.count_tokens(api_base, text) if can_count else None
        if tokens is None:  # cannot count: a conservative estimate instead
            chars = min(chars, int(room * SAFE_CHARS_PER_TOKEN))
            summary = diff_mod.select(prepared, chars)
            return Fit(summary, info.n_ctx, room, None, extra, short)
        if tokens <= room:
            return Fit(summary, info.n_ctx, room, tokens, extra, short)
        # Scale by the ratio just measured, 5% under it, and try again.
        chars = min(chars - 1, int(len(text) * room / tokens * 0.95))
        summary = diff_mod.select(prepared, max(chars, 0))
    # Still over after every attempt (a tokenizer far from any ratio): send no hunks at all.
    summary = diff_mod.select(prepared, 0)
    return Fit(summary, info.n_ctx, room, None, extra, short)
