"""The development backend's own helpers (dev/realserver.py) that need no build."""

from __future__ import annotations

from pathlib import Path

from dev import realserver


def test_build_progress_says_every_ten_percent_once(tmp_path: Path) -> None:
    said: list[str] = []
    progress = realserver.BuildProgress(said.append)
    progress.started -= 90  # as if the build began a minute and a half ago
    script = "".join(
        f'echo "[{p:3d}%] Building CXX object x{p}.o"; echo "other output"; ' for p in range(0, 101)
    )
    realserver._run_logged(["sh", "-c", script], tmp_path / "log", on_line=progress)
    assert [line.split(" (")[0] for line in said] == [
        f"realserver: build {p}% done" for p in range(10, 101, 10)
    ]
    assert said[0].endswith("(1.5 min)")
    logged = (tmp_path / "log").read_text().splitlines()
    assert logged.count("other output") == 101  # all output still goes to the log
