"""Logging for the command line and `serve` (SPEC 11).

`LICENSEBOT_LOG_FORMAT=json` writes one JSON object a line: time, level, logger, message,
and the Slack request's id, user and command where the line was logged while handling
one (contextvars, so the work a request starts after its ack carries them too).
Libraries (APScheduler's job lines, aiosqlite's statements, Bolt, aiohttp, asyncpg) log
at WARNING; `-v` raises only the project's own loggers, to DEBUG.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

PROJECT_LOGGERS = ("bot", "licensebot")
QUIET_LIBRARIES = (
    "apscheduler",
    "aiosqlite",
    "asyncpg",
    "slack_bolt",
    "slack_sdk",
    "aiohttp",
    "asyncio",
    "urllib3",
)

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
request_user: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_user", default=None
)
request_command: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_command", default=None
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, var in (
            ("request_id", request_id),
            ("user", request_user),
            ("command", request_command),
        ):
            value = var.get()
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(verbose: bool = False, fmt: str | None = None) -> None:
    """Set up the root handler once (the CLI calls it before any sub-command)."""
    fmt = (fmt or os.environ.get("LICENSEBOT_LOG_FORMAT") or "text").lower()
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.set_name("licensebot")
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == "licensebot":  # ours from an earlier call; keep others' (pytest)
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in PROJECT_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.INFO)


def bind_request(body: dict[str, Any], request_key: str | None = None) -> None:
    """Remember, for the log lines of this request, who did what."""
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    if isinstance(body.get("event"), dict):
        user = user or body["event"].get("user")
    command = None
    if body.get("command"):
        first = (body.get("text") or "").split(maxsplit=1)
        command = f"{body['command']} {first[0]}" if first else body["command"]
    elif body.get("actions"):
        command = f"action:{body['actions'][0].get('action_id')}"
    elif body.get("type") == "view_submission":
        command = f"view:{(body.get('view') or {}).get('callback_id')}"
    elif isinstance(body.get("event"), dict):
        command = f"event:{body['event'].get('type')}"
    request_id.set(request_key or body.get("trigger_id") or body.get("event_id"))
    request_user.set(user)
    request_command.set(command)
