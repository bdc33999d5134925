"""`licensebot manifest [--url https://host]`: the Slack app manifest."""

from __future__ import annotations

import argparse

from bot.cli.common import Command


def _manifest_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        help="public base URL (e.g. https://bot.example.com): HTTP "
        "request URLs instead of Socket Mode",
    )


def run_manifest(args: argparse.Namespace) -> int:
    from bot.manifest import manifest_json

    print(manifest_json(args.url))
    return 0


COMMAND = Command("manifest", _manifest_args, run_manifest, "print the Slack app manifest (JSON)")
