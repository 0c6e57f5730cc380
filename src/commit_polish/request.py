"""From what is staged to the model request: diff, style, prompt, budget, grammar.

Everything here runs on the generate path only, once the destination is allowed and listens
(``hook.start_request``). Importing this module loads every module the request needs, so
that LiteLLM's background import never competes with ours for the import lock.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from commit_polish import (
    actions,
    budget,
    commit_type,
    deadline,
    form,
    git,
    grammar,
    llm,
    prompt,
    redact,
    style,
)
from commit_polish import diff as diff_mod
from commit_polish import facts as facts_mod
from commit_polish.config import Config


@dataclass(frozen=True)
class Built:
    """A request and what was learned while building it."""

    request: llm.Request
    shape: style.Shape  # the form the message must take
    llama_cpp: bool  # the server answered /props: it reads a prefill into its cache


@dataclass(frozen=True)
class Staged:
    """What is staged, read once: the diff, the branch and the form a message must take
    (for the rules, which need no model, and for the request)."""

    prepared: diff_mod.Prepared
    branch: str
    shape: style.Shape
    facts: facts_mod.Facts
    # The type the facts and the history's habit give (commit_type.choose), for a grounded
    # request.
    type_hint: str | None = None


def read_staged(cfg: Config, base: str | None = None) -> Staged:
    """What is staged now, compared with HEAD (or with ``base`` for an amended commit)."""
    with deadline.step("reading the staged diff"):
        prepared, raw = read_diff(cfg, base)
    branch = git.branch()
    history = git.recent_history(style.history_wanted(cfg))
    shape = style.shape(
        cfg,
        subjects=[subject for subject, _paths in history],
        touched=[paths for _subject, paths in history],
        branch=branch,
        paths=[f.path for f in prepared.files],
        diff_text=raw.decode("utf-8", "replace"),
    )
    found = facts_mod.gather(prepared.files, reader=_staged_file)
    shape = dataclasses.replace(shape, facts=found)
    hint = commit_type.choose(found, history, shape.spec.types)
    return Staged(prepared=prepared, branch=branch, shape=shape, facts=found, type_hint=hint)


def _staged_file(path: str) -> bytes | None:
    return git.staged_file(path, limit=facts_mod.BLOB_BYTES)


def implied_type(found: facts_mod.Facts) -> str | None:
    """The Conventional Commits type the changed files' kinds imply: only tests changed is
    ``test``, only docs ``docs``, only CI files ``ci``, only build files and manifests
    ``build``; None when the kinds leave the type to the change itself."""
    settled = commit_type.of_kinds(found.kinds())
    if settled is not None:
        return settled
    guessed = commit_type.guess(found)
    return guessed if guessed == "build" else None


def narrowed(spec: form.Spec, kind: str | None) -> form.Spec:
    """``spec`` with its types narrowed to ``kind``, when the style has types and allows
    it."""
    if spec.style != "conventional" or kind is None or kind not in spec.types:
        return spec
    return dataclasses.replace(spec, types=(kind,))


def build(
    cfg: Config,
    api_base: str,
    *,
    draft: str = "",
    base: str | None = None,
    staged: Staged | None = None,
) -> Built:
    """The model request for what is staged now (``staged``, or read now), with secrets
    redacted."""
    staged = staged or read_staged(cfg, base)
    prepared, branch, shape = staged.prepared, staged.branch, staged.shape
    # Narrowed here, not for the rules: a rename of tests is still a refactor. Grounded, the
    # type is the facts' and the history's; else only what the kinds settle.
    kind = staged.type_hint if cfg.message.grounded else implied_type(staged.facts)
    shape = dataclasses.replace(shape, spec=narrowed(shape.spec, kind))
    if cfg.message.grounded:
        pairs = actions.of(staged.facts, kind)
        shape = dataclasses.replace(shape, spec=dataclasses.replace(shape.spec, actions=pairs))
    template, _where = prompt.load_template(
        cfg.message.template, setting=cfg.sources.get("template", "")
    )
    opts = prompt.Options(
        style=shape.style,
        gitmoji=cfg.message.gitmoji,
        language=shape.language,
        subject_max_length=cfg.message.subject_max_length,
        body=cfg.message.body,
        types=shape.spec.types,
    )
    fixed = prompt.values(
        branch=branch,
        recent_commits=redact.redact_text("\n".join(shape.examples)),
        draft=redact.redact_text(draft) if draft else "",
    )
    fitted, fixed = _fit(cfg, prepared, api_base, template, opts, fixed, staged.facts)
    summary = fitted.summary
    values = {
        **fixed,
        "files": summary.files,
        "diff": summary.diff,
        "omitted": prompt.omitted_note(summary.omitted_hunks),
    }
    req = llm.Request(
        model=cfg.ai.model,
        messages=prompt.build_messages(template=template, opts=opts, values=values),
        api_base=api_base,
        temperature=cfg.ai.temperature,
        max_tokens=cfg.ai.max_tokens,
        timeout=cfg.ai.timeout,
        external_server=cfg.llamafile.external_server,
        extra_body={
            **fitted.extra_body,
            **grammar.fields(shape.spec, cfg.ai.model, api_base),
        },
    )
    # The prompt's own words, which a reply must not read back: the rules and the template
    # without what was filled in.
    words = prompt.system_prompt(opts) + "\n" + prompt.render(template, dict.fromkeys(values, ""))
    shape = dataclasses.replace(shape, instructions=words)
    return Built(request=req, shape=shape, llama_cpp=fitted.answered_props)


def read_diff(cfg: Config, base: str | None) -> tuple[diff_mod.Prepared, bytes]:
    """The staged diff, read once and only so far (``diff_mod.read_limit``): files over
    ``LARGE_FILE`` are left out of it, and those it did not reach are listed by size."""
    staged = git.staged_sizes(base=base)
    large = {
        path: (size, status == "added")
        for path, (size, status) in staged.items()
        if size > diff_mod.LARGE_FILE
    }
    raw, whole = git.staged_patch(
        limit=diff_mod.read_limit(cfg.message.prompt_budget),
        context=diff_mod.CONTEXT_LINES,
        base=base,
        leave_out=list(large),
    )
    prepared = diff_mod.prepare(raw, exclude=list(cfg.message.exclude), large=large)
    if not whole:
        diff_mod.add_unread(prepared, staged)
    return prepared, raw


# How many files the facts describe, tried in turn while the fixed part of the prompt alone
# would take longer than target_seconds to read: a 1,000-line commit's facts (34 files) were
# about 1,000 tokens, 15 s at 64 tokens/s before any of the diff.
FACT_FILES = (facts_mod.MAX_FILES_TEXT, 16, 8, 4)


def _fit(
    cfg: Config,
    prepared: diff_mod.Prepared,
    api_base: str,
    template: str,
    opts: prompt.Options,
    values: dict[str, str],
    found: facts_mod.Facts,
) -> tuple[budget.Fit, dict[str, str]]:
    """The summary sized to the server's context (and time) when it can say, else to the
    budget; and the prompt's values with the facts that fit."""
    for files in FACT_FILES:
        with_facts = {**values, "facts": found.text(max_files=files) or values["facts"]}
        fixed = prompt.build_messages(template=template, opts=opts, values=with_facts)
        fitted = budget.fit(
            prepared,
            model=cfg.ai.model,
            api_base=api_base,
            fixed_text="\n".join(m["content"] for m in fixed),
            max_tokens=cfg.ai.max_tokens,
            prompt_budget=cfg.message.prompt_budget,
            reply_tokens=None if cfg.message.body else budget.SUBJECT_TOKENS,
            target_seconds=cfg.ai.target_seconds,
        )
        if not fitted.short_of_time or len(found.files) <= files:
            break
    return fitted, with_facts
