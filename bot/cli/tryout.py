"""`licensebot try`: the bot in a terminal (SPEC 12); the stand-in for Slack and the
session live in bot/tryout and are imported only when trying."""

from __future__ import annotations

import argparse

from bot.cli.common import Command


def _try_args(parser: argparse.ArgumentParser) -> None:
    from bot.tryout.cli import add_arguments

    add_arguments(parser)


def run_try(args: argparse.Namespace) -> int:
    from bot.tryout.cli import run_try as run  # the stand-in for Slack only when trying

    return run(args)


COMMAND = Command("try", _try_args, run_try, "the bot in this terminal, with no Slack workspace")
