"""One async client for the Genesys Cloud Platform API (REFERENCE.md, "Genesys Cloud").

The official SDK is synchronous (urllib3, and its Retry sleeps in the calling thread), so
the REST API is called directly with aiohttp:

- client-credentials token, cached until shortly before `expires_in` runs out; one new
  token and one retry on a 401;
- a rate limiter of `GENESYS_RATE_PER_MINUTE` shared by everything in the process: never
  more than N requests in any 60-second window (a sliding log of the last N starts);
- `Retry-After` honoured on 429, backoff on 5xx, time-outs and broken connections;
- paging to the end (`pageNumber` up to `pageCount`: `/license/users` has no `nextUri`).

Time and sleeping are injectable so tests run without waiting.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import aiohttp

from bot.metrics import GENESYS_REQUESTS, GENESYS_THROTTLED

log = logging.getLogger(__name__)

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

WINDOW_SECONDS = 60.0
REFRESH_BEFORE = 60.0  # seconds before expiry a cached token is replaced
BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0)  # seconds between attempts on 5xx / time-outs
MAX_RATE_LIMITED = 10  # 429s in a row before giving up on one request
DOWN_SECONDS = 30.0  # after an outage, fail fast for this long instead of waiting again


class GenesysError(Exception):
    """Genesys answered with an error (its own message kept for people to read)."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class GenesysUnavailable(GenesysError):
    """Unreachable, timing out or answering 5xx after the retries: try again later."""


class GenesysAuthError(GenesysError):
    """The client credentials are refused (wrong id or secret, client deleted)."""


class GenesysForbidden(GenesysError):
    """403: the OAuth client's roles lack a permission."""


class RateLimiter:
    """At most `per_minute` starts in any WINDOW_SECONDS window, for every caller in the
    process. A sliding log of the last `per_minute` start times: a new start waits until
    the oldest of them is a full window (plus a margin for the network) old.

    Background work (the hourly sync's paging) may use all but `reserve` of the window, so
    a provisioning that comes during a sync never waits for the sync's burst to age out."""

    def __init__(
        self,
        per_minute: int,
        *,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        margin: float = 0.5,
        reserve: int | None = None,
    ) -> None:
        if per_minute < 1:
            raise ValueError("the rate must be at least 1 request a minute")
        self.per_minute = per_minute
        self.reserve = per_minute // 10 if reserve is None else min(reserve, per_minute - 1)
        self._monotonic = monotonic
        self._sleep = sleep
        self._window = WINDOW_SECONDS + margin
        self._starts: deque[float] = deque()
        self.waited = 0.0  # total time spent waiting for the budget

    async def acquire(self, *, background: bool = False) -> float:
        """Wait for the budget; returns the instant the request may start."""
        limit = self.per_minute - (self.reserve if background else 0)
        while True:
            now = self._monotonic()
            while self._starts and self._starts[0] + self._window <= now:
                self._starts.popleft()
            if len(self._starts) < limit:
                # No await between the check and the append: atomic on the event loop.
                self._starts.append(now)
                return now
            wait = self._starts[len(self._starts) - limit] + self._window - now
            self.waited += wait
            await self._sleep(max(wait, 0.001))


_SHARED: dict[tuple[str, str], RateLimiter] = {}


def shared_limiter(client_id: str, api_url: str, per_minute: int) -> RateLimiter:
    """The process's one limiter for a client id and API: every GenesysClient built for
    them draws on the same budget (Genesys counts per token, and several tokens do not
    raise the org's limits)."""
    key = (client_id, api_url)
    limiter = _SHARED.get(key)
    if limiter is None or limiter.per_minute != per_minute:
        limiter = _SHARED[key] = RateLimiter(per_minute)
    return limiter


@dataclass(frozen=True)
class Endpoints:
    api_url: str
    login_url: str

    @classmethod
    def for_region(
        cls, region: str, api_url: str | None = None, login_url: str | None = None
    ) -> Endpoints:
        return cls(
            (api_url or f"https://api.{region}").rstrip("/"),
            (login_url or f"https://login.{region}").rstrip("/"),
        )


@dataclass
class Stats:
    requests: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    tokens: int = 0


