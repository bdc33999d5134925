"""`licensebot serve`: Socket Mode, or HTTP with --http (SPEC 4, 11)."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import Command, fail, settings_or_exit


def _serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--http",
        action="store_true",
        help="serve HTTP (POST /slack/events, GET /healthz) instead of Socket Mode",
    )
    parser.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    parser.add_argument("--host", default="0.0.0.0", help="HTTP address (default 0.0.0.0)")
    parser.add_argument(
        "--health-port",
        type=int,
        default=None,
        help="Socket Mode: serve GET /healthz, /readyz and /metrics on this port",
    )


def run_serve(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    if args.http and settings.slack_signing_secret is None:
        return fail("setting SLACK_SIGNING_SECRET is missing: --http needs it to verify requests")
    if not args.http and settings.slack_app_token is None:
        return fail(
            "setting SLACK_APP_TOKEN is missing: set it for Socket Mode, or serve HTTP with --http"
        )
    from bot.serve import serve  # heavy imports only when serving

    return asyncio.run(
        serve(
            settings,
            http=args.http,
            host=args.host,
            port=args.port,
            health_port=getattr(args, "health_port", None),
        )
    )


COMMAND = Command("serve", _serve_args, run_serve, "run the bot (Socket Mode, or --http)")
