"""Probes and metrics over HTTP (SPEC 11): GET /healthz (alive), GET /readyz (able to
serve: the store writable, the scheduler running, Slack reachable at start) and GET
/metrics (Prometheus text). `serve --http` adds them to the Slack app's routes; Socket
Mode serves them alone on `--health-port`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot import logs, metrics
from bot.licensing.commands import USAGE

if TYPE_CHECKING:
    from bot.context import Deps

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Sub-commands as labels (anything else typed counts as "other": bounded cardinality).
_KNOWN = {name.split()[0] for name in USAGE} | {"approve", "deny", "drift", "alerts"}


@dataclass
class Readiness:
    """What `serve` knows about itself beyond the store. A service built without `serve`
    (tests, `licensebot try`) expects no scheduler."""

    expect_scheduler: bool = False
    scheduler_running: Callable[[], bool] | None = None
    slack_error: str | None = None  # why Slack was unreachable at start
    starting: bool = False
    stopping: bool = False

    async def reasons(self, deps: Deps) -> list[str]:
        found = []
        if self.starting:
            found.append("starting: not connected to Slack yet")
        if self.stopping:
            found.append("stopping: not taking new requests")
        problem = await deps.db.writable()
        if problem:
            found.append(problem)
        elif getattr(deps, "store_health", None) is not None:
            deps.store_health.ok()  # a write went through: a storage failure seen is over
        if self.expect_scheduler and not (self.scheduler_running and self.scheduler_running()):
            found.append("the scheduler is not running")
        if self.slack_error:
            found.append(f"Slack was unreachable at start: {self.slack_error}")
        return found


def add_routes(app: web.Application, deps: Deps, readiness: Readiness) -> None:
    async def healthz(_: web.Request) -> web.Response:
        ok = await deps.db.ping()
        return web.json_response({"ok": ok}, status=200 if ok else 503)

    async def readyz(_: web.Request) -> web.Response:
        reasons = await readiness.reasons(deps)
        return web.json_response(
            {"ready": not reasons, "reasons": reasons}, status=503 if reasons else 200
        )

    async def metrics_route(_: web.Request) -> web.Response:
        try:
            await metrics.refresh_from_store(deps.db, deps.clock.now())
        except Exception:  # a scrape still answers with what this process counted
            pass
        body, content_type = metrics.exposition()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_route)


async def bolt_middleware(body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:  # noqa: A002 - Bolt's name
    """Count commands and actions, and bind the request to its log lines."""
    logs.bind_request(body)
    log.debug("request received")  # with -v: one line per request, with its context
    if body.get("command"):
        words = (body.get("text") or "").split(maxsplit=1)
        name = words[0].lower() if words else "help"
        metrics.COMMANDS.labels(command=name if name in _KNOWN else "other").inc()
    elif body.get("actions"):
        metrics.ACTIONS.labels(action=str(body["actions"][0].get("action_id"))[:60]).inc()
    return await next()


def health_app(deps: Deps, readiness: Readiness) -> web.Application:
    """The probes alone (Socket Mode's --health-port)."""
    app = web.Application()
    add_routes(app, deps, readiness)
    return app
