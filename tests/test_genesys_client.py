"""The async Genesys Cloud client against the fake: tokens, 401, 429, 5xx, hangs, paging,
and a rate limit never exceeded in any 60-second window."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fakegenesys import FakeGenesys
from genesys_env import Waits, client_for

from bot.genesys.client import (
    GenesysAuthError,
    GenesysForbidden,
    GenesysUnavailable,
    RateLimiter,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeGenesys]:
    server = FakeGenesys()
    await server.start()
    yield server
    await server.stop()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_token_is_cached_by_expires_in_and_renewed_before_it_runs_out(fake) -> None:  # noqa: ANN001
    fake.expires_in = 3600
    clock = Clock()
    client = client_for(fake, monotonic=clock)
    try:
        await client.license_definitions()
        await client.license_definitions()
        assert len(fake.calls_to("/oauth/token")) == 1
        clock.now += 3600 - 61  # still inside expires_in minus the safety margin
        await client.license_definitions()
        assert len(fake.calls_to("/oauth/token")) == 1
        clock.now += 2  # within a minute of expiry: a new token first
        await client.license_definitions()
        assert len(fake.calls_to("/oauth/token")) == 2
        token_call = fake.calls_to("/oauth/token")[0]
        assert token_call.body == {"grant_type": "client_credentials"}
    finally:
        await client.close()


async def test_an_expired_token_is_renewed_once_and_the_call_retried(fake) -> None:  # noqa: ANN001
    client = client_for(fake)
    try:
        await client.license_definitions()
        fake.expire_tokens()  # Genesys revoked it early: the next call gets a 401
        definitions = await client.license_definitions()
        assert {d["id"] for d in definitions} >= {"cloudCX3", "wem"}
        statuses = [c.status for c in fake.calls_to("/api/v2/license/definitions")]
        assert statuses == [200, 401, 200]
        assert len(fake.calls_to("/oauth/token")) == 2
    finally:
        await client.close()


async def test_wrong_credentials_are_an_auth_error(fake) -> None:  # noqa: ANN001
    client = client_for(fake, client_secret="wrong")
    try:
        with pytest.raises(GenesysAuthError, match="refused the client credentials"):
            await client.license_definitions()
        assert fake.calls_to("/api/") == []
    finally:
        await client.close()


async def test_429_waits_retry_after_and_5xx_backs_off(fake) -> None:  # noqa: ANN001
    waits = Waits()
    client = client_for(fake, waits, backoff=(0.5, 1.0, 2.0))
    try:
        await client.token()
        fake.fail("/api/v2/license/definitions", status=429, retry_after=7)
        fake.fail("/api/v2/license/definitions", status=503)
        fake.fail("/api/v2/license/definitions", status=500)
        await client.license_definitions()
        assert waits.slept == [7.0, 0.5, 1.0]
        assert [c.status for c in fake.calls_to("/api/v2/license/definitions")] == [
            429,
            503,
            500,
            200,
        ]
        assert client.stats.rate_limited == 1 and client.stats.server_errors == 2
    finally:
        await client.close()


async def test_requests_and_429s_are_counted_for_metrics_by_endpoint(fake) -> None:  # noqa: ANN001
    from prometheus_client import generate_latest

    from bot.metrics import REGISTRY

    def counted(name: str, endpoint: str) -> float:
        return REGISTRY.get_sample_value(name, {"endpoint": endpoint}) or 0.0

    client = client_for(fake, Waits())
    path = "/api/v2/license/definitions"
    before = counted("licensebot_genesys_requests_total", path)
    throttled = counted("licensebot_genesys_throttled_total", path)
    try:
        fake.fail(path, status=429, retry_after=1)
        await client.license_definitions()
    finally:
        await client.close()
    assert counted("licensebot_genesys_requests_total", path) == before + 2
    assert counted("licensebot_genesys_throttled_total", path) == throttled + 1
    assert b"licensebot_genesys_throttled_total" in generate_latest(REGISTRY)


async def test_an_outage_is_unavailable_after_the_retries(fake) -> None:  # noqa: ANN001
    client = client_for(fake, backoff=(0.1, 0.1))
    try:
        await client.token()
        fake.fail("/api/v2/users/search", status=502, times=3)
        with pytest.raises(GenesysUnavailable):
            await client.find_user("nina@example.com")
        assert len(fake.calls_to("/api/v2/users/search")) == 3
    finally:
        await client.close()


async def test_a_hang_times_out_and_is_retried(fake) -> None:  # noqa: ANN001
    waits = Waits()
    client = client_for(fake, waits, timeout=0.3, backoff=(0.25,))
    try:
        await client.token()
        fake.fail("/api/v2/license/definitions", hang=True)
        assert await client.license_definitions()
        assert waits.slept == [0.25]
    finally:
        await client.close()


async def test_license_users_are_paged_by_number_to_page_count(fake) -> None:  # noqa: ANN001
    for n in range(250):
        fake.add_user(f"u{n:03}", f"user{n}@example.com", licenses=("cloudCX3",))
    client = client_for(fake)
    try:
        held = await client.license_holders(page_size=100)
        assert len(held) == 250 and held["u249"] == {"cloudCX3"}
        pages = [c.query["pageNumber"] for c in fake.calls_to("/api/v2/license/users")]
        assert pages == ["1", "2", "3"]
    finally:
        await client.close()


async def test_search_without_results_is_none_and_403_names_the_permission(fake) -> None:  # noqa: ANN001
    client = client_for(fake)
    try:
        assert await client.find_user("nobody@example.com") is None
        fake.permissions.discard("authorization:grant:add")
        with pytest.raises(GenesysForbidden, match="authorization:grant:add"):
            await client.change_licenses("u1", add=["cloudCX3"])
    finally:
        await client.close()


async def test_billable_usage_is_polled_while_in_progress(fake) -> None:  # noqa: ANN001
    from datetime import date

    fake.billing_in_progress = 2
    fake.add_user("u1", "a@example.com", licenses=("cloudCX3", "wem"))
    waits = Waits()
    client = client_for(fake, waits)
    try:
        usage = await client.billable_usage(date(2026, 12, 1), date(2026, 12, 1), wait=4)
        assert usage == {"cloudCX3": 1, "wem": 1}
        assert waits.slept == [4, 4]
    finally:
        await client.close()


async def test_rate_limiter_never_exceeds_the_budget_in_any_60_second_window() -> None:
    clock = Clock()

    async def sleep(seconds: float) -> None:
        clock.now += seconds

    limiter = RateLimiter(10, monotonic=clock, sleep=sleep, margin=0, reserve=0)
    starts = []
    for _ in range(35):
        starts.append(await limiter.acquire())
        clock.now += 0.7  # each request takes a while
    for i, start in enumerate(starts):
        assert sum(1 for s in starts[i:] if s < start + 60) <= 10
    # and it is not slower than it must be: 35 requests at 10/minute need 3 full windows
    assert starts[-1] - starts[0] <= 3 * 60 + 10


async def test_background_paging_leaves_a_reserve_for_provisioning() -> None:
    clock = Clock()

    async def sleep(seconds: float) -> None:
        clock.now += seconds

    limiter = RateLimiter(10, monotonic=clock, sleep=sleep, margin=0)  # reserve: 1 of 10
    for _ in range(9):
        await limiter.acquire(background=True)
    assert clock.now == 1000.0
    assert await limiter.acquire() == 1000.0  # a provisioning goes at once
    assert await limiter.acquire(background=True) == 1060.0  # the sync waits its window
