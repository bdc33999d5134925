"""What a failed delivery attempt means: retry later, end it, or wait for another message.

Transient (Slack down or busy, a timeout, a dropped connection, a body that is not JSON)
is retried with backoff for as long as it lasts; never given up. Permanent (Slack refused
this message: the channel is gone, the bot is not in it, the blocks are invalid) ends the
message as failed, kept for admins to see and retry. Gone (the recipient left Slack) ends
it at once as well, recorded; nobody can act on it but it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import aiohttp
from slack_sdk.errors import SlackApiError

# Answers that say the person is no longer there: retrying can never succeed.
GONE_ERRORS = frozenset(
    {"user_not_found", "account_inactive", "user_disabled", "users_not_found", "user_not_visible"}
)
# `ok: false` answers that are Slack's own trouble, or the token's (fixed by an operator):
# retried like an outage, never dropped.
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "timeout",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "team_access_not_granted",
    }
)

MAX_BACKOFF = timedelta(minutes=5)


class Kind(StrEnum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    GONE = "gone"


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    detail: str
    ambiguous: bool = False  # the request may have been carried out (timeout after send)
    retry_after: float | None = None


class NotReady(Exception):
    """The message depends on one not delivered yet (a thread reply before its card)."""


class RateLimited(Exception):
    """Slack keeps answering 429 for this channel longer than a flush waits."""

    def __init__(self, method: str, retry_after: float) -> None:
        super().__init__(f"{method} rate limited for {retry_after:.0f}s")
        self.retry_after = retry_after


class Unreadable(Exception):
    """Slack answered with something slack_sdk could not read (a plain-text 500)."""


def classify(error: BaseException) -> Outcome:
    if isinstance(error, RateLimited):
        return Outcome(Kind.TRANSIENT, str(error), retry_after=error.retry_after)
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        data = error.response.data if isinstance(error.response.data, dict) else {}
        code = str(data.get("error") or "")
        detail = f"slack error: {code or status}"
        if status == 429:
            return Outcome(Kind.TRANSIENT, detail, retry_after=retry_after(error))
        if status >= 500:
            return Outcome(Kind.TRANSIENT, detail, ambiguous=True)
        if code in GONE_ERRORS:
            return Outcome(Kind.GONE, detail)
        if code in TRANSIENT_ERRORS or not code:
            return Outcome(Kind.TRANSIENT, detail)
        return Outcome(Kind.PERMANENT, detail)
    if isinstance(error, Unreadable):
        return Outcome(Kind.TRANSIENT, f"unreadable answer: {error}", ambiguous=True)
    if isinstance(error, TimeoutError | OSError | aiohttp.ClientError):
        return Outcome(Kind.TRANSIENT, f"{type(error).__name__}: {error}", ambiguous=True)
    if isinstance(error, LookupError):
        return Outcome(Kind.PERMANENT, str(error))
    # Anything else (a bug rendering this one message): contained to the message, kept
    # as failed with the error so an admin sees it and can retry after a fix.
    return Outcome(Kind.PERMANENT, f"{type(error).__name__}: {error}")


def retry_after(error: SlackApiError) -> float:
    """Slack's Retry-After, in seconds (1 when it gives none or no number)."""
    try:
        return max(0.0, float(error.response.headers.get("Retry-After") or 1))
    except (TypeError, ValueError, AttributeError):
        return 1.0


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1` after `attempts` transient failures: 2 s, 4 s,
    8 s, ... capped at 5 minutes, forever."""
    seconds = 2.0 ** min(max(attempts, 1), 20)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)
