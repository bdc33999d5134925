"""A `licensebot try` session: the real app, the stand-in for Slack, and the prompt.

The app is `bot.app.build_service`, exactly as `licensebot serve` builds it: the same
listeners, store, outbox and jobs. What a person types becomes the request Slack would
send (a slash command, a `block_actions` click, a `view_submission`, a message or
`app_home_opened` event), signed with the session's signing secret and handed to
`app.async_dispatch`. After each command the session waits for every piece of work the
request started (listener tasks included, tracked through a context variable, not by
sleeping) and for the outbox to drain, then prints what Slack would now show.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import os
import re
import secrets
import shlex
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO, TypeVar
from urllib.parse import urlencode

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.app import Service, build_service
from bot.clock import Clock, SystemClock
from bot.context import Deps
from bot.settings import Settings, SettingsError, load_settings
from bot.tryout import cast
from bot.tryout.cast import Member
from bot.tryout.render import Renderer, options_of
from bot.tryout.slack import Entry, Posted, StandInSlack, StoredView

T = TypeVar("T")
log = logging.getLogger(__name__)

HELP = """\
Commands (type them as the person shown in the prompt):
  /license ...            a slash command, as typed in Slack; write people as @nina
  as <name>               become someone else: {people}
  press <n> [answer]      press button n (or just type the number); [answer] confirms
                          a dialog or picks a menu option
  reply <n> <text>        answer in the thread of message n, e.g. `reply 4 approve`
  home                    open your App Home
  deactivate <name>       Slack deactivates that person (a `user_change` event)
  show <n>                show message n again, as it is now
  jobs run [JOB ...] [--as-of WHEN]
                          run the scheduled jobs now, or as of WHEN (ISO-8601 like
                          2027-01-15T09:00, or +40d / +6h); the clock stays there
  jobs list               the jobs
  who                     the people and channels of this workspace
  help                    this text
  quit                    leave (end of input works too)
In a form: answer each field; an empty line keeps the default or skips an optional
field; `cancel` closes the form."""


class SessionClock:
    """The real clock, moved forward by `jobs run --as-of`: time only moves forward."""

    def __init__(self, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return self._base.now() + self._offset

    def travel_to(self, at: datetime) -> None:
        self._offset = at - self._base.now()


# --- waiting for the work a request started -----------------------------------------

_WORK: contextvars.ContextVar[set[asyncio.Task[Any]] | None] = contextvars.ContextVar(
    "licensebot_try_work", default=None
)


def install_work_tracking(loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """Tasks created while `settled()` runs a command are remembered, with the tasks
    they create in turn (a task inherits the context it was created in). Returns the
    function that puts the loop's previous task factory back."""
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future[Any]:
        if previous is not None:
            task = previous(loop, coro, **kwargs)
        else:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        bucket = _WORK.get()
        if bucket is not None and isinstance(task, asyncio.Task):
            bucket.add(task)
        return task

    loop.set_task_factory(factory)
    return lambda: loop.set_task_factory(previous)


SETTLE_LIMIT = 60.0  # seconds: work still running then is left to run in the background


async def settled(work: Awaitable[T], limit: float = SETTLE_LIMIT) -> T:
    """Run `work`, then wait until everything it started has finished. A task that
    outlives `limit` (a background loop someone started on the way) is left running
    rather than holding the prompt for ever; it is logged."""
    bucket: set[asyncio.Task[Any]] = set()
    token = _WORK.set(bucket)
    try:
        result = await work
    finally:
        _WORK.reset(token)
    while pending := {t for t in bucket if not t.done()}:
        _, still = await asyncio.wait(pending, timeout=limit)
        if still and still == pending:
            names = ", ".join(sorted(t.get_name() for t in still))
            log.warning("left running in the background after %.0f s: %s", limit, names)
            break
    return result


# --- reading lines ----------------------------------------------------------------


class LineReader:
    """Lines from standard input, read on a daemon thread so the event loop keeps
    running (and Ctrl-C never waits for Enter). With a terminal the prompt and line
    editing come from `input()`; from a script, lines are read as they come."""

    def __init__(self, stream: TextIO, *, interactive: bool) -> None:
        import queue
        import threading

        self.interactive = interactive
        self._stream = stream
        self._requests: queue.Queue[tuple[str, asyncio.Future[str | None]]] = queue.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="try-stdin", daemon=True)
        self._started = False
        if interactive:
            with contextlib.suppress(ImportError):  # line editing and history at a terminal
                import readline  # noqa: F401

    def _run(self) -> None:
        while True:
            prompt, future = self._requests.get()
            line: str | None
            try:
                if self.interactive:
                    line = input(prompt)
                else:
                    raw = self._stream.readline()
                    line = raw.rstrip("\r\n") if raw else None
            except (EOFError, OSError, ValueError):
                line = None
            assert self._loop is not None
            self._loop.call_soon_threadsafe(_resolve, future, line)
            if line is None:
                return

    async def read(self, prompt: str) -> str | None:
        self._loop = asyncio.get_running_loop()
        if not self._started:
            self._started = True
            self._thread.start()
        future: asyncio.Future[str | None] = self._loop.create_future()
        self._requests.put((prompt, future))
        return await future


def _resolve(future: asyncio.Future[str | None], line: str | None) -> None:
    if not future.done():
        future.set_result(line)


# --- settings ---------------------------------------------------------------------


