"""The repositories of one unit of work, sharing its connection and transaction."""

from __future__ import annotations

import aiosqlite

from bot.store.activity import ActivityRepository
from bot.store.alerts import AlertRepository, JobRunRepository
from bot.store.assignments import AssignmentRepository
from bot.store.audit import AuditRepository
from bot.store.genesys import GenesysRepository
from bot.store.outbox import OutboxRepository
from bot.store.pools import PoolRepository
from bot.store.quotas import QuotaRepository
from bot.store.replays import ReplayGuardRepository
from bot.store.reports import ReportRepository
from bot.store.requests import RequestRepository
from bot.store.trial import TrialRepository


class Store:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection
        self.pools = PoolRepository(connection)
        self.assignments = AssignmentRepository(connection)
        self.requests = RequestRepository(connection)
        self.audit = AuditRepository(connection)
        self.outbox = OutboxRepository(connection)
        self.trial = TrialRepository(connection)
        self.alerts = AlertRepository(connection)
        self.job_runs = JobRunRepository(connection)
        self.activity = ActivityRepository(connection)
        self.reports = ReportRepository(connection)
        self.quotas = QuotaRepository(connection)
        self.genesys = GenesysRepository(connection)
        self.replays = ReplayGuardRepository(connection)
