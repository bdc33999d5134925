"""The baseline of bench/ack.py: a bare Bolt AsyncApp that only acks, served the same way
as licensebot (aiohttp, `app.web_app()`), with Bolt's defaults.

    python bench/bare_app.py --port P --slack-url http://127.0.0.1:Q/api/
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal

from _procs import SECRET, TOKEN
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def build(slack_url: str) -> AsyncApp:
    app = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=slack_url), signing_secret=SECRET)

    @app.command("/license")
    async def command(ack: AsyncAck) -> None:
        await ack()

    @app.action(re.compile(".*"))
    async def action(ack: AsyncAck) -> None:
        await ack()

    @app.view(re.compile(".*"))
    async def view(ack: AsyncAck) -> None:
        await ack()

    @app.event("message")
    async def message() -> None:
        return None

    return app


async def main(port: int, slack_url: str) -> None:
    web_app = build(slack_url).web_app(path="/slack/events")

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slack-url", required=True)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.slack_url))
