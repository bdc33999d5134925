"""A local fake of the Slack Web API for flow tests.

`FakeSlack` is an aiohttp server on 127.0.0.1 that answers the Web API methods licensebot
uses (see `_METHODS` below), records every request it gets as a `Call`, and can be told to
fail the next calls of a method (429 + Retry-After, 500, `ok: false`, or a hang), so the
app's retry and outbox behaviour can be tested against the real `AsyncWebClient`;
`chaos(rate, seed=...)` fails a share of all calls at random, reproducibly.

Two faults model Slack doing the work but the answer going astray: `fail(method,
accepted=True, timeout=True)` stores the message and answers only after the client gave
up (or `reset=True`: drops the connection), and `fail(method, status=500, plain=True)`
answers a plain-text (non-JSON) 500. Posted messages (metadata included) are kept per
channel and served by `conversations.history` / `conversations.replies`.

Besides `/api/<method>` it serves:

- `/response/<key>`: a `response_url` (see `FakeSlack.response_url`); posts are recorded
  as `Call(method="response_url", args=<JSON body>)`.
- `/upload/<file_id>`: the `upload_url` handed out by `files.getUploadURLExternal`; the
  bytes posted there (raw body, as slack_sdk's `files_upload_v2` sends them, or a
  multipart file part) are kept in `FakeSlack.uploads`, recorded as `Call(method="upload")`.

Usage::

    fake = FakeSlack()
    await fake.start()
    client = AsyncWebClient(token="xoxb-test", base_url=fake.url)
    fake.fail("chat.postMessage", status=429, retry_after=1)
    ...
    [call] = await fake.wait_for("chat.postMessage")
    await fake.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

__all__ = ["Call", "FakeSlack", "Fault"]

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T0TEAM"
TEAM_NAME = "Test"
TEAM_URL = "https://test.slack.com/"

# Fields that slack_sdk sends JSON-encoded inside form posts (and that Call.parsed decodes).
_JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata")

# Pseudo-methods that are not Web API methods: "*" faults do not apply to them.
_NON_API = ("response_url", "upload")

# How long a `timeout=True` fault holds the request (unless the server stops first).
HOLD_SECONDS = 30.0


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@dataclass
class Call:
    """One request the fake received."""

    method: str
    """Web API method ("chat.postMessage"), or "response_url" / "upload"."""
    args: dict[str, Any]
    """Query parameters merged with the form fields or the JSON body, as sent."""
    headers: dict[str, str]
    faulted: bool = False
    """True when the fake answered this call with a queued fault."""
    response: dict[str, Any] | None = None
    """The JSON the fake answered with (None for faults that hang or are not JSON)."""
    path: str = ""
    """The request path, e.g. "/api/chat.postMessage" or "/response/r"."""
    accepted: bool = False
    """A faulted call Slack carried out all the same (`fail(..., accepted=True)`)."""

    @property
    def parsed(self) -> dict[str, Any]:
        """`args` with JSON-encoded fields (blocks, attachments, view, files, metadata) decoded."""
        out = dict(self.args)
        for key in _JSON_FIELDS:
            if key in out:
                out[key] = _maybe_json(out[key])
        return out

    def header(self, name: str) -> str | None:
        """A request header, looked up case-insensitively."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    @property
    def token(self) -> str | None:
        """The token the call was made with (Bearer header, else a `token` argument)."""
        auth = self.header("Authorization")
        if auth and auth.startswith("Bearer "):
            return auth[len("Bearer ") :]
        token = self.args.get("token")
        return str(token) if token is not None else None


@dataclass
class Fault:
    status: int = 429
    retry_after: int = 1
    error: str | None = None
    timeout: bool = False
    times: int = 1
    hold: float | None = None
    """How long a `timeout` fault holds the request (None: HOLD_SECONDS or until stop)."""
    accepted: bool = False
    """Carry the call out (store the message) before timing out / resetting."""
    reset: bool = False
    """Drop the connection without an answer."""
    plain: bool = False
    """Answer `status` with a plain-text body (slack_sdk cannot read it)."""


