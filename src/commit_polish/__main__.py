from __future__ import annotations

from commit_polish.cli import main

main()