def try_settings(api_url: str, signing_secret: str, database: str) -> Settings:
    """Settings for the session: the stand-in's URL, the demo channels and admins. Slack
    and Genesys settings in the environment are ignored (this never talks to them);
    the rest (time zone, policy numbers, catalog) are honoured."""
    fields = Settings.model_fields
    values: dict[str, Any] = {
        "_env_file": None,
        "slack_bot_token": "xoxb-licensebot-try-" + secrets.token_hex(8),
        "slack_signing_secret": signing_secret,
        "slack_app_token": None,
        "slack_api_url": api_url,
        "database": database,
        "approvals_channel": cast.APPROVALS,
        "alerts_channel": cast.ALERTS,
        "admins": ",".join(m.user_id for m in cast.CAST if m.admin),
        "admin_group": None,
    }
    for name in ("genesys_client_id", "genesys_client_secret"):
        if name in fields:
            values[name] = None
    optional: dict[str, Any] = {}
    if "finance_group" in fields:  # the second approval stage (SPEC 10), with finn
        optional["finance_group"] = cast.FINANCE_GROUP
        if "finance_threshold" in fields and not os.environ.get("LICENSEBOT_FINANCE_THRESHOLD"):
            optional["finance_threshold"] = cast.FINANCE_THRESHOLD
    if optional:
        try:
            return load_settings(**values, **optional)
        except SettingsError:
            pass  # a finance stage this version configures differently: run without it
    return load_settings(**values)


# --- the session ------------------------------------------------------------------


@dataclass
class Control:
    """A numbered element a person can press: where it is, and what it is."""

    number: int
    element: dict[str, Any]
    block_id: str
    message: Posted | None = None
    view: StoredView | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (
            str(self.element.get("type")),
            str(self.element.get("action_id") or ""),
            str(self.element.get("value") or ""),
            self.block_id,
        )


class Quit(Exception):
    pass


