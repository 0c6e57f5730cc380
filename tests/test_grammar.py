"""GBNF generation (a table of specs and their exact grammars) and when it is sent."""

from __future__ import annotations

import pytest

from commit_polish import grammar
from commit_polish.form import Action
from commit_polish.grammar import Spec

# The longest verb is "Introduce" (9): 50 - 9 - 1 space leaves 40 for the rest.
PLAIN_50 = (
    r"""root ::= subject body?
subject ::= verb " " text-40
verb ::= """
    + " | ".join(f'"{verb}"' for verb in grammar.PLAIN_VERBS)
    + r"""
text-40 ::= [^\x00-\x20] ([^\x00-\x1f]{0,38} [^\x00-\x1f .:])?
body ::= "\n\n" line ("\n" line?){0,5}
line ::= [^\x00-\x1f]{1,72}
"""
)

CONVENTIONAL_SCOPED = r"""root ::= subject "."? "\n"?
subject ::= "fix" tail-3 | ("feat" | "docs") tail-4
tail-3 ::= "!"? ": " text-34 | scope "!"? ": " text-29
tail-4 ::= "!"? ": " text-33 | scope "!"? ": " text-28
scope ::= "(" ("cli") ")"
text-34 ::= [a-z] ([^\x00-\x1f]{0,32} [^\x00-\x1f .:])?
text-33 ::= [a-z] ([^\x00-\x1f]{0,31} [^\x00-\x1f .:])?
text-29 ::= [a-z] ([^\x00-\x1f]{0,27} [^\x00-\x1f .:])?
text-28 ::= [a-z] ([^\x00-\x1f]{0,26} [^\x00-\x1f .:])?
"""

CONVENTIONAL_FREE_SCOPE = r"""root ::= subject "."? "\n"?
subject ::= "ci" tail-2
tail-2 ::= "!"? ": " text-35 | scope "!"? ": " text-13
scope ::= "(" [a-z0-9_./-]{1,20} ")"
text-35 ::= [^\x00-\x20] ([^\x00-\x1f]{0,33} [^\x00-\x1f .:])?
text-13 ::= [^\x00-\x20] ([^\x00-\x1f]{0,11} [^\x00-\x1f .:])?
"""

NO_SCOPES_GITMOJI = r"""root ::= subject body?
subject ::= (gitmoji " ")? "fix" tail-3
tail-3 ::= "!"? ": " text-21
text-21 ::= [^\x00-\x20] ([^\x00-\x1f]{0,19} [^\x00-\x1f .:])?
gitmoji ::= [^\x00-\x7f]{1,2}
body ::= "\n\n" line ("\n" line?){0,5}
line ::= [^\x00-\x1f]{1,72}
"""

QUOTED_SCOPE = r"""root ::= subject "."? "\n"?
subject ::= "fix" tail-3
tail-3 ::= "!"? ": " text-30 | scope "!"? ": " text-22
scope ::= "(" ("a\"b" | "c\\d" | "web-ui") ")"
text-30 ::= [A-Z] ([^\x00-\x1f]{0,28} [^\x00-\x1f .:])?
text-22 ::= [A-Z] ([^\x00-\x1f]{0,20} [^\x00-\x1f .:])?
"""

SPECS = {
    "plain, body, 50": (Spec(style="plain", subject_max=50, case="upper"), PLAIN_50),
    "conventional, known scopes, no body": (
        Spec(
            types=("feat", "fix", "docs"), scopes=("cli",), subject_max=40, body=False, case="lower"
        ),
        CONVENTIONAL_SCOPED,
    ),
    "conventional, any scope": (
        Spec(types=("ci",), subject_max=40, body=False),
        CONVENTIONAL_FREE_SCOPE,
    ),
    "conventional, no scopes, gitmoji": (
        Spec(types=("fix",), scopes=(), subject_max=30, gitmoji=True),
        NO_SCOPES_GITMOJI,
    ),
    "scopes needing escapes": (
        Spec(
            types=("fix",),
            scopes=('a"b', "c\\d", "web-ui"),
            subject_max=36,
            body=False,
            case="upper",
        ),
        QUOTED_SCOPE,
    ),
}


