"""`licensebot serve`: the app over Socket Mode or HTTP, the outbox, the scheduler."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackApiError

from bot.app import build_service
from bot.cli import install_signal_handlers
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.context import Deps

log = logging.getLogger("licensebot")

STOP_DELIVERY_SECONDS = 5  # at stop, how long the backlog's message in flight may take
BAD_TOKEN = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}


async def serve(settings: Settings, *, http: bool, host: str, port: int) -> int:
    service = await build_service(settings)
    deps = service.deps
    try:
        await service.warm()
    except SlackApiError as error:
        code = error.response.get("error")
        if code in BAD_TOKEN:
            await service.close()
            print(
                f"licensebot: setting SLACK_BOT_TOKEN is invalid: Slack answered {code}",
                file=sys.stderr,
            )
            return 2
        log.warning("auth.test at start failed: %s", code)  # the first request retries it
    except (aiohttp.ClientError, TimeoutError) as error:
        # Not fatal: the first request takes it instead, as Bolt would.
        log.warning("auth.test at start failed: %s", error)
    if await _genesys_at_start(service) is False:
        await service.close()
        return 2
    scheduler = _start_scheduler(service)
    stop = asyncio.Event()
    install_signal_handlers(stop)
    runner: web.AppRunner | None = None
    socket_handler = None
    backlog: asyncio.Task[None] | None = None
    try:
        if http:
            runner = web.AppRunner(service.web_app(), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, host, port).start()
            log.info("licensebot serving http://%s:%s/slack/events", host, port)
        else:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            assert settings.slack_app_token is not None
            socket_handler = AsyncSocketModeHandler(
                service.app, settings.slack_app_token.get_secret_value()
            )
            await socket_handler.connect_async()
            log.info("licensebot connected over Socket Mode")
        # Whatever a previous run queued and could not send goes out in the background,
        # once listening: a backlog never keeps /healthz or a command waiting.
        backlog = asyncio.get_running_loop().create_task(_deliver_backlog(deps))
        await stop.wait()
    finally:
        log.info("licensebot stopping")
        deps.deliverer.stop()  # every flush ends after the message in flight
        if backlog is not None and not backlog.done():
            try:
                await asyncio.wait_for(asyncio.shield(backlog), STOP_DELIVERY_SECONDS)
            except TimeoutError:
                backlog.cancel()  # a call Slack does not answer: leases are taken back
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        if socket_handler is not None:
            await socket_handler.close_async()
        if runner is not None:
            await runner.cleanup()
        await service.close()
    return 0


async def _deliver_backlog(deps: Deps) -> None:
    try:
        await deps.deliverer.flush()
    except Exception:
        log.exception("outbox delivery at start failed")


async def _genesys_at_start(service: object) -> bool:
    """SPEC 8: unset, say ledger-only once; wrong credentials stop with one line;
    unreachable, serve anyway (the outbox and the job retry) and say so."""
    from bot.genesys import LEDGER_ONLY
    from bot.genesys.client import GenesysAuthError, GenesysError

    client = service.deps.genesys  # type: ignore[attr-defined]
    if client is None:
        log.info(LEDGER_ONLY)
        return True
    try:
        await asyncio.wait_for(client.token(), 5)
    except TimeoutError:
        log.warning("Genesys Cloud unreachable at start: serving; retrying in the background")
        return True
    except GenesysAuthError as error:
        print(f"licensebot: setting GENESYS_CLIENT_SECRET is invalid: {error}", file=sys.stderr)
        return False
    except GenesysError as error:
        log.warning("Genesys Cloud unreachable at start (%s): serving; retrying in the background",
                    error)
        return True
    log.info("Genesys Cloud connected (%s)", client.endpoints.api_url)
    return True


def _start_scheduler(service: object) -> object | None:
    try:
        from bot.jobs.scheduler import start_scheduler
    except ModuleNotFoundError:
        return None
    return start_scheduler(service)  # type: ignore[arg-type]
