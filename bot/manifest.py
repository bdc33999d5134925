"""The Slack app manifest for licensebot.

`build_manifest()` is the single source: `licensebot manifest [--url https://host]` prints
it as JSON, and `app_manifest.yml` at the repository root is `build_manifest(None)` as
YAML (tests/test_manifest.py checks the two agree, validates both against Slack's
manifest schema, and rewrites the file when run as `python tests/test_manifest.py`).

Without a URL the app runs in Socket Mode (no request URLs); with one, Socket Mode is
off and the slash command, interactivity and event subscriptions all point at
`<url>/slack/events`.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "BOT_EVENTS",
    "BOT_SCOPES",
    "EVENTS_PATH",
    "build_manifest",
    "manifest_json",
]

EVENTS_PATH = "/slack/events"

# Exactly the scopes licensebot needs (see REFERENCE.md "Bot scopes"), and no more.
BOT_SCOPES: tuple[str, ...] = (
    "commands",  # /license
    "chat:write",  # post and update messages
    "chat:write.public",  # post in the alerts/approvals channels without being invited
    "im:write",  # open DMs with requesters and seat holders
    "users:read",  # users.info
    "users:read.email",  # users.lookupByEmail, emails in users.info
    "usergroups:read",  # LICENSEBOT_ADMIN_GROUP membership
    "files:write",  # CSV reports (files upload v2)
    "channels:history",  # message.channels: thread replies "approve" / "deny <reason>"
    "groups:history",  # message.groups: the same in private channels
    "im:history",  # a DM whose post timed out is looked up before it is sent again
)

BOT_EVENTS: tuple[str, ...] = (
    "app_home_opened",
    "message.channels",
    "message.groups",
    "user_change",  # a deactivated member who holds a seat (SPEC 9); needs users:read
)

_DESCRIPTION = "Request, approve and audit contact-center license seats from Slack."

_LONG_DESCRIPTION = (
    "licensebot runs contact-center license seats (Genesys Cloud style editions, seat "
    "types and add-on modules) from chat. Managers ask for seats for new hires with "
    "/license request; license admins approve or deny in the request's thread or with "
    "buttons; scheduled checks post compliance alerts for pools over their limit, trial "
    "reminders, and inactive users still holding seats, with buttons to reclaim them."
)

_USAGE_HINT = "request <@user|email> <seat-type> <edition> [+module ...] | requests | help"


def build_manifest(url: str | None = None) -> dict[str, Any]:
    """The complete app manifest; `url` ("https://host") switches from Socket Mode to HTTP."""
    request_url = None if url is None else url.rstrip("/") + EVENTS_PATH

    slash_command: dict[str, Any] = {
        "command": "/license",
        "description": "Request, approve and manage license seats",
        "usage_hint": _USAGE_HINT,
        "should_escape": True,
    }
    interactivity: dict[str, Any] = {"is_enabled": True}
    event_subscriptions: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    if request_url is not None:
        slash_command["url"] = request_url
        interactivity["request_url"] = request_url
        event_subscriptions["request_url"] = request_url

    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": "licensebot",
            "description": _DESCRIPTION,
            "background_color": "#1d3557",
            "long_description": _LONG_DESCRIPTION,
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                # The bot DMs people (Keep / Release buttons) but reads no DMs.
                "messages_tab_read_only_enabled": True,
            },
            "bot_user": {"display_name": "licensebot", "always_online": True},
            "slash_commands": [slash_command],
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "event_subscriptions": event_subscriptions,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": request_url is None,
            "token_rotation_enabled": False,
        },
    }


def manifest_json(url: str | None = None) -> str:
    """`build_manifest(url)` as indented JSON (JSON is valid YAML, so Slack takes either)."""
    return json.dumps(build_manifest(url), indent=2)
