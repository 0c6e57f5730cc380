"""Helpers for driving the real CLI as a child process (``python -m commit_polish``)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

CLI = [sys.executable, "-m", "commit_polish"]


def cli(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result


def port_accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def status_checks(cwd: Path) -> tuple[int, dict[str, dict[str, Any]]]:
    """``status --json``: its exit code and the checks by name."""
    result = cli(cwd, "status", "--json")
    data = json.loads(result.stdout)
    return result.returncode, {check["name"]: check for check in data["checks"]}
