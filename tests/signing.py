"""Build Slack's HTTP requests (slash commands, interactions, events) and send them signed.

The payload shapes follow what Slack posts to a request URL:

- slash commands: form-encoded fields (`token, team_id, channel_id, user_id, command, text,
  response_url, trigger_id, api_app_id`, ...);
- interactions: form-encoded with a single `payload=<JSON>` field;
- events: a JSON `event_callback` envelope with `event_id` and `authorizations`.

Every request carries `X-Slack-Request-Timestamp` and
`X-Slack-Signature: v0=hex(hmac_sha256(secret, "v0:{ts}:{body}"))`, signed with the real
wall clock unless `timestamp=` is given (Bolt checks it against the real time).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp

__all__ = ["Response", "SlackClient", "sign"]

VERIFICATION_TOKEN = "fake-verification-token"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"

_event_ids = itertools.count(1)
_trigger_ids = itertools.count(1)


def sign(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The two signature headers Slack sends for `body` at `timestamp` (Unix seconds)."""
    basestring = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), basestring, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
    }


@dataclass
class Response:
    """What the app answered."""

    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.text)


class SlackClient:
    """Posts signed Slack requests to an app's request URL.

    `url` is the full request URL, e.g. "http://127.0.0.1:PORT/slack/events".
    Every sender takes `timestamp=` (sign as of that Unix time, e.g. a stale one) and
    `secret=` (sign with another secret, e.g. a wrong one).
    """

    def __init__(
        self,
        url: str,
        signing_secret: str,
        *,
        team_id: str = "T0TEAM",
        api_app_id: str = "A0APP",
        team_domain: str = "test",
    ) -> None:
        self.url = url
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.api_app_id = api_app_id
        self.team_domain = team_domain
        self._session: aiohttp.ClientSession | None = None

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> SlackClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ transport

    async def post_raw(self, body: bytes, headers: dict[str, str]) -> Response:
        """Post `body` with exactly `headers` (nothing signed or added)."""
        session = await self._get_session()
        async with session.post(self.url, data=body, headers=headers) as resp:
            text = await resp.text()
            return Response(status=resp.status, text=text, headers=dict(resp.headers))

    async def send(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> Response:
        """Sign `body` (now, or as of `timestamp`) and post it."""
        ts = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
            **sign(self.signing_secret if secret is None else secret, body, ts),
            **(extra_headers or {}),
        }
        return await self.post_raw(body, headers)

    async def _send_form(
        self, fields: dict[str, str], *, timestamp: int | None, secret: str | None
    ) -> Response:
        body = urlencode(fields).encode()
        return await self.send(
            body, "application/x-www-form-urlencoded", timestamp=timestamp, secret=secret
        )

    async def _send_payload(
        self, payload: dict[str, Any], *, timestamp: int | None, secret: str | None
    ) -> Response:
        return await self._send_form(
            {"payload": json.dumps(payload)}, timestamp=timestamp, secret=secret
        )

    # ------------------------------------------------------------------ payload pieces

    def _user(self, user_id: str) -> dict[str, Any]:
        return {"id": user_id, "username": "u", "name": "u", "team_id": self.team_id}

    def _team(self) -> dict[str, Any]:
        return {"id": self.team_id, "domain": self.team_domain}

    # ------------------------------------------------------------------ senders

    async def slash(
        self,
        text: str,
        user_id: str,
        *,
        response_url: str,
        command: str = "/license",
        channel_id: str = "C0GENERAL",
        trigger_id: str = "trig-1",
        user_name: str = "u",
        channel_name: str = "general",
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> Response:
        """A slash command invocation, form-encoded as Slack sends it."""
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        return await self._send_form(fields, timestamp=timestamp, secret=secret)

    async def block_action(
        self,
        user_id: str,
        action_id: str,
        value: str,
        *,
        block_id: str = "b",
        message: dict[str, Any] | None = None,
        channel_id: str | None = None,
        view: dict[str, Any] | None = None,
        response_url: str | None = None,
        trigger_id: str = "trig-2",
        action: dict[str, Any] | None = None,
        state_values: dict[str, Any] | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> Response:
        """A `block_actions` interaction: a button click unless `action` says otherwise.

        `message` is the message the button is in (must carry its `ts`; a dict from
        `FakeSlack.messages()` works, and its `channel` is used when `channel_id` is not
        given); `view` is the modal or App Home view the button is in (needs `id`).
        `action` is merged into the action entry (e.g. `{"type": "static_select",
        "selected_option": {...}}`); `state_values` becomes `state.values`.
        """
        act: dict[str, Any] = {
            "type": "button",
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
            "text": {"type": "plain_text", "text": action_id, "emoji": True},
            "action_ts": f"{time.time():.6f}",
        }
        if action:
            act.update(action)
        if channel_id is None and message is not None and message.get("channel"):
            channel_id = str(message["channel"])
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": trigger_id,
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "state": {"values": state_values or {}},
            "actions": [act],
        }
        if message is not None:
            msg = {"type": "message", "user": "UBOT", "bot_id": "BBOT", "text": "", **message}
            payload["message"] = msg
            payload["container"] = {
                "type": "message",
                "message_ts": msg.get("ts"),
                "channel_id": channel_id,
                "is_ephemeral": False,
            }
            if msg.get("thread_ts"):
                payload["container"]["thread_ts"] = msg["thread_ts"]
        elif view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id")}
        if view is not None:
            payload["view"] = view
        if channel_id is not None:
            payload["channel"] = {"id": channel_id, "name": "channel"}
        if response_url is not None:
            payload["response_url"] = response_url
        return await self._send_payload(payload, timestamp=timestamp, secret=secret)

    def _view(
        self,
        callback_id: str,
        values: dict[str, Any],
        private_metadata: str,
        view_id: str,
        view_extra: dict[str, Any] | None,
    ) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": view_id,
            "team_id": self.team_id,
            "type": "modal",
            "blocks": [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": values},
            "hash": "156772938.1827394",
            "title": {"type": "plain_text", "text": "licensebot", "emoji": True},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.api_app_id,
            "external_id": "",
            "app_installed_team_id": self.team_id,
            "bot_id": "BBOT",
        }
        if view_extra:
            view.update(view_extra)
        return view

    async def view_submission(
        self,
        user_id: str,
        callback_id: str,
        values: dict[str, Any],
        *,
        private_metadata: str = "",
        view_id: str = "V0VIEW",
        trigger_id: str | None = None,
        view_extra: dict[str, Any] | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> Response:
        """A modal submission. `values` is Slack's `view.state.values` shape:
        `{block_id: {action_id: {"type": ..., "value" | "selected_option" | ...: ...}}}`.
        `view_extra` is merged into the view (e.g. its `blocks`)."""
        payload: dict[str, Any] = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": VERIFICATION_TOKEN,
            # Every submission Slack sends has a new trigger id (so no two are signed alike).
            "trigger_id": trigger_id or f"trig-3.{next(_trigger_ids)}",
            "view": self._view(callback_id, values, private_metadata, view_id, view_extra),
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return await self._send_payload(payload, timestamp=timestamp, secret=secret)

    async def view_closed(
        self,
        user_id: str,
        callback_id: str,
        *,
        private_metadata: str = "",
        view_id: str = "V0VIEW",
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> Response:
        """A modal closed with its Cancel button (needs `notify_on_close` in real Slack)."""
        payload: dict[str, Any] = {
            "type": "view_closed",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": VERIFICATION_TOKEN,
            "view": self._view(callback_id, {}, private_metadata, view_id, None),
            "is_cleared": False,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return await self._send_payload(payload, timestamp=timestamp, secret=secret)

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> Response:
        """An Events API `event_callback` carrying `event`.

        `event_id` defaults to a fresh unique id; pass the same one again (with
        `retry_num`) to replay a delivery as Slack's retries do.
        """
        now = int(time.time())
        ev = dict(event)
        ev.setdefault("event_ts", ev.get("ts") or f"{now}.000000")
        body = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.api_app_id,
            "event": ev,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_event_ids):08d}",
            "event_time": now,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": "UBOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{self.team_id}-{ev.get('type', 'event')}",
        }
        extra: dict[str, str] = {}
        if retry_num is not None:
            extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return await self.send(
            json.dumps(body).encode(),
            "application/json",
            timestamp=timestamp,
            secret=secret,
            extra_headers=extra,
        )

    async def url_verification(
        self, challenge: str, *, timestamp: int | None = None, secret: str | None = None
    ) -> Response:
        """The `url_verification` handshake Slack sends when a request URL is saved."""
        body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return await self.send(
            json.dumps(body).encode(), "application/json", timestamp=timestamp, secret=secret
        )