class GenesysClient:
    def __init__(
        self,
        client_id: str,
        client_secret: str,
        endpoints: Endpoints,
        *,
        rate_per_minute: int = 300,
        limiter: RateLimiter | None = None,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        backoff: Sequence[float] = BACKOFF,
        timeout: float = 30.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._client_id = client_id
        self._secret = client_secret
        self.endpoints = endpoints
        self.limiter = limiter or shared_limiter(client_id, endpoints.api_url, rate_per_minute)
        self._monotonic = monotonic
        self._sleep = sleep
        self._backoff = tuple(backoff)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._own_session = session is None
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()
        self._down_until = 0.0
        self.stats = Stats()

    @property
    def client_id(self) -> str:
        return self._client_id

    async def close(self) -> None:
        if self._own_session and self._session is not None and not self._session.closed:
            await self._session.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._own_session = True
        return self._session

    # --- token ------------------------------------------------------------------------

    async def token(self, *, renew: bool = False) -> str:
        async with self._token_lock:
            if not renew and self._token and self._monotonic() < self._token_expires:
                return self._token
            self._token = None
            data = await self._send_token()
            expires_in = float(data.get("expires_in") or 0)
            self._token = str(data["access_token"])
            self._token_expires = self._monotonic() + max(0.0, expires_in - REFRESH_BEFORE)
            self.stats.tokens += 1
            return self._token

    async def _send_token(self) -> dict[str, Any]:
        basic = base64.b64encode(f"{self._client_id}:{self._secret}".encode()).decode()
        url = f"{self.endpoints.login_url}/oauth/token"
        for attempt in range(len(self._backoff) + 1):
            await self.limiter.acquire()
            try:
                async with self._http().post(
                    url,
                    data={"grant_type": "client_credentials"},
                    headers={"Authorization": f"Basic {basic}"},
                    timeout=self._timeout,
                ) as response:
                    body = await _json(response)
                    if response.status in (400, 401, 403):
                        raise GenesysAuthError(
                            f"Genesys refused the client credentials "
                            f"({response.status} {_message(body) or 'invalid_client'})",
                            response.status,
                            str((body or {}).get("error") or ""),
                        )
                    if response.status == 429:
                        await self._sleep(_retry_after(response))
                        continue
                    if response.status >= 500:
                        raise GenesysUnavailable(f"login answered {response.status}")
                    if response.status != 200 or not isinstance(body, dict):
                        raise GenesysError(f"login answered {response.status}", response.status)
                    return body
            except (GenesysUnavailable, aiohttp.ClientError, TimeoutError) as error:
                if attempt >= len(self._backoff):
                    self._mark_down()
                    raise GenesysUnavailable(f"Genesys login unreachable: {_why(error)}") from None
                await self._sleep(self._backoff[attempt])
        self._mark_down()
        raise GenesysUnavailable("Genesys login kept answering 429")

    # --- requests ---------------------------------------------------------------------

    def _mark_down(self) -> None:
        self._down_until = self._monotonic() + DOWN_SECONDS

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        background: bool = False,
    ) -> Any:
        """One API call with the retries; the decoded JSON answer. `background` calls
        (bulk reads) leave part of the budget to the others."""
        if self._monotonic() < self._down_until:
            raise GenesysUnavailable("Genesys Cloud was unreachable moments ago: retrying later")
        url = f"{self.endpoints.api_url}{path}"
        reauthed = False
        failures = 0
        limited = 0
        while True:
            token = await self.token()
            await self.limiter.acquire(background=background)
            self.stats.requests += 1
            endpoint = metric_endpoint(path)
            GENESYS_REQUESTS.labels(endpoint=endpoint).inc()
            try:
                async with self._http().request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=self._timeout,
                ) as response:
                    body = await _json(response)
                    status = response.status
                    if status == 401 and not reauthed:
                        reauthed = True
                        await self.token(renew=True)
                        continue
                    if status == 429:
                        self.stats.rate_limited += 1
                        GENESYS_THROTTLED.labels(endpoint=endpoint).inc()
                        limited += 1
                        if limited > MAX_RATE_LIMITED:
                            raise GenesysUnavailable("Genesys kept answering 429", 429)
                        await self._sleep(_retry_after(response))
                        continue
                    if status >= 500:
                        self.stats.server_errors += 1
                        raise GenesysUnavailable(f"{method} {path} answered {status}", status)
                    if status == 403:
                        raise GenesysForbidden(
                            _message(body) or f"{method} {path}: forbidden", 403, _code(body)
                        )
                    if status == 401:
                        raise GenesysAuthError(
                            _message(body) or "Genesys refused the token", 401, _code(body)
                        )
                    if status >= 400:
                        raise GenesysError(
                            _message(body) or f"{method} {path} answered {status}",
                            status,
                            _code(body),
                        )
                    return body
            except (GenesysUnavailable, aiohttp.ClientError, TimeoutError) as error:
                if isinstance(error, GenesysUnavailable) and error.status == 429:
                    raise
                if failures >= len(self._backoff):
                    self._mark_down()
                    raise GenesysUnavailable(
                        f"Genesys Cloud unavailable ({_why(error)}) after {failures + 1} tries"
                    ) from None
                await self._sleep(self._backoff[failures])
                failures += 1

    async def pages(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        page_size: int = 100,
        *,
        background: bool = False,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page, by number, until `pageCount` (never trusting `nextUri`)."""
        number = 1
        while True:
            body = await self.request(
                "GET",
                path,
                params={**(params or {}), "pageSize": page_size, "pageNumber": number},
                background=background,
            )
            entities = list((body or {}).get("entities") or [])
            yield entities
            count = int((body or {}).get("pageCount") or 0)
            if number >= count or not entities:
                return
            number += 1

    # --- the calls licensebot makes -----------------------------------------------------

    async def license_definitions(self) -> list[dict[str, Any]]:
        body = await self.request("GET", "/api/v2/license/definitions")
        if isinstance(body, dict):  # tolerate an entity listing
            body = body.get("entities") or []
        return list(body or [])

    async def license_holders(self, page_size: int = 100) -> dict[str, set[str]]:
        """user id -> the license ids the user holds."""
        held: dict[str, set[str]] = {}
        pages = self.pages("/api/v2/license/users", page_size=page_size, background=True)
        async for page in pages:
            for entity in page:
                ids = {_license_id(x) for x in entity.get("licenses") or []}
                held[str(entity["id"])] = {i for i in ids if i}
        return held

    async def user_licenses(self, user_id: str) -> set[str]:
        body = await self.request("GET", f"/api/v2/license/users/{user_id}")
        return {i for i in (_license_id(x) for x in (body or {}).get("licenses") or []) if i}

    async def users(
        self, state: str = "any", page_size: int = 500
    ) -> AsyncIterator[list[dict[str, Any]]]:
        params = {"state": state, "expand": "dateLastLogin,lasttokenissued"}
        async for page in self.pages("/api/v2/users", params, page_size, background=True):
            yield page

    async def find_user(self, email: str) -> dict[str, Any] | None:
        body = await self.request(
            "POST",
            "/api/v2/users/search",
            json={
                "query": [{"type": "EXACT", "fields": ["email"], "value": email}],
                "pageSize": 25,
            },
        )
        for user in (body or {}).get("results") or []:
            if str(user.get("email", "")).lower() == email.lower():
                return dict(user)
        return None

    async def change_licenses(
        self,
        user_id: str,
        *,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """POST /api/v2/license/organization; the per-user results."""
        assignments = [{"licenseId": i, "userIdsAdd": [user_id]} for i in add]
        assignments += [{"licenseId": i, "userIdsRemove": [user_id]} for i in remove]
        if not assignments:
            return []
        body = await self.request(
            "POST", "/api/v2/license/organization", json={"assignments": assignments}
        )
        if isinstance(body, dict):
            body = body.get("entities") or body.get("results") or []
        return list(body or [])

    async def billable_usage(
        self, start: date, end: date, *, polls: int = 20, wait: float = 3.0
    ) -> dict[str, int]:
        """license/usage name -> total usage for the period, polled while InProgress."""
        params = {"startDate": start.isoformat(), "endDate": end.isoformat()}
        for _ in range(polls):
            body = await self.request("GET", "/api/v2/billing/reports/billableusage", params=params)
            if (body or {}).get("status") != "InProgress":
                usage: dict[str, int] = {}
                for item in (body or {}).get("usages") or []:
                    try:
                        total = int(float(str(item.get("totalUsage") or 0)))
                    except ValueError:
                        total = 0
                    usage[str(item.get("name"))] = total
                return usage
            await self._sleep(wait)
        raise GenesysUnavailable("the billable usage report is still in progress: try later")


def succeeded(result: dict[str, Any]) -> bool:
    """A per-user result: its values are undocumented, so anything but success fails."""
    return str(result.get("result", "")).strip().lower() in ("success", "succeeded", "ok")


def _license_id(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("id") or "")
    return str(item or "")


async def _json(response: aiohttp.ClientResponse) -> Any:
    text = await response.text()
    if not text:
        return None
    try:
        import json as _jsonlib

        return _jsonlib.loads(text)
    except ValueError:
        return {"message": text[:200]}


def _message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("message") or body.get("description") or body.get("error") or "")
    return ""


def _code(body: Any) -> str | None:
    return str(body.get("code")) if isinstance(body, dict) and body.get("code") else None


def _retry_after(response: aiohttp.ClientResponse) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def _why(error: BaseException) -> str:
    return str(error) or type(error).__name__


_ID_SEGMENT = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}$|^\d+$")


def metric_endpoint(path: str) -> str:
    """The path as a metric label: ids become `{id}`, so one user's calls do not make a
    series of their own."""
    return "/".join("{id}" if _ID_SEGMENT.match(part) else part for part in path.split("/"))