@dataclass
class _User:
    user_id: str
    email: str | None
    name: str
    is_bot: bool
    deleted: bool

    def to_dict(self) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "real_name": self.name,
            "display_name": self.name,
            "real_name_normalized": self.name,
            "display_name_normalized": self.name,
        }
        if self.email is not None:
            profile["email"] = self.email
        return {
            "id": self.user_id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.name,
            "deleted": self.deleted,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "tz": "UTC",
            "tz_offset": 0,
            "profile": profile,
        }


_Handler = Callable[["FakeSlack", dict[str, Any]], dict[str, Any]]


class FakeSlack:
    """A recording, fault-injecting fake of the Slack Web API (see module docstring)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.uploads: dict[str, bytes] = {}
        self.files: dict[str, dict[str, Any]] = {}
        """file_id -> {"filename", "length", "title", ...} for files handed an upload_url."""
        self.users: dict[str, _User] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        """Channel id (as answered) -> the messages posted there, oldest first."""
        self._faults: dict[str, deque[Fault]] = {}
        self._chaos: tuple[float, random.Random, float, int] | None = None
        self._limits: dict[str, tuple[float, float]] = {}
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._ts_counter = 0
        self._id_counter = 0
        self._cond: asyncio.Condition | None = None
        self._stopping: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._base = ""

    # ------------------------------------------------------------------ lifecycle

    async def start(self, port: int = 0) -> None:
        """Serve on 127.0.0.1 on `port` (default: a free one)."""
        self._cond = asyncio.Condition()
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_route("POST", "/response/{key}", self._handle_response_url)
        app.router.add_route("POST", "/upload/{file_id}", self._handle_upload)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._base = f"http://{host}:{port}"

    async def stop(self) -> None:
        """Release held (timeout) requests and shut the server down."""
        if self._stopping is not None:
            self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """The Web API base URL (ends with "/"), for `AsyncWebClient(base_url=...)`."""
        if not self._base:
            raise RuntimeError("FakeSlack is not started")
        return f"{self._base}/api/"

    def response_url(self, key: str = "r") -> str:
        """A response_url on this server; posts to it are recorded as method "response_url"."""
        if not self._base:
            raise RuntimeError("FakeSlack is not started")
        return f"{self._base}/response/{key}"

    # ------------------------------------------------------------------ setup

    def add_user(
        self,
        user_id: str,
        email: str | None = None,
        name: str | None = None,
        *,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> None:
        """Make `users.info` / `users.lookupByEmail` / `users.list` know this user."""
        self.users[user_id] = _User(
            user_id=user_id,
            email=email,
            name=name if name is not None else user_id.lower(),
            is_bot=is_bot,
            deleted=deleted,
        )

    def set_usergroup(self, group_id: str, user_ids: list[str]) -> None:
        """Set the members `usergroups.users.list` answers for `group_id`."""
        self.usergroups[group_id] = list(user_ids)

    def fail(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        error: str | None = None,
        times: int = 1,
        timeout: bool = False,
        accepted: bool = False,
        reset: bool = False,
        plain: bool = False,
        hold: float | None = None,
    ) -> None:
        """Fault the next `times` calls of `method`.

        `accepted=True` carries the call out first (the message is stored and listed by
        `messages()` and `conversations.history`), then times out (`timeout=True`, held
        `hold` seconds) or drops the connection (`reset=True`). `plain=True` answers
        HTTP `status` with a plain-text body. `hold` also bounds a plain `timeout`.

        `method` is a Web API method, "response_url", "upload", or "*" for any Web API
        method except `auth.test` (Bolt calls it once, lazily, to authorize; fault it by
        name if you mean to). A method's own faults are used before "*" faults.

        Precedence: `timeout=True` holds the request for 30 s (or until `stop()`);
        else `error="x"` answers HTTP 200 `{"ok": false, "error": "x"}`; else HTTP
        `status` (429 carries `Retry-After: retry_after`).
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.setdefault(method, deque()).append(
            Fault(
                status=status,
                retry_after=retry_after,
                error=error,
                timeout=timeout,
                times=times,
                hold=hold,
                accepted=accepted,
                reset=reset,
                plain=plain,
            )
        )

    def chaos(self, rate: float, *, seed: int, hold: float = 2.0, retry_after: int = 0) -> None:
        """Fail about `rate` of the Web API calls at random, reproducibly from `seed`, in
        equal shares: 429 with `Retry-After: retry_after`, HTTP 500, and a hang of `hold`
        seconds (a timeout for a client that waits less). Queued faults come first;
        `auth.test`, response_urls and uploads are never faulted. `clear_faults()` ends it."""
        self._chaos = (rate, random.Random(seed), hold, retry_after)

    def rate_limit(self, method: str, per_second: float, *, burst: float = 1.0) -> None:
        """Allow `method` at most `per_second` calls per channel (a token bucket holding
        `burst`), as Slack paces chat.postMessage; beyond it answer 429 with Retry-After
        (whole seconds, rounded up) until a call is allowed again."""
        self._limits[method] = (per_second, burst)

    def _rate_limited(self, method: str, args: dict[str, Any]) -> int | None:
        limit = self._limits.get(method)
        if limit is None:
            return None
        per_second, burst = limit
        key = (method, _resolve_channel(str(args.get("channel", ""))))
        now = time.monotonic()
        tokens, updated = self._buckets.get(key, (burst, now))
        tokens = min(burst, tokens + (now - updated) * per_second)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return None
        self._buckets[key] = (tokens, now)
        return max(1, math.ceil((1 - tokens) / per_second))

    def clear_faults(self) -> None:
        self._faults.clear()
        self._chaos = None

    def reset_calls(self) -> None:
        self.calls.clear()

    # ------------------------------------------------------------------ inspection

    def calls_to(self, method: str) -> list[Call]:
        """Every recorded call of `method`, faulted ones included (see `Call.faulted`)."""
        return [c for c in self.calls if c.method == method]

    def _channel_matches(self, call: Call, channel: str) -> bool:
        sent = str(call.args.get("channel", ""))
        answered = (call.response or {}).get("channel")
        return channel in (sent, answered) or answered == _resolve_channel(channel)

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Args of the successful chat.postMessage calls, JSON fields decoded.

        Each dict also gets `ts` (the ts the fake answered). `channel` may be the id
        sent or the id answered (a user id "U1" matches its DM "DU1" and vice versa).
        """
        out: list[dict[str, Any]] = []
        for call in self.calls:
            if call.method != "chat.postMessage" or (call.faulted and not call.accepted):
                continue
            if not (call.response or {}).get("ok"):
                continue
            if channel is not None and not self._channel_matches(call, channel):
                continue
            msg = call.parsed
            msg.setdefault("ts", (call.response or {}).get("ts"))
            out.append(msg)
        return out

    def updates(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Args of the successful chat.update calls, JSON fields decoded."""
        return [
            c.parsed
            for c in self.calls
            if c.method == "chat.update"
            and not c.faulted
            and (c.response or {}).get("ok")
            and (channel is None or self._channel_matches(c, channel))
        ]

    def responses(self, key: str | None = None) -> list[dict[str, Any]]:
        """Bodies posted to response_urls (all, or to `response_url(key)`), fields decoded."""
        return [
            c.parsed
            for c in self.calls
            if c.method == "response_url"
            and not c.faulted
            and (key is None or c.path == f"/response/{key}")
        ]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the contract names it `timeout`
        *,
        faulted: bool | None = False,
    ) -> list[Call]:
        """Wait until `count` calls of `method` matching `predicate` have been recorded.

        By default only calls answered normally count (`faulted=False`); pass
        `faulted=True` for faulted calls only, `faulted=None` for both. Returns every
        matching call recorded so far. Raises AssertionError listing the recorded
        calls when `timeout` seconds pass first.
        """
        if self._cond is None:
            raise RuntimeError("FakeSlack is not started")

        def matching() -> list[Call]:
            return [
                c
                for c in self.calls
                if c.method == method
                and (faulted is None or c.faulted == faulted)
                and (predicate is None or predicate(c))
            ]

        async with self._cond:
            try:
                async with asyncio.timeout(timeout):
                    await self._cond.wait_for(lambda: len(matching()) >= count)
            except TimeoutError:
                seen = len(matching())
                listing = ", ".join(
                    c.method + (" (faulted)" if c.faulted else "") for c in self.calls
                )
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {count} call(s) of {method}"
                    f"{' matching the predicate' if predicate else ''}; got {seen}. "
                    f"Recorded calls: [{listing}]"
                ) from None
            return matching()

    # ------------------------------------------------------------------ internals

    def _next_ts(self) -> str:
        self._ts_counter += 1
        micros = self._ts_counter * 100
        return f"{1700000000 + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        self._id_counter += 1
        return f"{prefix}{self._id_counter:06d}"

    def _take_fault(self, method: str) -> Fault | None:
        keys = [method]
        if method not in _NON_API and method != "auth.test":
            keys.append("*")
        for key in keys:
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.times -= 1
                if fault.times <= 0:
                    queue.popleft()
                return fault
        if self._chaos is not None and len(keys) == 2:
            rate, rng, hold, retry_after = self._chaos
            if rng.random() < rate:
                kind = rng.choice(("429", "500", "timeout"))
                if kind == "timeout":
                    return Fault(timeout=True, hold=hold)
                return Fault(status=int(kind), retry_after=retry_after)
        return None

    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        assert self._cond is not None
        async with self._cond:
            self._cond.notify_all()

    async def _fault_response(
        self, call: Call, fault: Fault, request: web.Request | None = None
    ) -> web.StreamResponse:
        call.faulted = True
        if fault.accepted:
            handler = _METHODS.get(call.method)
            if handler is not None:
                call.response = handler(self, call.args)
                call.accepted = True
        if fault.reset and request is not None:
            await self._record(call)
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        if fault.plain:
            await self._record(call)
            return web.Response(
                status=fault.status, text="Internal Server Error", content_type="text/plain"
            )
        if fault.timeout:
            await self._record(call)
            assert self._stopping is not None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(fault.hold if fault.hold is not None else HOLD_SECONDS):
                    await self._stopping.wait()
            return web.json_response({"ok": False, "error": "fake_timeout"}, status=504)
        if fault.error is not None:
            body: dict[str, Any] = {"ok": False, "error": fault.error}
            call.response = body
            await self._record(call)
            return web.json_response(body)
        if fault.status == 429:
            body = {"ok": False, "error": "ratelimited"}
            call.response = body
            await self._record(call)
            return web.json_response(
                body, status=429, headers={"Retry-After": str(fault.retry_after)}
            )
        body = {"ok": False, "error": "fatal_error"}
        call.response = body
        await self._record(call)
        return web.json_response(body, status=fault.status)

    async def _read_args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.body_exists:
            return args
        if request.content_type == "application/json":
            raw = await request.read()
            if raw:
                body = json.loads(raw)
                if isinstance(body, dict):
                    args.update(body)
            return args
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                args[key] = value.file.read()
            else:
                args[key] = value
        return args

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await self._read_args(request)
        call = Call(method=method, args=args, headers=dict(request.headers), path=request.path)
        fault = self._take_fault(method)
        if fault is None and call.token is not None:
            wait = self._rate_limited(method, args)
            if wait is not None:
                fault = Fault(status=429, retry_after=wait)
        if fault is not None:
            return await self._fault_response(call, fault, request)
        if call.token is None:
            body: dict[str, Any] = {"ok": False, "error": "not_authed"}
        else:
            handler = _METHODS.get(method)
            body = handler(self, args) if handler is not None else {"ok": True}
        call.response = body
        await self._record(call)
        return web.json_response(body)

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        args: dict[str, Any]
        try:
            parsed = json.loads(raw) if raw else {}
            args = parsed if isinstance(parsed, dict) else {"body": parsed}
        except ValueError:
            args = {"body": raw.decode("utf-8", "replace")}
        call = Call("response_url", args, dict(request.headers), path=request.path)
        fault = self._take_fault("response_url")
        if fault is not None:
            return await self._fault_response(call, fault)
        call.response = {"ok": True}
        await self._record(call)
        return web.json_response({"ok": True})

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        if request.content_type.startswith("multipart/"):
            data = b""
            form = await request.post()
            for value in form.values():
                if isinstance(value, web.FileField):
                    data = value.file.read()
                    break
                data = str(value).encode()
        else:
            data = await request.read()
        meta = self.files.get(file_id)
        call = Call(
            "upload",
            {
                "file_id": file_id,
                "length": len(data),
                **({"filename": meta["filename"]} if meta else {}),
            },
            dict(request.headers),
            path=request.path,
        )
        fault = self._take_fault("upload")
        if fault is not None:
            return await self._fault_response(call, fault)
        if meta is None:
            await self._record(call)
            return web.Response(status=404, text="file not found", content_type="text/plain")
        self.uploads[file_id] = data
        await self._record(call)
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    # ------------------------------------------------------------------ Web API answers

    def _user_or_error(self, user: _User | None) -> dict[str, Any]:
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user.to_dict()}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": TEAM_URL,
            "team": TEAM_NAME,
            "user": "licensebot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        resolved = _resolve_channel(channel)
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": "A0APP",
            "team": TEAM_ID,
            "text": args.get("text", ""),
            "ts": ts,
        }
        for key in ("blocks", "attachments", "metadata", "thread_ts"):
            if key in args:
                message[key] = _maybe_json(args[key])
        self.history.setdefault(resolved, []).append(message)
        return {"ok": True, "channel": resolved, "ts": ts, "message": message}

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Newest first; message metadata only with `include_all_metadata`; top-level
        messages only (replies are in `conversations.replies`)."""
        channel = _resolve_channel(str(args.get("channel", "")))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        limit = int(args.get("limit") or 100)
        posted = [m for m in self.history.get(channel, []) if not m.get("thread_ts")]
        return {
            "ok": True,
            "channel": channel,
            "messages": [_shown(m, args) for m in reversed(posted)][:limit],
            "has_more": len(posted) > limit,
        }

    def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """The parent and its replies, oldest first."""
        channel = _resolve_channel(str(args.get("channel", "")))
        parent = str(args.get("ts", ""))
        thread = [
            m
            for m in self.history.get(channel, [])
            if m.get("ts") == parent or m.get("thread_ts") == parent
        ]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        limit = int(args.get("limit") or 100)
        return {
            "ok": True,
            "channel": channel,
            "messages": [_shown(m, args) for m in thread][:limit],
            "has_more": len(thread) > limit,
        }

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _resolve_channel(str(args.get("channel", "")))
        ts = str(args.get("ts", ""))
        if not ts:
            return {"ok": False, "error": "message_not_found"}
        message: dict[str, Any] = {"text": args.get("text", "")}
        for key in ("blocks", "attachments"):
            if key in args:
                message[key] = _maybe_json(args[key])
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": args.get("text", ""),
            "message": message,
        }

    def _delete(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "channel": _resolve_channel(str(args.get("channel", ""))),
            "ts": args.get("ts"),
        }

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _resolve_channel(str(args.get("channel", "")))
        ts = str(args.get("message_ts", ""))
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"{TEAM_URL}archives/{channel}/p{ts.replace('.', '')}",
        }

    def _view(self, args: dict[str, Any]) -> dict[str, Any]:
        raw = _maybe_json(args.get("view"))
        view: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
        view_id = str(args.get("view_id") or self._next_id("V"))
        view.update(
            {
                "id": view_id,
                "team_id": TEAM_ID,
                "app_id": "A0APP",
                "bot_id": BOT_ID,
                "hash": self._next_id("h"),
                "state": {"values": {}},
                "root_view_id": view_id,
                "previous_view_id": None,
            }
        )
        view.setdefault("type", "modal")
        view.setdefault("private_metadata", "")
        view.setdefault("callback_id", "")
        view.setdefault("external_id", args.get("external_id", ""))
        return {"ok": True, "view": view}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            return {"ok": True, "channel": {"id": str(args["channel"])}}
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if len(users) == 1:
            channel_id = "D" + users[0]
        else:
            channel_id = "G" + "".join(sorted(users))
        return {"ok": True, "channel": {"id": channel_id}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._user_or_error(self.users.get(str(args.get("user", ""))))

    def _users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email", "")).lower()
        for user in self.users.values():
            if user.email is not None and user.email.lower() == email:
                return self._user_or_error(user)
        return self._user_or_error(None)

    def _users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "members": [u.to_dict() for u in self.users.values()],
            "response_metadata": {"next_cursor": ""},
        }

    def _usergroup_users(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup", ""))
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def _get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = args.get("filename")
        length = args.get("length")
        if not filename or length is None:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = self._next_id("F")
        self.files[file_id] = {"id": file_id, "filename": str(filename), "length": int(length)}
        return {"ok": True, "upload_url": f"{self._base}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = _maybe_json(args.get("files"))
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        out = []
        for entry in files:
            file_id = str(entry.get("id", ""))
            meta = self.files.get(file_id)
            if meta is None or file_id not in self.uploads:
                return {"ok": False, "error": "file_not_found"}
            meta["title"] = entry.get("title") or meta["filename"]
            for key in ("channel_id", "channels", "initial_comment", "thread_ts"):
                if args.get(key) is not None:
                    meta[key] = args[key]
            out.append({"id": file_id, "title": meta["title"], "name": meta["filename"]})
        return {"ok": True, "files": out}


def _shown(message: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    shown = dict(message)
    if str(args.get("include_all_metadata", "")).lower() not in ("1", "true"):
        shown.pop("metadata", None)
    return shown


def _resolve_channel(channel: str) -> str:
    """Slack answers a post to a user id with the id of the DM channel."""
    if channel[:1] in ("U", "W") and len(channel) > 1:
        return "D" + channel
    return channel


_METHODS: dict[str, _Handler] = {
    "auth.test": FakeSlack._auth_test,
    "chat.postMessage": FakeSlack._post_message,
    "chat.update": FakeSlack._update,
    "chat.delete": FakeSlack._delete,
    "chat.postEphemeral": FakeSlack._post_ephemeral,
    "chat.getPermalink": FakeSlack._get_permalink,
    "views.open": FakeSlack._view,
    "views.publish": FakeSlack._view,
    "views.update": FakeSlack._view,
    "views.push": FakeSlack._view,
    "conversations.open": FakeSlack._conversations_open,
    "conversations.history": FakeSlack._history,
    "conversations.replies": FakeSlack._replies,
    "users.info": FakeSlack._users_info,
    "users.lookupByEmail": FakeSlack._users_lookup_by_email,
    "users.list": FakeSlack._users_list,
    "usergroups.users.list": FakeSlack._usergroup_users,
    "files.getUploadURLExternal": FakeSlack._get_upload_url,
    "files.completeUploadExternal": FakeSlack._complete_upload,
}
