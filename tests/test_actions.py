"""Which verbs a grounded subject may pair with which names (a table of real-shaped diffs)."""

from __future__ import annotations

import pytest

from commit_polish import actions, diff, facts
from commit_polish.form import Action

NEW_FILE = (
    b"diff --git a/netutil.py b/netutil.py\nnew file mode 100644\n--- /dev/null\n"
    b"+++ b/netutil.py\n@@ -0,0 +1,2 @@\n+def parse_port(s):\n+    return int(s)\n"
)
EDIT = (
    b"diff --git a/pager.py b/pager.py\n--- a/pager.py\n+++ b/pager.py\n"
    b"@@ -10,2 +10,2 @@ def close_pager(f):\n-    f.unlink()\n+    f.close()\n"
)
DELETE = (
    b"diff --git a/old.py b/old.py\ndeleted file mode 100644\n--- a/old.py\n+++ /dev/null\n"
    b"@@ -1 +0,0 @@\n-def gone():\n"
)
TEST_EDIT = (
    b"diff --git a/tests/test_pager.py b/tests/test_pager.py\n--- a/tests/test_pager.py\n"
    b"+++ b/tests/test_pager.py\n@@ -1 +1 @@ def test_pager():\n-    a\n+    b\n"
)
RENAME = b"diff --git a/a.py b/b.py\nsimilarity index 100%\nrename from a.py\nrename to b.py\n"
NOTES = b"diff --git a/notes.md b/notes.md\n--- a/notes.md\n+++ b/notes.md\n@@ -1 +1 @@\n-a\n+b\n"


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [
        # The definition, not the file that holds it.
        (NEW_FILE, "feat", (Action(("Add",), ("parse_port",)),)),
        (EDIT, "fix", (Action(actions.BY_TYPE["fix"], ("close_pager",)),)),
        # The code's names, not its test's, when both changed.
        (EDIT + TEST_EDIT, "fix", (Action(actions.BY_TYPE["fix"], ("close_pager",)),)),
        (TEST_EDIT, "test", (Action(actions.BY_TYPE["test"], ("test_pager",)),)),
        (DELETE, "refactor", (Action(actions.REMOVE, ("gone",)),)),
        (RENAME, "refactor", (Action(actions.RENAME, ("a.py",)),)),
        # No definition: the file; no known type: the general verbs.
        (NOTES, None, (Action(actions.CHANGE, ("notes.md",)),)),
        # An edit that adds a definition is about the definition, not the file.
        (
            b"diff --git a/netutil.py b/netutil.py\n--- a/netutil.py\n+++ b/netutil.py\n"
            b'@@ -1 +1,3 @@\n """Helpers."""\n+def parse_port(s):\n+    return int(s)\n',
            "feat",
            (Action(("Add",), ("parse_port",)),),
        ),
        # A file with no definition: its name.
        (
            b"diff --git a/a.txt b/a.txt\nnew file mode 100644\n--- /dev/null\n+++ b/a.txt\n"
            b"@@ -0,0 +1 @@\n+hello\n",
            "docs",
            (Action(("Add",), ("a.txt",)),),
        ),
        (
            NEW_FILE + EDIT,
            "feat",
            (
                Action(("Add",), ("parse_port",)),
                Action(actions.BY_TYPE["feat"], ("close_pager",)),
            ),
        ),
    ],
    ids=[
        "new file",
        "edit",
        "edit and test",
        "test only",
        "delete",
        "rename",
        "notes",
        "edit adds a definition",
        "new text file",
        "both",
    ],
)
def test_actions(raw: bytes, kind: str | None, expected: tuple[Action, ...]) -> None:
    assert actions.of(facts.gather(diff.parse(raw)), kind) == expected