class TrySession:
    def __init__(
        self,
        reader: LineReader,
        out: TextIO,
        *,
        start_as: Member,
        color: bool = False,
        database: str | None = None,
        verbose: bool = False,
    ) -> None:
        self.reader = reader
        self.out = out
        self.me = start_as
        self.color = color
        self.slack = StandInSlack()
        self.clock = SessionClock()
        self.secret = secrets.token_hex(16)
        self._verifier = SignatureVerifier(self.secret)
        self._database = database
        self._verbose = verbose
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.service: Service | None = None
        self.renderer = Renderer(self._user_name, self._channel_name, color=color)
        self._cursor = 0
        self._message_numbers: dict[tuple[str, str], int] = {}
        self._messages: dict[int, Posted] = {}
        self._controls: dict[int, Control] = {}
        self._control_keys: dict[tuple[str, tuple[str, str, str, str]], int] = {}
        self._modal_queue: list[StoredView] = []
        self._show_home_for: str | None = None
        self.seeded: list[str] = []
        self._untrack: Callable[[], None] | None = None

    # ------------------------------------------------------------------ start / stop

    async def start(self) -> None:
        self._untrack = install_work_tracking(asyncio.get_running_loop())
        await self.slack.start()
        if self._database is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="licensebot-try-")
            self._database = str(Path(self._tmp.name) / "licensebot.db")
        settings = try_settings(self.slack.api_url, self.secret, self._database)
        self.renderer.tz = settings.tz
        self.service = await build_service(settings, self.clock)
        if not self._verbose:  # "unhandled request" and the like: said in the transcript
            self.service.app.logger.setLevel(logging.ERROR)
        await self.service.warm()
        await self._seed()
        self._cursor = len(self.slack.entries)  # the seeding is not part of the story

    async def close(self) -> None:
        if self.service is not None:
            await self.service.close()
        await self.slack.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
        if self._untrack is not None:
            self._untrack()

    @property
    def deps(self) -> Deps:
        assert self.service is not None
        return self.service.deps

    async def _seed(self) -> None:
        async with self.deps.db.read() as tx:
            pools = await tx.pools.all_states()
        if pools:
            return
        admin = next(m for m in cast.CAST if m.admin)
        for line in cast.POOLS:  # typed by an admin, through the same listener as in Slack
            await self._run(self._slash(admin, f"pool set {line}"))
        async with self.deps.db.read() as tx:
            pools = await tx.pools.all_states()
        self.seeded = [f"{p.label} {p.purchased}" for p in pools]
        if len(pools) < len(cast.POOLS):
            log.warning("only %d of the %d demo pools were set", len(pools), len(cast.POOLS))

    def banner(self) -> None:
        assert self._database is not None
        temporary = (
            " (temporary: gone when you quit)"
            if self._tmp
            else " (LICENSEBOT_DATABASE: what you do here changes it)"
        )
        people = ", ".join(f"{m.name} ({m.role})" for m in cast.CAST)
        self.say(
            f"licensebot try: the real bot, with a stand-in for Slack at {self.slack.base_url}"
        )
        self.say(f"database: {self._database}{temporary}")
        if self.seeded:
            self.say(f"pools: {', '.join(self.seeded)}")
        self.say(f"people: {people}")
        threshold = getattr(self.deps.settings, "finance_threshold", None)
        if getattr(self.deps.settings, "finance_group", None) and threshold is not None:
            self.say(f"finance approves too when a seat costs {threshold}/month or more")
        self.say(
            f"channels: #{cast.CHANNELS[cast.APPROVALS]} (requests), "
            f"#{cast.CHANNELS[cast.ALERTS]} (alerts), #{cast.CHANNELS[cast.GENERAL]} "
            "(where you type)"
        )
        self.say(f"You are {self.me.name} ({self.me.role}). Type `help` for the commands.")
        self.flush()

    # ------------------------------------------------------------------ the loop

    def prompt(self) -> str:
        return f"{self.me.name}> "

    async def run(self) -> int:
        self.banner()
        while True:
            line = await self.read(self.prompt())
            if line is None:
                if self.reader.interactive:
                    self.say()  # Ctrl-D leaves the cursor after the prompt
                return 0
            try:
                await self.handle(line)
            except Quit:
                return 0
            self.flush()

    async def read(self, prompt: str) -> str | None:
        line = await self.reader.read(prompt)
        if line is not None and not self.reader.interactive:
            self.say(f"{prompt}{line}")  # a script's transcript reads like a session
        return line

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def flush(self) -> None:
        self.out.flush()

    async def handle(self, line: str) -> None:
        line = line.strip()
        if not line or line.startswith("#"):
            return
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        lower = word.lower()
        if lower.startswith("/"):
            await self.slash(lower, rest)
        elif lower in ("quit", "exit", "q"):
            raise Quit
        elif lower in ("help", "?"):
            people = ", ".join(m.name for m in cast.CAST)
            self.say(HELP.format(people=people))
        elif lower == "as":
            await self.switch(rest)
        elif lower == "press" or lower.isdigit():
            await self.press(rest if lower == "press" else f"{word} {rest}".strip())
        elif lower == "reply":
            await self.reply(rest)
        elif lower == "home":
            await self.home()
        elif lower == "show":
            self.show(rest)
        elif lower == "jobs":
            await self.jobs(rest)
        elif lower in ("who", "people"):
            self.who()
        elif lower == "deactivate":
            await self.deactivate(rest)
        else:
            self.say(f"? `{word}` is not a command here: type `help` (slash commands start with /)")

    # ------------------------------------------------------------------ commands

    async def switch(self, name: str) -> None:
        if not name.strip():
            self.say(f"You are {self.me.name} ({self.me.role}): `as <name>` to switch.")
            return
        member = cast.by_name(name)
        if member is None:
            self.say(f"? nobody called `{name}` here: choose from {_people()}")
            return
        self.me = member
        self.say(f"You are {member.name} ({member.role}).")
        await self._forms()

    def who(self) -> None:
        for m in cast.CAST:
            self.say(f"  {m.name:<6} {m.real_name:<14} {m.email:<20} {m.role}")
        for cid, name in cast.CHANNELS.items():
            self.say(f"  #{name} ({cid})")

    async def slash(self, command: str, text: str) -> None:
        if command != "/license":
            self.say(f"? only /license is installed in this workspace, not {command}")
            return
        response = await self._run(self._slash(self.me, self.mentions(text)))
        self._show_ack(response, cast.GENERAL)
        await self.show_new()

    def mentions(self, text: str) -> str:
        """`@nina` as Slack writes a mention: `<@U0NINA|nina>`."""

        def mention(match: re.Match[str]) -> str:
            member = cast.by_name(match.group(1))
            if member is None or member.user_id.lower() == match.group(1).lower():
                return match.group(0)
            return f"<@{member.user_id}|{member.name}>"

        return re.sub(r"(?<![\w<@.])@([A-Za-z][\w-]*(?:\.[\w-]+)*)", mention, text)

    async def reply(self, rest: str) -> None:
        number, _, text = rest.partition(" ")
        message = self._message(number)
        if message is None:
            return
        if not text.strip():
            self.say("? say what to reply: `reply <n> <text>`, e.g. `reply 4 approve`")
            return
        if message.ephemeral:
            self.say(f"? message {number} is an ephemeral message: nobody can reply to it")
            return
        if self.slack.dm_user(message.channel) not in (None, self.me.user_id):
            self.say(f"? message {number} is in someone else's DM")
            return
        thread_ts = message.thread_ts or message.ts
        posted = self.slack.post_as_user(
            self.me.user_id, message.channel, self.mentions(text.strip()), thread_ts
        )
        event = {
            "type": "message",
            "channel": message.channel,
            "user": self.me.user_id,
            "text": posted.text,
            "ts": posted.ts,
            "thread_ts": thread_ts,
            "team": cast.TEAM_ID,
            "channel_type": "im" if message.channel.startswith("D") else "channel",
            "event_ts": posted.ts,
        }
        self._unhandled(await self._run(self._event(event)))
        await self.show_new()

    async def deactivate(self, name: str) -> None:
        member = cast.by_name(name)
        if member is None:
            self.say(f"? nobody called `{name}` here: choose from {_people()}")
            return
        if member.user_id in self.slack.deactivated:
            self.say(f"? {member.name} is deactivated already")
            return
        self.slack.deactivated.add(member.user_id)
        self.say(f"(Slack deactivated {member.name}'s account)")
        event = {
            "type": "user_change",
            "user": self.slack.user(member),
            "cache_ts": int(time.time()),
            "event_ts": f"{time.time():.6f}",
        }
        self._unhandled(await self._run(self._event(event)))
        await self.show_new()

    def _unhandled(self, response: BoltResponse) -> None:
        if response.status == 404:
            self.say("(the bot has no listener for this: nothing happened)")
        elif response.status >= 400:
            self.say(f"(the bot answered {response.status})")

    async def home(self) -> None:
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": self.me.user_id,
            "channel": self.slack.dm_channel(self.me.user_id),
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        stored = self.slack.homes.get(self.me.user_id)
        if stored is not None:
            event["view"] = stored.as_slack()
        self._show_home_for = self.me.user_id
        try:
            await self._run(self._event(event))
            await self.show_new()
            if self._show_home_for is not None:  # nothing published: show what is there
                stored = self.slack.homes.get(self.me.user_id)
                if stored is None:
                    self.say("(your App Home is empty: the bot published nothing)")
                else:
                    self._show_view(stored, "App Home")
        finally:
            self._show_home_for = None

    def show(self, rest: str) -> None:
        message = self._message(rest.strip())
        if message is not None:
            self._show_message(message, "")

    async def jobs(self, rest: str) -> None:
        from bot.cli.jobs import parse_as_of
        from bot.jobs.runner import JOBS, execute

        try:
            words = shlex.split(rest)
        except ValueError as error:
            self.say(f"? {error}")
            return
        if not words or words[0] not in ("run", "list"):
            self.say("? usage: jobs run [JOB ...] [--as-of WHEN] | jobs list")
            return
        if words[0] == "list":
            for name, spec in JOBS.items():
                self.say(f"  {name:<10} {spec.schedule}")
            self.say("  (the scheduler does not run here: `jobs run` runs them)")
            return
        names: list[str] = []
        as_of: str | None = None
        args = iter(words[1:])
        for word in args:
            if word == "--as-of":
                as_of = next(args, None)
                if as_of is None:
                    self.say("? --as-of needs a time: ISO-8601 (2027-01-15T09:00) or +40d")
                    return
            elif word.startswith("--as-of="):
                as_of = word.split("=", 1)[1]
            elif word in JOBS:
                names.append(word)
            else:
                self.say(f"? unknown job `{word}`: choose from {', '.join(JOBS)}")
                return
        if as_of is not None:
            try:
                at = relative(as_of, self.clock.now()) or parse_as_of(as_of, self.deps.rules.tz)
            except ValueError:
                self.say(f"? --as-of `{as_of}` is not a time: ISO-8601 (2027-01-15T09:00) or +40d")
                return
            if at < self.clock.now() - timedelta(seconds=1):
                self.say(
                    "? the clock only moves forward in a try session: it reads "
                    f"{self._when(self.clock.now())}"
                )
                return
            self.clock.travel_to(at)
            self.say(f"(the clock now reads {self._when(at)})")
        result = await self._run(execute(self.deps, names or None))
        ran = ", ".join(names or JOBS)
        queued = len(result.messages)
        self.say(f"(ran {ran}: {queued} message{'s' if queued != 1 else ''})")
        for name, why in result.failed.items():
            self.say(f"! job {name} failed: {why}")
        await self.show_new()

    # ------------------------------------------------------------------ press

    async def press(self, rest: str) -> None:
        number, _, answer = rest.strip().partition(" ")
        if not number.isdigit() or int(number) not in self._controls:
            self.say(f"? no button {number or '(none given)'}: press one of the [numbers] shown")
            return
        control = self._controls[int(number)]
        if not self._still_there(control):
            return
        payload = await self._action_payload(control, answer.strip())
        if payload is None:
            return
        self._unhandled(await self._run(self._interaction(payload)))
        await self.show_new()

    def _still_there(self, control: Control) -> bool:
        if control.message is not None:
            message = control.message
            n = self._message_numbers.get((message.channel, message.ts))
            if message.deleted:
                self.say(f"? message {n} was deleted")
                return False
            if message.visible_to and message.visible_to != self.me.user_id:
                self.say(f"? only {self._user_name(message.visible_to)} sees message {n}")
                return False
            dm_user = self.slack.dm_user(message.channel)
            if dm_user is not None and dm_user != self.me.user_id:
                owner = self._user_name(dm_user)
                self.say(f"? that button is in {owner}'s DM: `as {owner}` first")
                return False
            if not _contains(message.blocks, control):
                self.say(f"? that button is no longer on message {n}: `show {n}` shows it now")
                return False
            return True
        view = control.view
        assert view is not None
        if view.user != self.me.user_id:
            owner = self._user_name(view.user)
            where = "App Home" if view.type == "home" else "form"
            self.say(f"? that button is in {owner}'s {where}: `as {owner}` first")
            return False
        if not _contains(view.view.get("blocks") or [], control):
            self.say("? that button is no longer there: type `home` to see it now")
            return False
        return True

    async def _action_payload(self, control: Control, answer: str) -> dict[str, Any] | None:
        element = control.element
        kind = str(element.get("type"))
        action: dict[str, Any] = {
            "type": kind,
            "action_id": element.get("action_id"),
            "block_id": control.block_id,
            "action_ts": f"{time.time():.6f}",
        }
        if kind in ("button", "workflow_button"):
            action["text"] = element.get("text")
            if "value" in element:
                action["value"] = element["value"]
            if element.get("style"):
                action["style"] = element["style"]
            confirm = element.get("confirm")
            if confirm and not await self._confirm(confirm, answer):
                self.say("(cancelled: nothing was sent)")
                return None
        else:
            hint = _HINTS.get(kind, "")
            label = self.renderer.control_label(element) + (f" [{hint}]" if hint else "")
            value = await self._ask_element(element, label, answer)
            if value is None:
                return None
            action.update(value)
        user = {
            "id": self.me.user_id,
            "username": self.me.name,
            "name": self.me.name,
            "team_id": cast.TEAM_ID,
        }
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": user,
            "api_app_id": cast.APP_ID,
            "token": "licensebot-try",
            "trigger_id": self.slack.new_trigger(self.me.user_id),
            "team": {"id": cast.TEAM_ID, "domain": "try"},
            "enterprise": None,
            "is_enterprise_install": False,
            "state": {"values": {}},
            "actions": [action],
        }
        message = control.message
        if message is not None:
            container: dict[str, Any] = {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": message.ephemeral,
            }
            if message.thread_ts:
                container["thread_ts"] = message.thread_ts
            payload["container"] = container
            payload["channel"] = {
                "id": message.channel,
                "name": self._channel_name(message.channel).lstrip("#"),
            }
            if not message.ephemeral:
                payload["message"] = message.as_slack()
            payload["response_url"] = self.slack.response_url(
                self.me.user_id, message.channel, message
            )
        else:
            view = control.view
            assert view is not None
            payload["container"] = {"type": "view", "view_id": view.id}
            payload["view"] = view.as_slack()
        return payload

    async def _confirm(self, confirm: dict[str, Any], answer: str) -> bool:
        title = self.renderer.text_object(confirm.get("title"))
        text = self.renderer.text_object(confirm.get("text"))
        yes = self.renderer.text_object(confirm.get("confirm")) or "Yes"
        no = self.renderer.text_object(confirm.get("deny")) or "Cancel"
        self.say(f"  ┌ {title}")
        for line in text.splitlines():
            self.say(f"  │ {line}")
        if not answer:
            read = await self.read(f"  └ {yes}? (yes / no, {no} by default) ")
            if read is None:
                raise Quit
            answer = read
        return answer.strip().lower() in ("y", "yes", yes.lower())

    # ------------------------------------------------------------------ forms

    async def _ask_element(
        self, element: dict[str, Any], label: str, answer: str, *, optional: bool = False
    ) -> dict[str, Any] | None:
        """Ask for one element's value; its state entry (without `type`), or None when
        cancelled. An empty answer to an optional field gives the empty value."""
        kind = str(element.get("type"))
        options = options_of(element)
        if options:
            for i, option in enumerate(options, 1):
                self.say(f"    {i}) {self.renderer.text_object(option.get('text'))}")
        while True:
            if not answer:
                read = await self.read(f"  {label}: ")
                if read is None:
                    raise Quit
                answer = read.strip()
            if answer.lower() == "cancel":
                self.say("(cancelled: nothing was sent)")
                return None
            if answer == "-" and optional:
                return {"_clear": True}
            if not answer and optional:
                return _empty(kind)
            if not answer:
                self.say("  ? this field is required (`cancel` closes the form)")
                continue
            value, problem = self._parse_value(element, kind, options, answer)
            if problem is None:
                return value
            self.say(f"  ? {problem}")
            answer = ""

    def _parse_value(
        self, element: dict[str, Any], kind: str, options: list[dict[str, Any]], answer: str
    ) -> tuple[dict[str, Any], str | None]:
        multi = kind.startswith("multi_") or kind == "checkboxes"
        if options:
            picked = []
            for word in re.split(r"[,\s]+", answer) if multi else [answer]:
                if not word:
                    continue
                option = _pick(options, word, self.renderer)
                if option is None:
                    return {}, f"`{word}` is not one of the choices: give its number"
                picked.append(option)
            if multi:
                return {"selected_options": picked}, None
            return {"selected_option": picked[0]}, None
        if kind in ("users_select", "multi_users_select"):
            users = []
            for word in re.split(r"[,\s]+", answer):
                member = cast.by_name(word) if word else None
                if word and member is None:
                    return {}, f"nobody called `{word}` here: write @name"
                if member is not None:
                    users.append(member.user_id)
            if kind == "users_select":
                return {"selected_user": users[0] if users else None}, None
            return {"selected_users": users}, None
        if kind in ("conversations_select", "channels_select"):
            channel = self._find_channel(answer)
            if channel is None:
                return {}, f"no channel `{answer}`: write #name"
            key = "selected_conversation" if kind == "conversations_select" else "selected_channel"
            return {key: channel}, None
        if kind == "datepicker":
            try:
                datetime.strptime(answer, "%Y-%m-%d")
            except ValueError:
                return {}, "write the date as YYYY-MM-DD"
            return {"selected_date": answer}, None
        if kind == "timepicker":
            if not re.fullmatch(r"\d{2}:\d{2}", answer):
                return {}, "write the time as HH:MM"
            return {"selected_time": answer}, None
        if kind == "datetimepicker":
            try:
                at = datetime.fromisoformat(answer).replace(tzinfo=self.renderer.tz)
            except ValueError:
                return {}, "write it as YYYY-MM-DDTHH:MM"
            return {"selected_date_time": int(at.timestamp())}, None
        if kind == "number_input":
            try:
                float(answer)
            except ValueError:
                return {}, "write a number"
            return {"value": answer}, None
        if kind == "file_input":
            path = Path(answer).expanduser()
            if not path.is_file():
                return {}, f"no file at {path}"
            return {"files": [self._upload(path)]}, None
        return {"value": answer}, None

    def _upload(self, path: Path) -> dict[str, Any]:
        from bot.tryout.slack import UploadedFile

        uploaded = UploadedFile(f"F{len(self.slack.files) + 1:06d}U", path.name, path.name)
        uploaded.content = path.read_bytes()
        self.slack.files[uploaded.id] = uploaded
        return self.slack.file_dict(uploaded)

    def _find_channel(self, answer: str) -> str | None:
        name = answer.strip().lstrip("#")
        for cid, cname in self.slack.channels.items():
            if name in (cid, cname):
                return cid
        return None

    async def fill(self, view: StoredView) -> None:
        """Ask the modal's inputs field by field, then submit it as Slack would. When the
        bot answers with errors, the form is asked again with the answers kept (Enter
        keeps one, `-` clears it) and each error shown above its field."""
        values: dict[str, dict[str, Any]] = {}
        errors: dict[str, str] | None = None  # None: the first time through
        while True:
            title = self.renderer.text_object(view.view.get("title"))
            if errors is None:
                self.say(f"── form: {title} ── (answer each field; `cancel` closes it)")
            else:
                self.say(f"── form: {title}, again ── (Enter keeps an answer, `-` clears it)")
            for block in view.view.get("blocks") or []:
                if block.get("type") != "input":
                    if errors is None:
                        for line in self.renderer.block(block, self._numberer(view=view)):
                            self.say(f"  {line}")
                    continue
                block_id = str(block.get("block_id") or "")
                element = block.get("element") or {}
                action_id = str(element.get("action_id") or "")
                label = self.renderer.text_object(block.get("label"))
                optional = bool(block.get("optional"))
                previous = (values.get(block_id) or {}).get(action_id)
                if previous is not None:
                    previous = {k: v for k, v in previous.items() if k != "type"}
                    if _is_empty(previous):
                        previous = None
                default = previous if errors is not None else self._default(element)
                if errors and block_id in errors:
                    self.say(f"  ? {self.renderer.mrkdwn(str(errors[block_id]))}")
                if block.get("hint") and errors is None:
                    self.say(self.renderer.dim(f"  ({self.renderer.text_object(block['hint'])})"))
                notes = [n for n in (_HINTS.get(str(element.get("type")), ""),) if n]
                if optional:
                    notes.insert(0, "optional")
                if default is not None:
                    notes.append("Enter keeps " + self._value_text(default))
                shown = f"{label} [{', '.join(notes)}]" if notes else label
                value = await self._ask_element(
                    element, shown, "", optional=optional or default is not None
                )
                if value is None:
                    self.slack.close_modal(view)
                    return
                if value.get("_clear"):
                    value = _empty(str(element.get("type")))
                elif default is not None and _is_empty(value):
                    value = default
                values.setdefault(block_id, {})[action_id] = {
                    "type": element.get("type"),
                    **value,
                }
            state = view.as_slack()
            state["state"] = {"values": values}
            submit = self.renderer.text_object(view.view.get("submit")) or "Submit"
            self.say(f"  [{submit}]")
            payload = {
                "type": "view_submission",
                "team": {"id": cast.TEAM_ID, "domain": "try"},
                "user": {
                    "id": self.me.user_id,
                    "username": self.me.name,
                    "name": self.me.name,
                    "team_id": cast.TEAM_ID,
                },
                "api_app_id": cast.APP_ID,
                "token": "licensebot-try",
                "trigger_id": self.slack.new_trigger(self.me.user_id),
                "view": state,
                "response_urls": [],
                "is_enterprise_install": False,
                "enterprise": None,
            }
            response = await self._run(self._interaction(payload))
            answer = _json(response.body)
            action = answer.get("response_action") if isinstance(answer, dict) else None
            if action == "errors":
                errors = {str(k): str(v) for k, v in (answer.get("errors") or {}).items()}
                known = {str(b.get("block_id")) for b in view.view.get("blocks") or []}
                for block_id, problem in errors.items():
                    if block_id not in known:
                        self.say(f"  ? {self.renderer.mrkdwn(problem)}")
                continue
            if action in ("update", "push") and isinstance(answer.get("view"), dict):
                view.view = answer["view"]
                values, errors = {}, None
                continue
            self.slack.close_modal(view)
            if response.status >= 400:
                self.say(f"(the bot answered {response.status})")
            return

    def _value_text(self, value: dict[str, Any]) -> str:
        """An answer as the form shows it."""
        if value.get("selected_option"):
            return self.renderer.text_object(value["selected_option"].get("text"))
        if value.get("selected_options"):
            return ", ".join(
                self.renderer.text_object(o.get("text")) for o in value["selected_options"]
            )
        if value.get("selected_user"):
            return "@" + self._user_name(value["selected_user"])
        if value.get("selected_users"):
            return ", ".join("@" + self._user_name(u) for u in value["selected_users"])
        if value.get("files"):
            return ", ".join(str(f.get("name")) for f in value["files"])
        shown = [str(v) for k, v in value.items() if v not in (None, "", [])]
        return ", ".join(shown)

    def _default(self, element: dict[str, Any]) -> dict[str, Any] | None:
        if element.get("initial_option"):
            return {"selected_option": element["initial_option"]}
        if element.get("initial_options"):
            return {"selected_options": element["initial_options"]}
        if element.get("initial_user"):
            return {"selected_user": element["initial_user"]}
        if element.get("initial_date"):
            return {"selected_date": element["initial_date"]}
        if element.get("initial_value"):
            return {"value": element["initial_value"]}
        return None

    # ------------------------------------------------------------------ requests to the app

    def _signed(self, body: str, content_type: str) -> AsyncBoltRequest:
        timestamp = str(int(time.time()))  # Bolt checks the signature against real time
        signature = self._verifier.generate_signature(timestamp=timestamp, body=body)
        headers: dict[str, str | Sequence[str]] = {
            "content-type": content_type,
            "x-slack-request-timestamp": timestamp,
            "x-slack-signature": signature or "",
        }
        return AsyncBoltRequest(body=body, headers=headers)

    async def _dispatch(self, request: AsyncBoltRequest) -> BoltResponse:
        assert self.service is not None
        return await self.service.app.async_dispatch(request)

    def _slash(self, member: Member, text: str) -> Coroutine[Any, Any, BoltResponse]:
        fields = {
            "token": "licensebot-try",
            "team_id": cast.TEAM_ID,
            "team_domain": "try",
            "channel_id": cast.GENERAL,
            "channel_name": cast.CHANNELS[cast.GENERAL],
            "user_id": member.user_id,
            "user_name": member.name,
            "command": "/license",
            "text": text,
            "api_app_id": cast.APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.slack.response_url(member.user_id, cast.GENERAL),
            "trigger_id": self.slack.new_trigger(member.user_id),
        }
        body = urlencode(fields)
        return self._dispatch(self._signed(body, "application/x-www-form-urlencoded"))

    def _interaction(self, payload: dict[str, Any]) -> Coroutine[Any, Any, BoltResponse]:
        body = urlencode({"payload": json.dumps(payload)})
        return self._dispatch(self._signed(body, "application/x-www-form-urlencoded"))

    def _event(self, event: dict[str, Any]) -> Coroutine[Any, Any, BoltResponse]:
        envelope = {
            "token": "licensebot-try",
            "team_id": cast.TEAM_ID,
            "api_app_id": cast.APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": "Ev" + secrets.token_hex(6).upper(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": cast.TEAM_ID,
                    "user_id": cast.BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        return self._dispatch(self._signed(json.dumps(envelope), "application/json"))

    async def _run(self, work: Awaitable[T]) -> T:
        """Run a request (or jobs) and wait, without sleeping, until the work it started is
        done and the outbox is drained."""
        result = await settled(work)
        await self.deps.inflight.wait_idle()
        # Everything due, alerts included: no scheduler runs here to send them later.
        await settled(self.deps.deliverer.flush())
        return result

    def _show_ack(self, response: BoltResponse, channel: str) -> None:
        """What Slack shows for an ack with a body: an ephemeral reply to the person."""
        if response.status >= 400:
            self.say(f"(the bot answered {response.status}: Slack would say the command failed)")
            return
        body = _json(response.body)
        if isinstance(body, dict) and (body.get("text") or body.get("blocks")):
            posted = Posted(
                channel,
                self.slack.new_ts(),
                text=str(body.get("text") or ""),
                blocks=list(body.get("blocks") or []),
                visible_to=self.me.user_id,
            )
            self.slack.messages[(posted.channel, posted.ts)] = posted
            self.slack.entries.append(Entry("post", message=posted))
        elif response.body and not isinstance(body, dict):
            posted = Posted(
                channel, self.slack.new_ts(), text=response.body, visible_to=self.me.user_id
            )
            self.slack.messages[(posted.channel, posted.ts)] = posted
            self.slack.entries.append(Entry("post", message=posted))

    # ------------------------------------------------------------------ the transcript

    async def show_new(self) -> None:
        """Print what happened since the last command, each message once as it is now;
        then ask any form that opened for the person at the prompt."""
        entries = self.slack.entries[self._cursor :]
        self._cursor = len(self.slack.entries)
        first: dict[tuple[str, str], int] = {}
        last_home: dict[str, int] = {}
        for i, entry in enumerate(entries):
            if entry.message is not None:
                first.setdefault((entry.message.channel, entry.message.ts), i)
            if entry.kind == "home" and entry.view is not None:
                last_home[entry.view.user] = i
        for i, entry in enumerate(entries):
            if entry.message is not None:
                if first[(entry.message.channel, entry.message.ts)] == i:
                    self._show_posted(entry)
            elif entry.kind == "home" and entry.view is not None:
                if last_home[entry.view.user] == i:
                    self._show_home(entry.view)
            else:
                self._show_other(entry)
        await self._forms()

    async def _forms(self) -> None:
        for view in list(self._modal_queue):
            if view.user == self.me.user_id:
                self._modal_queue.remove(view)
                if not view.closed:
                    await self.fill(view)
                    await self.show_new()
                return

    def _show_posted(self, entry: Entry) -> None:
        message = entry.message
        assert message is not None
        if message.deleted:
            n = self._message_numbers.get((message.channel, message.ts))
            if n is not None:
                self.say(f"── message {n} deleted ──")
            return
        self._show_message(message, "updated" if entry.kind == "update" else "")

    def _show_home(self, view: StoredView) -> None:
        if self._show_home_for == view.user:
            self._show_home_for = None
            self._show_view(view, "App Home")
        elif view.user == self.me.user_id:
            self.say(self.renderer.dim("(your App Home changed: type `home` to see it)"))

    def _show_other(self, entry: Entry) -> None:
        if entry.kind == "note":
            self.say(f"(note: {entry.note})")
        elif entry.kind == "modal" and entry.view is not None:
            if entry.view not in self._modal_queue:
                self._modal_queue.append(entry.view)
            if entry.view.user != self.me.user_id:
                title = self.renderer.text_object(entry.view.view.get("title"))
                who = self._user_name(entry.view.user)
                self.say(f"(a form opened for {who}: {title}; `as {who}` to fill it)")

    def _where(self, message: Posted) -> str:
        parts = [self.slack.channel_label(message.channel)]
        dm_user = self.slack.dm_user(message.channel)
        if dm_user is not None:
            parts = [
                f"DM to {self._user_name(dm_user)}"
                if message.from_bot
                else f"DM from {self._user_name(dm_user)}"
            ]
        if message.thread_ts and message.thread_ts != message.ts:
            parent = self._message_numbers.get((message.channel, message.thread_ts))
            parts.append(f"thread of message {parent}" if parent else "in a thread")
        if message.visible_to:
            parts.append(f"only {self._user_name(message.visible_to)} sees this")
        if not message.from_bot:
            parts.append(f"from {self._user_name(message.user)}")
        return " · ".join(parts)

    def _show_message(self, message: Posted, how: str) -> None:
        key = (message.channel, message.ts)
        n = self._message_numbers.get(key)
        if n is None:
            n = len(self._message_numbers) + 1
            self._message_numbers[key] = n
            self._messages[n] = message
        title = f"message {n}{' ' + how if how else ''} · {self._where(message)}"
        self.say(self.renderer.bold(f"── {title} ──"))
        lines = self.renderer.message(message.text, message.blocks, self._numberer(message))
        for uploaded in message.files:
            lines.append(
                f"📎 {uploaded.get('title') or uploaded.get('name')} "
                f"({uploaded.get('name')}, {uploaded.get('size', 0):,} bytes)"
            )
        for line in lines:
            self.say(f"  {line}")

    def _show_view(self, view: StoredView, what: str) -> None:
        title = self.renderer.text_object(view.view.get("title"))
        owner = self._user_name(view.user)
        self.say(self.renderer.bold(f"── {what} of {owner}{' · ' + title if title else ''} ──"))
        for line in self.renderer.blocks(view.view.get("blocks") or [], self._numberer(view=view)):
            self.say(f"  {line}")

    def _numberer(
        self, message: Posted | None = None, *, view: StoredView | None = None
    ) -> Callable[[dict[str, Any], str], int]:
        where = f"m:{message.channel}:{message.ts}" if message is not None else f"v:{view.id}"  # type: ignore[union-attr]

        def number(element: dict[str, Any], block_id: str) -> int:
            control = Control(0, element, block_id, message, view)
            known = self._control_keys.get((where, control.key))
            if known is not None:
                self._controls[known].element = element
                return known
            control.number = len(self._controls) + 1
            self._controls[control.number] = control
            self._control_keys[(where, control.key)] = control.number
            return control.number

        return number

    def _message(self, number: str) -> Posted | None:
        if not number.isdigit() or int(number) not in self._messages:
            self.say(f"? no message {number or '(none given)'}: messages are numbered as shown")
            return None
        return self._messages[int(number)]

    def _user_name(self, user: str) -> str:
        return self.slack.user_name(user)

    def _channel_name(self, channel: str) -> str:
        return self.slack.channel_label(channel)

    def _when(self, at: datetime) -> str:
        return at.astimezone(self.deps.rules.tz).strftime("%Y-%m-%d %H:%M %Z")


_HINTS = {
    "users_select": "@name",
    "multi_users_select": "@name ...",
    "conversations_select": "#channel",
    "channels_select": "#channel",
    "datepicker": "YYYY-MM-DD",
    "timepicker": "HH:MM",
    "datetimepicker": "YYYY-MM-DDTHH:MM",
    "multi_static_select": "numbers, space-separated",
    "checkboxes": "numbers, space-separated",
    "static_select": "a number",
    "radio_buttons": "a number",
    "overflow": "a number",
    "file_input": "a file path",
}


def _people() -> str:
    return ", ".join(m.name for m in cast.CAST)


def _empty(kind: str) -> dict[str, Any]:
    if kind.startswith("multi_") or kind == "checkboxes":
        return {"selected_users": []} if "users" in kind else {"selected_options": []}
    empty: dict[str, dict[str, Any]] = {
        "static_select": {"selected_option": None},
        "external_select": {"selected_option": None},
        "radio_buttons": {"selected_option": None},
        "users_select": {"selected_user": None},
        "conversations_select": {"selected_conversation": None},
        "channels_select": {"selected_channel": None},
        "datepicker": {"selected_date": None},
        "timepicker": {"selected_time": None},
        "datetimepicker": {"selected_date_time": None},
        "file_input": {"files": []},
    }
    return empty.get(kind, {"value": None})


def _is_empty(value: dict[str, Any]) -> bool:
    return all(v in (None, [], "") for v in value.values())


def _pick(options: list[dict[str, Any]], word: str, renderer: Renderer) -> dict[str, Any] | None:
    word = word.strip()
    if word.isdigit() and 1 <= int(word) <= len(options):
        return options[int(word) - 1]
    lowered = word.lower().lstrip("+")
    for option in options:
        if str(option.get("value", "")).lower() == lowered:
            return option
    for option in options:
        if renderer.text_object(option.get("text")).lower().lstrip("+").startswith(lowered):
            return option
    return None


def _contains(blocks: list[dict[str, Any]], control: Control) -> bool:
    def walk(value: Any) -> bool:
        if isinstance(value, dict):
            if value.get("type") == control.element.get("type") and (
                value.get("action_id") == control.element.get("action_id")
                and str(value.get("value") or "") == str(control.element.get("value") or "")
            ):
                return True
            return any(walk(v) for v in value.values())
        if isinstance(value, list):
            return any(walk(v) for v in value)
        return False

    return walk(blocks)


def _json(body: str | None) -> Any:
    if not body or not body.lstrip().startswith("{"):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def relative(text: str, now: datetime) -> datetime | None:
    """`+40d`, `+6h`, `+90m`, `+2w`: that long after now; None for anything else."""
    match = re.fullmatch(r"\+(\d+)([wdhm])", text.strip())
    if match is None:
        return None
    amount, unit = int(match.group(1)), match.group(2)
    delta = {
        "w": timedelta(weeks=amount),
        "d": timedelta(days=amount),
        "h": timedelta(hours=amount),
        "m": timedelta(minutes=amount),
    }[unit]
    return now + delta


def database_from_environment() -> str | None:
    """LICENSEBOT_DATABASE from the process environment only: a `.env` written for a
    real deployment must not send a demo's pools into its database."""
    value = os.environ.get("LICENSEBOT_DATABASE", "").strip()
    return value or None
