"""Channel alerts (open until resolved) and the record of job runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiosqlite import Row

from bot.licensing.entities import Alert  # the store maps rows to them
from bot.store.base import Repository
from bot.store.codec import from_db, to_db

_SELECT = (
    "SELECT al.*, o.delivered_channel AS channel, o.delivered_ts AS ts, o.status AS delivery "
    "FROM alerts al LEFT JOIN outbox o ON o.key = COALESCE(al.message_key, al.key)"
)


@dataclass(frozen=True)
class JobRun:
    name: str
    first_seen_at: datetime | None
    last_run_at: datetime | None
    last_attempt_at: datetime | None
    last_status: str | None
    last_count: int | None


class AlertRepository(Repository):
    async def add(
        self,
        key: str,
        *,
        job: str,
        kind: str,
        subject: str,
        period: str,
        summary: str,
        at: datetime,
    ) -> bool:
        """Record a new alert; False when the key exists (raised before, maybe resolved)."""
        changed, _ = await self._run(
            "INSERT INTO alerts (key, job, kind, subject, period, summary, opened_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            (key, job, kind, subject, period, summary[:500], to_db(at)),
        )
        return changed == 1

    async def fold_into(self, keys: list[str], message_key: str) -> None:
        """These alerts are shown by the message `message_key` (a `limits` summary)."""
        await self._many(
            "UPDATE alerts SET message_key = ? WHERE key = ?", [(message_key, k) for k in keys]
        )

    async def message_keys(self, keys: list[str]) -> dict[str, str]:
        """alert key -> the key of the message that shows it, for folded alerts."""
        found: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = await self._all(
                "SELECT key, message_key FROM alerts WHERE message_key IS NOT NULL "
                f"AND key IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found.update((r[0], r[1]) for r in rows)
        return found

    async def get(self, key: str) -> Alert | None:
        row = await self._one(f"{_SELECT} WHERE al.key = ?", (key,))
        return _alert(row) if row else None

    async def open(
        self, *, job: str | None = None, kind: str | None = None, limit: int | None = None
    ) -> list[Alert]:
        """Unresolved alerts, newest first."""
        where, params = ["al.resolved_at IS NULL"], []
        if job:
            where.append("al.job = ?")
            params.append(job)
        if kind:
            where.append("al.kind = ?")
            params.append(kind)
        sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY al.opened_at DESC, al.key"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_alert(r) for r in await self._all(sql, params)]

    async def latest(self, job: str, kind: str) -> Alert | None:
        row = await self._one(
            f"{_SELECT} WHERE al.job = ? AND al.kind = ? ORDER BY al.opened_at DESC, al.key DESC "
            "LIMIT 1",
            (job, kind),
        )
        return _alert(row) if row else None

    async def resolve(self, key: str, at: datetime, resolution: str) -> bool:
        """Compare-and-set: an open alert is resolved once."""
        changed, _ = await self._run(
            "UPDATE alerts SET resolved_at = ?, resolution = ? WHERE key = ? "
            "AND resolved_at IS NULL",
            (to_db(at), resolution[:500], key),
        )
        return changed == 1


class JobRunRepository(Repository):
    async def seen(self, name: str, at: datetime) -> None:
        """The scheduler knows this job from now on (periods before are not 'missed')."""
        await self._run(
            "INSERT INTO job_runs (name, first_seen_at) VALUES (?, ?) ON CONFLICT (name) "
            "DO UPDATE SET "
            "first_seen_at = COALESCE(job_runs.first_seen_at, excluded.first_seen_at)",
            (name, to_db(at)),
        )

    async def record(self, name: str, at: datetime, *, ok: bool, status: str, count: int) -> None:
        """A run as of `at`. Only a successful run moves last_run_at (never backwards)."""
        await self._run(
            "INSERT INTO job_runs (name, first_seen_at, last_run_at, last_attempt_at, last_status, "
            "last_count) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
            "first_seen_at = COALESCE(job_runs.first_seen_at, excluded.first_seen_at), "
            "last_run_at = CASE WHEN excluded.last_run_at IS NULL THEN job_runs.last_run_at "
            "  WHEN job_runs.last_run_at IS NULL THEN excluded.last_run_at "
            "  WHEN excluded.last_run_at > job_runs.last_run_at THEN excluded.last_run_at "
            "  ELSE job_runs.last_run_at END, "
            "last_attempt_at = excluded.last_attempt_at, last_status = excluded.last_status, "
            "last_count = excluded.last_count",
            (name, to_db(at), to_db(at) if ok else None, to_db(at), status[:300], count),
        )

    async def all(self) -> dict[str, JobRun]:
        rows = await self._all("SELECT * FROM job_runs ORDER BY name")
        return {
            r["name"]: JobRun(
                r["name"],
                from_db(r["first_seen_at"]),
                from_db(r["last_run_at"]),
                from_db(r["last_attempt_at"]),
                r["last_status"],
                r["last_count"],
            )
            for r in rows
        }


def _alert(row: Row) -> Alert:
    return Alert(
        key=row["key"],
        job=row["job"],
        kind=row["kind"],
        subject=row["subject"],
        period=row["period"],
        summary=row["summary"],
        opened_at=from_db(row["opened_at"]),  # type: ignore[arg-type]
        resolved_at=from_db(row["resolved_at"]),
        resolution=row["resolution"],
        channel=row["channel"],
        ts=row["ts"],
        delivery=row["delivery"],
    )
