"""The stand-in for Slack that `licensebot try` runs in-process.

An aiohttp server on 127.0.0.1 (an ephemeral port) that answers the Slack Web API methods
licensebot calls with the real `AsyncWebClient`, and keeps what a workspace would keep:
channels and their threads, DMs, ephemeral messages, modals, App Home tabs and uploaded
files. Every change is appended to `entries`, in order: that is the transcript the
terminal shows.

Besides `/api/<method>` it serves `response_url`s (`/response/<key>`), the upload URLs
that `files.getUploadURLExternal` hands out (`/upload/<file id>`) and the files
themselves (`/files/<file id>`).
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.tryout import cast
from bot.tryout.cast import Member

log = logging.getLogger(__name__)

# Fields that slack_sdk sends JSON-encoded inside form posts.
_JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata")


class SlackError(Exception):
    """A Web API error: answered as `{"ok": false, "error": code}`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Posted:
    """A message as the stand-in keeps it."""

    channel: str
    ts: str
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    user: str = cast.BOT_USER_ID  # who wrote it
    visible_to: str | None = None  # an ephemeral message: the one person who sees it
    files: list[dict[str, Any]] = field(default_factory=list)
    response_key: str | None = None  # the response_url that may replace this ephemeral
    deleted: bool = False
    metadata: dict[str, Any] | None = None  # message metadata the poster attached

    @property
    def from_bot(self) -> bool:
        return self.user == cast.BOT_USER_ID

    @property
    def ephemeral(self) -> bool:
        return self.visible_to is not None

    def as_slack(self, *, metadata: bool = False) -> dict[str, Any]:
        """The message as Slack shows it in history and in interaction payloads (its
        metadata only when asked for, as `include_all_metadata` does)."""
        message: dict[str, Any] = {
            "type": "message",
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
            "user": self.user,
            "team": cast.TEAM_ID,
        }
        if self.from_bot:
            message["bot_id"] = cast.BOT_ID
            message["app_id"] = cast.APP_ID
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        if self.files:
            message["files"] = self.files
        if metadata and self.metadata:
            message["metadata"] = self.metadata
        return message


@dataclass
class StoredView:
    """A modal or an App Home tab."""

    id: str
    user: str
    view: dict[str, Any]
    closed: bool = False

    @property
    def type(self) -> str:
        return str(self.view.get("type") or "modal")

    def as_slack(self) -> dict[str, Any]:
        view = dict(self.view)
        view.update(
            id=self.id,
            team_id=cast.TEAM_ID,
            app_id=cast.APP_ID,
            bot_id=cast.BOT_ID,
            hash=f"{self.id}.hash",
            root_view_id=self.id,
            previous_view_id=None,
            app_installed_team_id=cast.TEAM_ID,
        )
        view.setdefault("private_metadata", "")
        view.setdefault("callback_id", "")
        view.setdefault("external_id", "")
        view.setdefault("state", {"values": {}})
        return view


@dataclass(frozen=True)
class Entry:
    """One thing that happened in the workspace, in order.

    kind: `post` (a new message, ephemeral included), `update`, `delete`, `modal` (opened
    or pushed), `modal_update`, `home` (published), `note` (something the stand-in could
    not do, said plainly).
    """

    kind: str
    message: Posted | None = None
    view: StoredView | None = None
    note: str = ""


@dataclass
class _ResponseUrl:
    user: str
    channel: str | None
    message: Posted | None  # the message it may replace (an interaction's), if any


@dataclass
class UploadedFile:
    id: str
    name: str
    title: str
    content: bytes = b""


Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]] | dict[str, Any]]


