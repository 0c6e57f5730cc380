from __future__ import annotations

from commit_polish.launch import main

main()
