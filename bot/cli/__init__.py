"""The `licensebot` console script: bot/cli/main.py holds the command table, one module
per sub-command beside it."""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from bot.cli.main import main as run

    return run(argv)