class StandInSlack:
    """The workspace and its Web API. `await start()` before use, `await stop()` after."""

    def __init__(self, members: Iterable[Member] = cast.CAST) -> None:
        self.members: dict[str, Member] = {m.user_id: m for m in members}
        self.channels: dict[str, str] = dict(cast.CHANNELS)
        self.groups: dict[str, list[str]] = cast.groups()
        self.entries: list[Entry] = []
        self.messages: dict[tuple[str, str], Posted] = {}
        self.views: dict[str, StoredView] = {}
        self.homes: dict[str, StoredView] = {}
        self.files: dict[str, UploadedFile] = {}
        self.deactivated: set[str] = set()
        self._triggers: dict[str, str] = {}
        self._responses: dict[str, _ResponseUrl] = {}
        self._ids = itertools.count(1)
        self._ts_base = int(time.time())
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self._methods: dict[str, Handler] = {
            "api.test": lambda args: {"args": args},
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.getPermalink": self._permalink,
            "conversations.open": self._open,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "conversations.info": self._conversation_info,
            "users.info": self._user_info,
            "users.lookupByEmail": self._lookup_by_email,
            "users.list": self._users_list,
            "usergroups.users.list": self._group_users,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "files.info": self._file_info,
            "reactions.add": lambda args: {},
            "reactions.remove": lambda args: {},
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files/{file_id}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]  # the port is ephemeral: ask what was bound
        self.base_url = f"http://127.0.0.1:{port}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_url(self) -> str:
        return self.base_url + "api/"

    # ------------------------------------------------------------------ the workspace

    def new_ts(self) -> str:
        return f"{self._ts_base}.{next(self._ids):06d}"

    def new_trigger(self, user: str) -> str:
        trigger = f"{next(self._ids)}.{user}.try"
        self._triggers[trigger] = user
        return trigger

    def response_url(self, user: str, channel: str | None, message: Posted | None = None) -> str:
        key = f"r{next(self._ids)}"
        self._responses[key] = _ResponseUrl(user, channel, message)
        return f"{self.base_url}response/{key}"

    def dm_channel(self, user: str) -> str:
        if user not in self.members:
            raise SlackError("user_not_found")
        return "D" + user[1:]

    def dm_user(self, channel: str) -> str | None:
        if channel.startswith("D"):
            user = "U" + channel[1:]
            return user if user in self.members else None
        return None

    def channel_label(self, channel: str, *, viewer: str | None = None) -> str:
        if channel in self.channels:
            return f"#{self.channels[channel]}"
        user = self.dm_user(channel)
        if user is not None:
            return f"DM with {self.members[user].name}"
        return channel

    def member(self, user: str) -> Member | None:
        return self.members.get(user)

    def user_name(self, user: str) -> str:
        if user == cast.BOT_USER_ID:
            return "licensebot"
        member = self.members.get(user)
        return member.name if member else user

    def post_as_user(self, user: str, channel: str, text: str, thread_ts: str | None) -> Posted:
        """A person writes a message (the REPL's `reply`): kept in history like any other."""
        posted = Posted(channel, self.new_ts(), text=text, thread_ts=thread_ts, user=user)
        self._record_post(posted)
        return posted

    def _record_post(self, posted: Posted) -> None:
        self.messages[(posted.channel, posted.ts)] = posted
        self.entries.append(Entry("post", message=posted))

    def message(self, channel: str, ts: str) -> Posted | None:
        return self.messages.get((channel, ts))

    def open_modal(self, user: str) -> StoredView | None:
        """The modal on top of the person's screen, if any."""
        for view in reversed(list(self.views.values())):
            if view.user == user and view.type == "modal" and not view.closed:
                return view
        return None

    def close_modal(self, view: StoredView) -> None:
        view.closed = True

    # ------------------------------------------------------------------ HTTP

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        handler = self._methods.get(method)
        if handler is None:
            self.entries.append(
                Entry("note", note=f"the stand-in for Slack does not know `{method}`")
            )
            return web.json_response({"ok": False, "error": "unknown_method"})
        if method != "api.test" and not request.headers.get("Authorization", "").startswith(
            "Bearer xox"
        ):
            return web.json_response({"ok": False, "error": "not_authed"})
        try:
            result = handler(args)
            if not isinstance(result, dict):
                result = await result
        except SlackError as error:
            return web.json_response({"ok": False, "error": error.code})
        except (KeyError, ValueError, TypeError) as error:
            log.warning("stand-in %s: bad arguments (%s)", method, error)
            return web.json_response({"ok": False, "error": "invalid_arguments"})
        return web.json_response({"ok": True, **result}, headers={"x-oauth-scopes": _SCOPES})

    async def _response(self, request: web.Request) -> web.Response:
        target = self._responses.get(request.match_info["key"])
        if target is None:
            return web.Response(status=404, text="no_response_url")
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        original = target.message
        if body.get("delete_original") and original is not None:
            original.deleted = True
            self.entries.append(Entry("delete", message=original))
            return web.Response(text="ok")
        if body.get("replace_original") and original is not None:
            original.text = str(body.get("text") or "")
            original.blocks = list(body.get("blocks") or [])
            self.entries.append(Entry("update", message=original))
            return web.Response(text="ok")
        channel = target.channel or self.dm_channel(target.user)
        in_channel = body.get("response_type") == "in_channel"
        posted = Posted(
            channel,
            self.new_ts(),
            text=str(body.get("text") or ""),
            blocks=list(body.get("blocks") or []),
            thread_ts=body.get("thread_ts"),
            visible_to=None if in_channel else target.user,
        )
        if not in_channel:
            posted.response_key = request.match_info["key"]
            self._responses[posted.response_key] = _ResponseUrl(target.user, channel, posted)
        self._record_post(posted)
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        uploaded = self.files.get(request.match_info["file_id"])
        if uploaded is None:
            return web.Response(status=404, text="file_not_found")
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            part = await reader.next()
            uploaded.content = await part.read() if part is not None else b""  # type: ignore[union-attr]
        else:
            uploaded.content = await request.read()
        return web.Response(text=f"OK - {len(uploaded.content)}")

    async def _download(self, request: web.Request) -> web.Response:
        uploaded = self.files.get(request.match_info["file_id"])
        if uploaded is None:
            return web.Response(status=404, text="file_not_found")
        return web.Response(body=uploaded.content, content_type="application/octet-stream")

    # ------------------------------------------------------------------ methods

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://try.slack.invalid/",
            "team": cast.TEAM_NAME,
            "user": "licensebot",
            "team_id": cast.TEAM_ID,
            "user_id": cast.BOT_USER_ID,
            "bot_id": cast.BOT_ID,
            "is_enterprise_install": False,
        }

    def _channel(self, given: Any) -> str:
        channel = str(given or "")
        if channel.startswith("#"):
            for cid, name in self.channels.items():
                if name == channel[1:]:
                    return cid
            raise SlackError("channel_not_found")
        if channel.startswith(("U", "W")):  # posting to a user id posts in their DM
            return self.dm_channel(channel)
        if channel in self.channels or self.dm_user(channel) is not None:
            return channel
        if channel[:1] in ("C", "G") and channel[1:].isalnum():
            self.channels[channel] = channel.lower()  # a channel the settings name
            return channel
        raise SlackError("channel_not_found")

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        thread_ts = args.get("thread_ts") or None
        if thread_ts and (channel, thread_ts) not in self.messages:
            raise SlackError("thread_not_found")
        posted = Posted(
            channel,
            self.new_ts(),
            text=str(args.get("text") or ""),
            blocks=list(args.get("blocks") or []),
            thread_ts=thread_ts,
            metadata=args.get("metadata") if isinstance(args.get("metadata"), dict) else None,
        )
        if not posted.text and not posted.blocks:
            raise SlackError("no_text")
        self._record_post(posted)
        return {"channel": channel, "ts": posted.ts, "message": posted.as_slack(metadata=True)}

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        user = str(args.get("user") or "")
        if user not in self.members:
            raise SlackError("user_not_found")
        posted = Posted(
            channel,
            self.new_ts(),
            text=str(args.get("text") or ""),
            blocks=list(args.get("blocks") or []),
            thread_ts=args.get("thread_ts") or None,
            visible_to=user,
        )
        self._record_post(posted)
        return {"message_ts": posted.ts}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        posted = self.messages.get((channel, str(args.get("ts") or "")))
        if posted is None or posted.deleted or posted.ephemeral:
            raise SlackError("message_not_found")
        if not posted.from_bot:
            raise SlackError("cant_update_message")
        if "text" in args:
            posted.text = str(args.get("text") or "")
        if "blocks" in args:
            posted.blocks = list(args.get("blocks") or [])
        self.entries.append(Entry("update", message=posted))
        return {"channel": channel, "ts": posted.ts, "text": posted.text}

    def _delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        posted = self.messages.get((channel, str(args.get("ts") or "")))
        if posted is None or posted.deleted:
            raise SlackError("message_not_found")
        posted.deleted = True
        self.entries.append(Entry("delete", message=posted))
        return {"channel": channel, "ts": posted.ts}

    def _permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        ts = str(args.get("message_ts") or "")
        if (channel, ts) not in self.messages:
            raise SlackError("message_not_found")
        return {
            "channel": channel,
            "permalink": f"https://try.slack.invalid/archives/{channel}/p{ts.replace('.', '')}",
        }

    def _open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if len(users) != 1:
            raise SlackError("not_supported" if users else "users_list_not_supplied")
        return {"channel": {"id": self.dm_channel(users[0])}}

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        found = [
            p
            for p in self.messages.values()
            if p.channel == channel
            and not p.deleted
            and not p.ephemeral
            and (not p.thread_ts or p.thread_ts == p.ts)
        ]
        return self._page(found, args)

    def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        ts = str(args.get("ts") or "")
        found = [
            p
            for p in self.messages.values()
            if p.channel == channel
            and not p.deleted
            and not p.ephemeral
            and (p.ts == ts or p.thread_ts == ts)
        ]
        if not found:
            raise SlackError("thread_not_found")
        page = self._page(found, args)
        page["messages"].reverse()  # replies come oldest first
        return page

    def _page(self, found: list[Posted], args: dict[str, Any]) -> dict[str, Any]:
        oldest = str(args.get("oldest") or "0")
        latest = str(args.get("latest") or "9999999999.999999")
        inclusive = str(args.get("inclusive") or "").lower() in ("1", "true")
        limit = int(args.get("limit") or 100)

        def within(ts: str) -> bool:
            low = float(ts) >= float(oldest) if inclusive else float(ts) > float(oldest)
            high = float(ts) <= float(latest) if inclusive else float(ts) < float(latest)
            return low and high

        ordered = sorted((p for p in found if within(p.ts)), key=lambda p: float(p.ts))
        ordered.reverse()
        metadata = str(args.get("include_all_metadata") or "").lower() in ("1", "true")
        return {
            "messages": [p.as_slack(metadata=metadata) for p in ordered[:limit]],
            "has_more": len(ordered) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversation_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        user = self.dm_user(channel)
        if user is not None:
            return {"channel": {"id": channel, "is_im": True, "user": user}}
        return {"channel": {"id": channel, "name": self.channels[channel], "is_channel": True}}

    def user(self, member: Member) -> dict[str, Any]:
        """The person as users.info (and a `user_change` event) shows them."""
        return self._user(member)

    def _user(self, member: Member) -> dict[str, Any]:
        return {
            "id": member.user_id,
            "team_id": cast.TEAM_ID,
            "name": member.name,
            "real_name": member.real_name,
            "deleted": member.user_id in self.deactivated,
            "is_bot": False,
            "tz": "UTC",
            "profile": {
                "email": member.email,
                "real_name": member.real_name,
                "display_name": member.name,
                "title": member.title,
            },
        }

    def _user_info(self, args: dict[str, Any]) -> dict[str, Any]:
        member = self.members.get(str(args.get("user") or ""))
        if member is None:
            raise SlackError("user_not_found")
        return {"user": self._user(member)}

    def _lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email") or "").lower()
        for member in self.members.values():
            if member.email == email:
                return {"user": self._user(member)}
        raise SlackError("users_not_found")

    def _users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "members": [self._user(m) for m in self.members.values()],
            "response_metadata": {"next_cursor": ""},
        }

    def _group_users(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup") or "")
        if group not in self.groups:
            raise SlackError("no_such_subteam")
        return {"users": list(self.groups[group])}

    def _view_arg(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        if not isinstance(view, dict):
            raise SlackError("invalid_arguments")
        return view

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._triggers.get(str(args.get("trigger_id") or ""))
        if user is None:
            raise SlackError("invalid_trigger_id")
        view = self._view_arg(args)
        stored = StoredView(f"V{next(self._ids):05d}", user, view)
        self.views[stored.id] = stored
        self.entries.append(Entry("modal", view=stored))
        return {"view": stored.as_slack()}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id")
        external = args.get("external_id")
        stored = self.views.get(str(view_id)) if view_id else None
        if stored is None and external:
            for candidate in self.views.values():
                if candidate.view.get("external_id") == external:
                    stored = candidate
        if stored is None:
            raise SlackError("not_found")
        stored.view = self._view_arg(args)
        kind = "home" if stored.type == "home" else "modal_update"
        self.entries.append(Entry(kind, view=stored))
        return {"view": stored.as_slack()}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user_id") or "")
        if user not in self.members:
            raise SlackError("user_not_found")
        view = self._view_arg(args)
        if view.get("type") != "home":
            raise SlackError("invalid_arguments")
        stored = self.homes.get(user)
        if stored is None:
            stored = StoredView(f"V{next(self._ids):05d}", user, view)
            self.homes[user] = stored
            self.views[stored.id] = stored
        stored.view = view
        self.entries.append(Entry("home", view=stored))
        return {"view": stored.as_slack()}

    def _upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("filename") or "")
        if not name:
            raise SlackError("invalid_arguments")
        uploaded = UploadedFile(f"F{next(self._ids):06d}", name, name)
        self.files[uploaded.id] = uploaded
        return {"upload_url": f"{self.base_url}upload/{uploaded.id}", "file_id": uploaded.id}

    def file_dict(self, uploaded: UploadedFile) -> dict[str, Any]:
        return {
            "id": uploaded.id,
            "name": uploaded.name,
            "title": uploaded.title,
            "size": len(uploaded.content),
            "url_private": f"{self.base_url}files/{uploaded.id}",
        }

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        wanted = args.get("files")
        if not isinstance(wanted, list) or not wanted:
            raise SlackError("invalid_arguments")
        done: list[UploadedFile] = []
        for item in wanted:
            uploaded = self.files.get(str(item.get("id")))
            if uploaded is None:
                raise SlackError("file_not_found")
            uploaded.title = str(item.get("title") or uploaded.name)
            done.append(uploaded)
        targets = [args["channel_id"]] if args.get("channel_id") else []
        channels = args.get("channels")
        if channels:
            targets += [c for c in str(channels).split(",") if c]
        for target in targets:
            posted = Posted(
                self._channel(target),
                self.new_ts(),
                text=str(args.get("initial_comment") or ""),
                thread_ts=args.get("thread_ts") or None,
                files=[self.file_dict(f) for f in done],
            )
            self._record_post(posted)
        return {"files": [self.file_dict(f) for f in done]}

    def _file_info(self, args: dict[str, Any]) -> dict[str, Any]:
        uploaded = self.files.get(str(args.get("file") or ""))
        if uploaded is None:
            raise SlackError("file_not_found")
        return {"file": self.file_dict(uploaded)}


_SCOPES = "commands,chat:write,im:write,users:read,users:read.email,usergroups:read,files:write"


async def _read_args(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                args.update(body)
        else:
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for name in _JSON_FIELDS:
        value = args.get(name)
        if isinstance(value, str | bytes):
            try:
                args[name] = json.loads(value)
            except ValueError:
                pass
    return args
