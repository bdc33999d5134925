"""`licensebot serve`: the app over Socket Mode or HTTP, the outbox, the scheduler."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import sqlite3
import sys
from pathlib import Path

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackApiError

from bot.app import Service, build_service
from bot.cli import install_signal_handlers
from bot.licensing.errors import CatalogError
from bot.settings import Settings

log = logging.getLogger("licensebot")

BAD_TOKEN = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}


class StartupError(Exception):
    """A start-up failure an operator can act on: one line, exit 2, nothing left running."""


def _check_database_path(database: Path) -> None:
    if "://" in str(database):
        return  # a server URL (PostgreSQL): its own errors say what is wrong
    folder = database.parent if str(database.parent) else Path(".")
    problem = None
    if not folder.is_dir():
        problem = f"{folder} is not a directory"
    elif not os.access(folder, os.W_OK | os.X_OK):
        problem = f"the directory {folder} is not writable"
    elif database.exists() and not os.access(database, os.R_OK | os.W_OK):
        problem = "the file is not writable"
    if problem:
        raise StartupError(
            f"cannot open the database {database} (LICENSEBOT_DATABASE): {problem}"
        )


async def _open_service(settings: Settings) -> Service:
    _check_database_path(Path(settings.database))
    try:
        return await build_service(settings)
    except CatalogError as error:
        raise StartupError(f"setting LICENSEBOT_CATALOG is invalid: {error}") from None
    except (sqlite3.Error, OSError) as error:
        # aiosqlite's worker thread still posts its own shutdown to this loop: let it,
        # or it fails noisily ("Event loop is closed") after the one line below.
        await asyncio.sleep(0.1)
        raise StartupError(
            f"cannot open the database {settings.database} (LICENSEBOT_DATABASE): {error}; "
            "check that its directory exists and is writable"
        ) from None


async def _listen(service: Service, host: str, port: int) -> web.AppRunner:
    """Bind the HTTP port, before anything else starts: a port in use stops the start."""
    runner = web.AppRunner(service.web_app(), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        await runner.cleanup()
        reason = "address already in use" if error.errno == errno.EADDRINUSE else error.strerror
        raise StartupError(f"cannot listen on {host}:{port}: {reason or error}") from None
    return runner


def _check_port(host: str, port: int) -> None:
    """Fail fast when the port is taken, before the database is opened or anything is
    sent (the real bind comes after the start-up delivery, and is checked again)."""
    try:
        socket.create_server((host, port)).close()
    except OSError as error:
        reason = "address already in use" if error.errno == errno.EADDRINUSE else error.strerror
        raise StartupError(f"cannot listen on {host}:{port}: {reason or error}") from None


async def serve(settings: Settings, *, http: bool, host: str, port: int) -> int:
    try:
        if http:
            _check_port(host, port)
        service = await _open_service(settings)
    except StartupError as error:
        print(f"licensebot: {error}", file=sys.stderr)
        return 2
    return await _serve(service, settings, http=http, host=host, port=port)


async def _serve(
    service: Service,
    settings: Settings,
    *,
    http: bool,
    host: str,
    port: int,
) -> int:
    deps = service.deps
    runner: web.AppRunner | None = None
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
    # Whatever a previous run queued and could not send goes out first.
    await deps.deliver()
    if http:
        # Listening before the scheduler starts: a port taken meanwhile stops the start
        # with nothing left running.
        try:
            runner = await _listen(service, host, port)
        except StartupError as error:
            await service.close()
            print(f"licensebot: {error}", file=sys.stderr)
            return 2
    scheduler = _start_scheduler(service)
    stop = asyncio.Event()
    install_signal_handlers(stop)
    socket_handler = None
    try:
        if http:
            log.info("licensebot serving http://%s:%s/slack/events", host, port)
        else:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            assert settings.slack_app_token is not None
            socket_handler = AsyncSocketModeHandler(
                service.app, settings.slack_app_token.get_secret_value()
            )
            await socket_handler.connect_async()
            log.info("licensebot connected over Socket Mode")
        await stop.wait()
    finally:
        log.info("licensebot stopping")
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        if socket_handler is not None:
            await socket_handler.close_async()
        if runner is not None:
            await runner.cleanup()
        await service.close()
    return 0


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