@pytest.mark.parametrize("name", list(SPECS))
def test_grammar_text(name: str) -> None:
    spec, expected = SPECS[name]
    assert grammar.build(spec) == expected


def test_default_spec_bounds_every_type() -> None:
    text = grammar.build(Spec())
    # "refactor" (8) + "!: " leaves 61; with a free scope "(…20…)" 39.
    assert 'tail-8 ::= "!"? ": " text-61 | scope "!"? ": " text-39' in text
    assert 'tail-4 ::= "!"? ": " text-65 | scope "!"? ": " text-43' in text


# Which servers get a grammar at all: tests/test_structure.py (one rule for all).


def test_rejection_is_remembered_per_server_and_model() -> None:
    base = "http://127.0.0.1:8080/v1"
    grammar.remember_rejection(base, "llamafile/a")
    grammar.remember_rejection(base, "llamafile/a")
    assert grammar.applies("llamafile/a", base) is False
    assert grammar.applies("llamafile/b", base) is True
    assert grammar.fields(Spec(), "llamafile/a", base) == {}
    assert set(grammar.fields(Spec(), "llamafile/b", base)) == {"grammar"}


WORD = "[a-zA-Z] [a-z]{0,9}"  # a word after the name (REST_WORD = 10)
ADD = Action(("Add",), ("parse_port", "server.py"))
FIX = Action(("Fix", "Handle"), ("greet", "greet"))


@pytest.mark.parametrize(
    ("length", "case", "actions", "rule"),
    [
        # 50 - ("add " 4 + "support for " 12 = 16) - 10 leaves 24: two words after it;
        # "server.py" (9) leaves 25: two too.
        (
            50,
            "lower",
            (ADD,),
            f'text-50 ::= ("add") " " (link " ")? ("parse_port" (" " {WORD}){{0,2}} | '
            f'"server.py" (" " {WORD}){{0,2}})',
        ),
        # Both cases for "any"; no room after the name: nothing may follow it.
        (
            31,
            "any",
            (FIX,),
            'text-31 ::= ("fix" | "handle" | "Fix" | "Handle") " " (link " ")? ("greet")',
        ),
        # Each pair keeps its own names.
        (
            40,
            "upper",
            (Action(("Add",), ("a",)), Action(("Remove",), ("b",))),
            f'text-40 ::= (("Add") " " (link " ")? ("a" (" " {WORD}){{0,2}})) | '
            f'(("Remove") " " (link " ")? ("b" (" " {WORD}){{0,1}}))',
        ),
        (30, "any", (Action(("Add",), ("a" * 20,)),), None),  # no name fits: free text
        (72, "any", (), None),
    ],
)
def test_grounded_rule(
    length: int, case: str, actions: tuple[Action, ...], rule: str | None
) -> None:
    assert grammar._grounded_rule(f"text-{length}", length, case, actions) == rule


def test_a_grounded_grammar_defines_its_links_once() -> None:
    text = grammar.build(
        Spec(
            types=("feat", "fix"),
            scopes=(),
            body=False,
            case="lower",
            actions=(Action(("Add",), ("parse_port",)),),
        )
    )
    lines = text.splitlines()
    assert lines[0] == r'root ::= subject "."? "\n"?'
    assert 'link ::= "the" | "a" | "an" | "support for" | "tests for"' in lines
    assert [line.split(" ::= ")[0] for line in lines].count("link") == 1
    assert '"improve"' not in text  # only the pair's verbs
    assert '("add") " "' in next(line for line in lines if line.startswith("text-66"))


def test_a_grounded_plain_grammar_starts_with_the_pairs_verbs() -> None:
    spec = Spec(
        style="plain", case="upper", body=False, actions=(Action(("Add",), ("parse_port",)),)
    )
    lines = grammar.build(spec).splitlines()
    assert lines[1] == "subject ::= text-72"
    assert lines[2].startswith('text-72 ::= ("Add") " " (link " ")? ("parse_port"')
    assert not any(line.startswith("verb ::= ") for line in lines)
