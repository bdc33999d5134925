"""What every `licensebot` sub-command shares: its table entry, one-line failures, the
settings (or every problem with them), signal handling."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

from bot.settings import Settings, SettingsError, load_settings, unknown_names

# A sub-command's run: the parsed arguments in, the exit code out.
Runner = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    """One row of the command table (bot/cli/main.py)."""

    name: str
    configure: Callable[[argparse.ArgumentParser], None]  # adds its arguments
    run: Runner
    help: str


def fail(message: str, code: int = 2) -> int:
    print(f"licensebot: {message}", file=sys.stderr)
    return code


def settings_or_exit(*, database_only: bool = False, **overrides: object) -> Settings:
    """The settings, or every problem with them on stderr (one `licensebot:` line each)
    and exit 2. Unknown LICENSEBOT_* names are warned about either way."""
    for warning in unknown_names():
        print(f"licensebot: {warning}", file=sys.stderr)
    try:
        return load_settings(database_only=database_only, **overrides)
    except SettingsError as error:
        for problem in error.problems:
            fail(problem)
        raise SystemExit(2) from None


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
