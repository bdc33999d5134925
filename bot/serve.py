"""`licensebot serve`: the app over Socket Mode or HTTP, the outbox, the scheduler.

Stopping (SIGTERM or SIGINT) wins in every state within STOP_SECONDS: while starting
(Slack unreachable, auth.test or the first delivery hanging), connecting over Socket
Mode, or serving. The stop marks the process not ready, stops taking requests, lets the
in-flight ones and the running job finish, then closes the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import os
import re
import signal
import socket
import sqlite3
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackApiError

from bot.app import Service, build_service
from bot.cli.common import install_signal_handlers
from bot.health import health_app
from bot.licensing.errors import CatalogError
from bot.settings import Settings

log = logging.getLogger("licensebot")

BAD_TOKEN = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
STOP_SECONDS = 10.0
# Shares of the stop budget: requests in flight, the running job, listener work after acks.
HTTP_DRAIN_SECONDS = 3.0
JOB_DRAIN_SECONDS = 3.0
INFLIGHT_DRAIN_SECONDS = 2.0
BACKLOG_DRAIN_SECONDS = 0.5  # the background delivery's message in flight, at stop

T = TypeVar("T")


class StartupError(Exception):
    """A start-up failure an operator can act on: one line, exit 2, nothing left running."""


def _check_port(host: str, port: int) -> None:
    """Fail fast when the port is taken, before the database is opened or anything is
    sent (the real bind, before the scheduler starts, is checked again)."""
    try:
        socket.create_server((host, port)).close()
    except OSError as error:
        raise StartupError(_cannot_listen(host, port, error)) from None


def _cannot_listen(host: str, port: int, error: OSError) -> str:
    reason = "address already in use" if error.errno == errno.EADDRINUSE else error.strerror
    return f"cannot listen on {host}:{port}: {reason or error}"


def _check_database_path(database: Path) -> None:
    if re.match(r"^postgres(ql)?:/", str(database)):
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
        raise StartupError(f"cannot open the database {database} (LICENSEBOT_DATABASE): {problem}")


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


class Stopped(Exception):
    """A stop request arrived before the awaited step finished."""


async def _unless_stopped(stop: asyncio.Event, step: Awaitable[T]) -> T:
    """Await `step`, or cancel it the moment a stop is requested (then raise Stopped)."""
    task = asyncio.ensure_future(step)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise Stopped
    return task.result()


async def serve(
    settings: Settings,
    *,
    http: bool,
    host: str,
    port: int,
    health_port: int | None = None,
) -> int:
    stop = asyncio.Event()
    install_signal_handlers(stop)
    log.info("licensebot starting")
    try:
        if http:
            _check_port(host, port)
        service = await _open_service(settings)
    except StartupError as error:
        print(f"licensebot: {error}", file=sys.stderr)
        return 2
    readiness = service.readiness
    readiness.starting = True
    health_runner: web.AppRunner | None = None
    if not http and health_port is not None:
        # Probes answer from the start (503 while starting), whatever Slack does.
        health_runner = web.AppRunner(
            health_app(service.deps, readiness), access_log=None, shutdown_timeout=1.0
        )
        await health_runner.setup()
        await web.TCPSite(health_runner, host, health_port).start()
        log.info("licensebot probes on http://%s:%s/readyz", host, health_port)
    try:
        code = await _start(service, stop)
    except Stopped:
        log.info("licensebot stopped while starting")
        code = 0
    if code is not None or stop.is_set():
        if health_runner is not None:
            await health_runner.cleanup()
        await _close(service)
        return code or 0
    runner: web.AppRunner | None = None
    if http:
        # Listening before the scheduler starts: a port taken meanwhile stops the start
        # with one line and nothing left running.
        runner = web.AppRunner(
            service.web_app(), access_log=None, shutdown_timeout=HTTP_DRAIN_SECONDS
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as error:
            await runner.cleanup()
            await _close(service)
            print(f"licensebot: {_cannot_listen(host, port, error)}", file=sys.stderr)
            return 2
    scheduler = _start_scheduler(service)
    _run_jobs_on_signal(scheduler)
    # Every collection stops the event loop, and every ack in flight with it. What start-up
    # built lives as long as the process: frozen, no collection walks it (a full one took
    # 72 ms with it in the ack bench, 20 ms without).
    gc.freeze()
    readiness.expect_scheduler = True
    readiness.scheduler_running = lambda: bool(scheduler is not None and scheduler.is_running)
    socket_handler: Any = None
    backlog: asyncio.Task[None] | None = None
    try:
        if http:
            readiness.starting = False
            log.info("licensebot serving http://%s:%s/slack/events", host, port)
        else:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            assert settings.slack_app_token is not None
            socket_handler = AsyncSocketModeHandler(
                service.app, settings.slack_app_token.get_secret_value()
            )
            log.info("licensebot connecting over Socket Mode")
            try:
                await _unless_stopped(stop, socket_handler.connect_async())
                readiness.starting = False
                log.info("licensebot connected over Socket Mode")
            except Stopped:
                pass
            except (aiohttp.ClientError, OSError, TimeoutError, SlackApiError) as error:
                # Slack unreachable: keep the probes up (not ready) until stopped; the
                # orchestrator restarts us, or an operator does.
                readiness.starting = False
                readiness.slack_error = readiness.slack_error or f"{type(error).__name__}"
                log.error("Socket Mode could not connect: %s", error)
        # Whatever a previous run queued and could not send goes out in the background,
        # once listening: a backlog never keeps /healthz or a command waiting.
        backlog = asyncio.get_running_loop().create_task(_deliver_backlog(service))
        await stop.wait()
    finally:
        await _end_backlog(service, backlog)
        await _stop(service, scheduler, runner, socket_handler, health_runner)
    return 0


async def _deliver_backlog(service: Service) -> None:
    try:
        # Paced (bot/ack_first.py): commands arriving meanwhile are acked first.
        await service.deps.ack_first.paced(service.deps.deliverer.flush())
    except Exception:
        log.exception("outbox delivery at start failed")


async def _end_backlog(service: Service, backlog: asyncio.Task[None] | None) -> None:
    """Every flush ends after the message in flight (never mid-write); a call Slack does
    not answer is cancelled (its lease is taken back at the next start)."""
    service.deps.deliverer.stop()
    if backlog is None or backlog.done():
        return
    try:
        await asyncio.wait_for(asyncio.shield(backlog), BACKLOG_DRAIN_SECONDS)
    except TimeoutError:
        backlog.cancel()
        await asyncio.gather(backlog, return_exceptions=True)


async def _start(service: Service, stop: asyncio.Event) -> int | None:
    """auth.test and the backlog of a previous run; each step yields to a stop request.
    Returns an exit code when the process must not serve."""
    try:
        await _unless_stopped(stop, service.warm())
    except SlackApiError as error:
        code = error.response.get("error")
        if code in BAD_TOKEN:
            print(
                f"licensebot: setting SLACK_BOT_TOKEN is invalid: Slack answered {code}",
                file=sys.stderr,
            )
            return 2
        service.readiness.slack_error = str(code)
        log.warning("auth.test at start failed: %s", code)  # the first request retries it
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        # Not fatal: the first request takes it instead, as Bolt would.
        service.readiness.slack_error = f"{type(error).__name__}: {error}"
        log.warning("auth.test at start failed: %s", error)
    if await _unless_stopped(stop, _genesys_at_start(service)) is False:
        return 2
    return None


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
        log.warning(
            "Genesys Cloud unreachable at start (%s): serving; retrying in the background", error
        )
        return True
    log.info("Genesys Cloud connected (%s)", client.endpoints.api_url)
    return True


async def _stop(
    service: Service,
    scheduler: Any,
    runner: web.AppRunner | None,
    socket_handler: Any,
    health_runner: web.AppRunner | None,
) -> None:
    """Not ready; no new requests; in-flight requests, the running job and the work
    after acks finish; then the store closes. Bounded by STOP_SECONDS in all."""
    log.info("licensebot stopping")
    service.readiness.stopping = True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STOP_SECONDS - 1.0

    def left(share: float) -> float:
        return max(0.1, min(share, deadline - loop.time()))

    if socket_handler is not None:
        try:
            await asyncio.wait_for(socket_handler.close_async(), left(HTTP_DRAIN_SECONDS))
        except (TimeoutError, Exception) as error:  # closing a half-open socket may fail
            log.warning("Socket Mode did not close cleanly: %s", error)
    if runner is not None:
        await runner.cleanup()  # stops listening, waits for requests up to its timeout
    if scheduler is not None:
        if not await scheduler.drain(left(JOB_DRAIN_SECONDS)):
            log.warning("a scheduled job was still running at stop; its period runs again")
    if health_runner is not None:
        await health_runner.cleanup()
    await _close(service, left(INFLIGHT_DRAIN_SECONDS))


async def _close(service: Service, within: float = INFLIGHT_DRAIN_SECONDS) -> None:
    try:
        await asyncio.wait_for(service.deps.inflight.wait_idle(), within)
    except TimeoutError:
        log.warning("work after an ack was still running at stop; its messages stay queued")
    else:
        try:
            # Service.close closes everything it opened (Genesys client, store, HTTP session).
            await asyncio.wait_for(service.close(), 3.0)
            return
        except TimeoutError:
            log.warning("licensebot did not close in time")
    # Work is still running (stuck on Slack, say): close what Service.close would, without
    # waiting for that work; the store must close or its thread keeps the process alive.
    guard = getattr(service, "guard", None)
    if guard is not None:  # the replay guard's own store connection (a thread) too
        with contextlib.suppress(Exception):
            await asyncio.wait_for(guard.close(), 1.0)
    genesys = getattr(service.deps, "genesys", None)
    if genesys is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(genesys.close(), 1.0)
    try:
        await asyncio.wait_for(service.deps.db.close(), 2.0)
    except TimeoutError:
        log.warning("the store did not close in time")
    if service.session is not None:
        await service.session.close()


def _run_jobs_on_signal(scheduler: Any) -> None:
    """SIGUSR1: every scheduled job now, in this process (`licensebot jobs run` inside
    the serving process, beside the requests it answers)."""
    if scheduler is None or not hasattr(signal, "SIGUSR1"):
        return
    with contextlib.suppress(NotImplementedError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, scheduler.run_now)


def _start_scheduler(service: object) -> Any:
    try:
        from bot.jobs.scheduler import start_scheduler
    except ModuleNotFoundError:
        return None
    return start_scheduler(service)  # type: ignore[arg-type]
