"""The one Slack Web API client, with slack_sdk's retry handlers, and who the admins are."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.clock import Clock
from bot.licensing.requests import Person

log = logging.getLogger(__name__)

ADMIN_GROUP_TTL_SECONDS = 60

T = TypeVar("T")


def make_client(token: str, base_url: str, timeout: int = 10) -> AsyncWebClient:
    client = AsyncWebClient(token=token, base_url=base_url, timeout=timeout)
    # 429 + Retry-After, 500/503, and dropped connections are retried by slack_sdk itself.
    client.retry_handlers = [
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        AsyncServerErrorRetryHandler(max_retry_count=2),
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
    ]
    return client


class DmChannels:
    """Each person's DM channel with the bot, opened once and remembered: a person's DM
    keeps its channel id, and conversations.open is Tier 3 (about 50 a minute), so a burst
    of filings or decisions would otherwise wait on it. One per process, shared by the
    listeners and the outbox."""

    KEPT = 50_000  # people remembered; the least recently used is dropped
    GONE = frozenset({"channel_not_found", "is_archived", "not_in_channel"})

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._ids: OrderedDict[str, str] = OrderedDict()

    async def send(
        self,
        user_id: str,
        open_dm: Callable[[str], Awaitable[str]],
        post: Callable[[str], Awaitable[T]],
    ) -> T:
        """`post(channel)` in the person's DM. When Slack no longer knows the remembered
        channel (the person was deactivated, say), it is opened anew and posted to once
        more, so Slack's answer is what it would have been without it ("user_not_found")."""
        remembered = user_id in self._ids
        channel = await self._channel(user_id, open_dm)
        try:
            return await post(channel)
        except SlackApiError as error:
            if not remembered or error.response.get("error") not in self.GONE:
                raise
        self._ids.pop(user_id, None)
        return await post(await self._channel(user_id, open_dm))

    async def _channel(self, user_id: str, open_dm: Callable[[str], Awaitable[str]]) -> str:
        channel = self._ids.get(user_id)
        if channel is not None:
            self._ids.move_to_end(user_id)
            return channel
        channel = await open_dm(user_id)
        self._ids[user_id] = channel
        if len(self._ids) > self._kept:
            self._ids.popitem(last=False)
        return channel


async def open_dm(client: AsyncWebClient, user_id: str) -> str:
    opened = await client.conversations_open(users=user_id)
    return str(opened["channel"]["id"])


class BotAuthorization:
    """Bolt's authorization, with one auth.test per process taken at start (`warm`).

    Bolt's built-in single-team authorization calls auth.test lazily inside the first
    request's ack path (and every request that arrives before it answers makes its own
    call); here `licensebot serve` takes it before listening, and concurrent first requests
    share one call when it was not taken yet (tests, or a Slack hiccup at start).
    """

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._result: AsyncSlackResponse | None = None
        self._lock = asyncio.Lock()

    async def warm(self) -> None:
        async with self._lock:
            if self._result is None:
                self._result = await self._client.auth_test()

    async def team_id(self) -> str | None:
        """The workspace the bot token belongs to (auth.test, taken once)."""
        await self.warm()
        assert self._result is not None
        return self._result.get("team_id")

    def bolt_authorize(self) -> Callable[..., Awaitable[AuthorizeResult]]:
        """The `authorize` function for AsyncApp (Bolt passes arguments by their names)."""

        async def authorize(
            enterprise_id: str | None, team_id: str | None, user_id: str | None
        ) -> AuthorizeResult:
            if self._result is None:
                await self.warm()
            auth = self._result
            assert auth is not None
            return AuthorizeResult(
                enterprise_id=auth.get("enterprise_id") or enterprise_id,
                team_id=auth.get("team_id") or team_id,
                bot_id=auth.get("bot_id"),
                bot_user_id=auth.get("user_id"),
                bot_token=self._client.token,
                user_id=user_id,
                bot_scopes=auth.headers.get("x-oauth-scopes"),
            )

        return authorize


class AdminDirectory:
    """Admins are the configured user ids plus the members of the admin user group."""

    def __init__(
        self, client: AsyncWebClient, clock: Clock, user_ids: frozenset[str], group_id: str | None
    ) -> None:
        self._client = client
        self._clock = clock
        self._user_ids = user_ids
        self._group_id = group_id
        self._group: frozenset[str] = frozenset()
        self._fetched_at: float | None = None

    async def is_admin(self, user_id: str) -> bool:
        if user_id in self._user_ids:
            return True
        if not self._group_id:
            return False
        return user_id in await self._group_members()

    async def members(self) -> frozenset[str]:
        """Everyone this directory names: the configured ids and the group's members."""
        group = await self._group_members() if self._group_id else frozenset()
        return self._user_ids | group

    async def _group_members(self) -> frozenset[str]:
        now = self._clock.now().timestamp()
        if self._fetched_at is not None and now - self._fetched_at < ADMIN_GROUP_TTL_SECONDS:
            return self._group
        try:
            response = await self._client.usergroups_users_list(usergroup=self._group_id or "")
            self._group = frozenset(response.get("users") or [])
            self._fetched_at = now
        except SlackApiError as error:
            # Keep the last known members: a Slack hiccup must not make admins vanish.
            log.warning("usergroups.users.list failed: %s", error.response.get("error"))
        return self._group


class PersonNotFound(Exception):
    pass


async def resolve_person(client: AsyncWebClient, person: Person) -> Person:
    """Fill in email and name (and the Slack id, when the email belongs to a Slack user)."""
    if person.slack_user_id:
        try:
            response = await client.users_info(user=person.slack_user_id)
        except SlackApiError as error:
            raise PersonNotFound(
                f"could not look up <@{person.slack_user_id}> "
                f"({error.response.get('error')}): give their email address instead"
            ) from None
        except (aiohttp.ClientError, TimeoutError):
            raise PersonNotFound(
                f"could not look up <@{person.slack_user_id}> (Slack did not answer): "
                "try again, or give their email address instead"
            ) from None
        user = response["user"]
        profile = user.get("profile") or {}
        email = profile.get("email")
        if not email:
            raise PersonNotFound(
                f"<@{person.slack_user_id}> has no email visible to licensebot: "
                "give their email address instead"
            )
        name = profile.get("real_name") or user.get("real_name") or user.get("name") or email
        return Person(email=email.lower(), slack_user_id=person.slack_user_id, name=name)
    assert person.email
    try:
        response = await client.users_lookupByEmail(email=person.email)
        user = response["user"]
        profile = user.get("profile") or {}
        name = person.name or profile.get("real_name") or user.get("name") or person.email
        return Person(email=person.email, slack_user_id=user["id"], name=name)
    except (SlackApiError, aiohttp.ClientError, TimeoutError):
        # A new hire is often not in Slack yet (and a lookup Slack did not answer must not
        # lose the request): the email alone is the identity.
        return Person(email=person.email, name=person.name or person.email.split("@")[0])
