"""Prometheus metrics (SPEC 11), in one registry of the project's own.

Counters and histograms are per process (Prometheus sums the replicas); the store's
figures (outbox backlog and its oldest age, decisions, job runs) are read from the store
when scraped, so every replica reports the same truth for them.

Other packages import what they count, e.g. the Genesys client:

    from bot.metrics import GENESYS_REQUESTS, GENESYS_THROTTLED
    GENESYS_REQUESTS.labels(endpoint="users.search").inc()
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

if TYPE_CHECKING:
    from bot.store.db import Database

REGISTRY = CollectorRegistry(auto_describe=True)

ACK_SECONDS = Histogram(
    "licensebot_ack_seconds",
    "Time from a Slack request's arrival to its ack (the HTTP response)",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 3.0),
    registry=REGISTRY,
)
COMMANDS = Counter(
    "licensebot_commands_total",
    "Slash commands received, by sub-command",
    ["command"],
    registry=REGISTRY,
)
ACTIONS = Counter(
    "licensebot_actions_total",
    "Button clicks and other interactions, by action id",
    ["action"],
    registry=REGISTRY,
)
DECISIONS = Gauge(
    "licensebot_requests",
    "Seat requests in the store, by status (decisions: approved, denied, cancelled, expired)",
    ["status"],
    registry=REGISTRY,
)
OUTBOX_BACKLOG = Gauge(
    "licensebot_outbox_backlog", "Outbox messages waiting to be delivered", registry=REGISTRY
)
OUTBOX_OLDEST = Gauge(
    "licensebot_outbox_oldest_seconds",
    "Age of the oldest message waiting in the outbox",
    registry=REGISTRY,
)
DELIVERY_FAILURES = Counter(
    "licensebot_delivery_failures_total",
    "Outbox delivery attempts that failed, by error",
    ["error"],
    registry=REGISTRY,
)
JOB_RUNS = Counter(
    "licensebot_job_runs_total",
    "Scheduled job periods on this process: ran, or skipped (another replica ran it)",
    ["job", "outcome"],
    registry=REGISTRY,
)
JOB_LAST_SUCCESS = Gauge(
    "licensebot_job_last_success_timestamp_seconds",
    "When each job last ran successfully (as of), from the store",
    ["job"],
    registry=REGISTRY,
)
GENESYS_REQUESTS = Counter(
    "licensebot_genesys_requests_total",
    "Genesys Cloud API requests, by endpoint",
    ["endpoint"],
    registry=REGISTRY,
)
GENESYS_THROTTLED = Counter(
    "licensebot_genesys_throttled_total",
    "Genesys Cloud answers 429, by endpoint",
    ["endpoint"],
    registry=REGISTRY,
)


def delivery_failed(detail: str) -> None:
    """Count a failed delivery under a short, bounded error label."""
    label = detail.split(":", 1)[0] if not detail.startswith("slack error") else detail
    DELIVERY_FAILURES.labels(error=label[:60]).inc()


async def refresh_from_store(db: Database, now: datetime) -> None:
    """The store's figures, read at scrape time."""
    async with db.read() as tx:
        backlog, oldest = await tx.outbox.backlog()
        statuses = await tx.requests.count_by_status()
        runs = await tx.job_runs.all()
    OUTBOX_BACKLOG.set(backlog)
    OUTBOX_OLDEST.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    for status in ("pending", "approved", "denied", "cancelled", "expired"):
        DECISIONS.labels(status=status).set(statuses.get(status, 0))
    for name, run in runs.items():
        if run.last_run_at is not None:
            JOB_LAST_SUCCESS.labels(job=name).set(run.last_run_at.timestamp())


def exposition() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
