"""One listener pipeline: every listener is a plain function registered from its module's
route table, run the same way.

    ROUTES = (
        Route.action(APPROVE_ACTION, approve_clicked),   # acked first, then the listener
        Route.view(DENY_MODAL, deny_submitted),          # the listener acks (errors go in it)
        Route.command("/license", license_command),      # likewise
        Route.event("message", thread_reply),            # Bolt acks events itself
    )

    def register(app, deps):
        mount(app, deps, ROUTES)

What every listener shares is done here once:

- the ack goes out the moment the listener calls it: the listener runs in a task of its
  own and the function Bolt awaits (`process_before_response=True`) returns once it has
  acked, so Bolt answers at once (its `process_before_response=False` runner looks for
  the ack every 10 ms, slack_bolt/listener/asyncio_runner.py);
- acks first: what the listener does after its ack is paced (bot/ack_first.py), so the
  requests still waiting for their ack go before it;
- in-flight tracking (`Deps.inflight`): shutdown and tests wait for the work after the
  ack. This cannot be a global Bolt middleware: Bolt returns from the middleware chain
  once the listener has acked, so only the listener's own task sees it end;
- unexpected errors: logged once with the request's context (bot/logs binds it in the
  middleware of bot/health.py) and, where the request has a response_url, the person is
  told briefly (`report_unexpected`, which `app.error` also uses for the errors Bolt
  itself catches, see `install_error_handler`). An error is never re-raised into Bolt
  after the ack: Bolt would turn one raised just after ack() into a 404.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse

from bot.context import Deps

log = logging.getLogger(__name__)

UNEXPECTED = ":warning: Something went wrong on our side; nothing was changed."

Kind = Literal["command", "action", "view", "event"]


@dataclass(frozen=True)
class Incoming:
    """What Bolt hands a listener: the ack, the request body and, where the request has a
    response_url, a respond."""

    ack: AsyncAck
    body: dict[str, Any]
    respond: AsyncRespond | None = None

    @property
    def event(self) -> dict[str, Any]:
        event = self.body.get("event")
        return event if isinstance(event, dict) else {}


Listener = Callable[[Deps, Incoming], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    kind: Kind
    matcher: str
    listener: Listener

    @classmethod
    def action(cls, action_id: str, listener: Listener) -> Route:
        return cls("action", action_id, listener)

    @classmethod
    def view(cls, callback_id: str, listener: Listener) -> Route:
        return cls("view", callback_id, listener)

    @classmethod
    def command(cls, name: str, listener: Listener) -> Route:
        return cls("command", name, listener)

    @classmethod
    def event(cls, event_type: str, listener: Listener) -> Route:
        return cls("event", event_type, listener)


async def report_unexpected(
    error: BaseException, body: dict[str, Any] | None, respond: AsyncRespond | None
) -> None:
    """An error no listener expected: one log line with its trace (the request's context
    is bound to the log record), and a brief word to the person where Slack lets us."""
    log.error("listener failed: %s", error, exc_info=error)
    if respond is None or not respond.response_url:
        return
    try:
        await respond(text=UNEXPECTED, response_type="ephemeral", replace_original=False)
    except Exception as failed:  # the word to the person is best effort
        log.warning("could not tell the person about the failure: %s", failed)


class _Ack(AsyncAck):
    """Bolt's ack, and a future that is done the moment it is called: from then on the
    listener's steps are paced (`AckFirst`): requests waiting for their ack go first."""

    def __init__(self, ack: AsyncAck) -> None:
        super().__init__()
        self._bolt = ack
        self.called: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        try:
            response = await self._bolt(*args, **kwargs)
            self.response = self._bolt.response
        finally:
            if not self.called.done():
                self.called.set_result(None)
        # What follows the ack starts a step of its own: a paced one (Bolt answers
        # first, and requests waiting for their ack go before it).
        await asyncio.sleep(0)
        return response


def _bolt_listener(deps: Deps, route: Route) -> Callable[..., Awaitable[None]]:
    async def work(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond | None) -> None:
        async with deps.inflight.track():
            try:
                if route.kind == "action":
                    await ack()
                await route.listener(deps, Incoming(ack, body, respond))
            except Exception as error:
                await report_unexpected(error, body, respond)

    async def run(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond | None) -> None:
        # The listener runs in a task of its own (it inherits the request's log context);
        # Bolt gets the response the moment the listener acks (or ends without acking:
        # an event, which Bolt acks). Bolt's own way (`process_before_response=False`)
        # looks for the ack every 10 ms.
        acked = _Ack(ack)
        paced = deps.ack_first.paced(work(acked, body, respond), after=acked.called)
        task = asyncio.get_running_loop().create_task(paced)
        deps.inflight.keep(task)
        await asyncio.wait((task, acked.called), return_when=asyncio.FIRST_COMPLETED)

    run.__name__ = route.listener.__name__  # Bolt logs listeners by name
    return run


def mount(app: AsyncApp, deps: Deps, routes: Iterable[Route]) -> None:
    """Register each route's listener with Bolt, inside the pipeline."""
    for route in routes:
        register = {
            "command": app.command,
            "action": app.action,
            "view": app.view,
            "event": app.event,
        }[route.kind]
        register(route.matcher)(_bolt_listener(deps, route))


def install_error_handler(app: AsyncApp) -> None:
    """`app.error`: what Bolt itself catches (a middleware's error, a listener's before the
    pipeline runs) is reported like a listener's."""

    async def on_error(
        error: Exception, body: dict[str, Any], respond: AsyncRespond | None = None
    ) -> None:
        await report_unexpected(error, body, respond)

    app.error(on_error)
