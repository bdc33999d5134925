"""Whether the store can be written: storage failures (a read-only file, a full disk) are
told apart from bugs, logged once, and kept for the readiness probe to report."""

from __future__ import annotations

import errno
import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger(__name__)

CANNOT_WRITE = "the license database cannot be written right now; nothing was changed"

# What SQLite says when the file, its directory or the disk will not take a write.
_SQLITE_STORAGE = (
    "readonly",
    "read-only",
    "disk i/o",
    "database or disk is full",
    "disk is full",
    "unable to open database",
)
# PostgreSQL (asyncpg) exceptions by class name, so the SQLite build needs no asyncpg.
_PG_STORAGE = {
    "ReadOnlySQLTransactionError",
    "DiskFullError",
    "InsufficientResourcesError",
    "OutOfMemoryError",
}


def is_storage_error(error: BaseException) -> bool:
    """A failure of the storage under the database, not of the code or the data."""
    if isinstance(error, sqlite3.OperationalError):
        text = str(error).lower()
        return any(marker in text for marker in _SQLITE_STORAGE)
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EROFS, errno.EACCES):
        return True
    return type(error).__name__ in _PG_STORAGE


@dataclass
class StoreHealth:
    """The last storage failure seen (None while writes succeed): the readiness probe
    reads `healthy`, `last_error` and `at`."""

    last_error: str | None = None
    at: datetime | None = None

    @property
    def healthy(self) -> bool:
        return self.last_error is None

    def failed(self, error: BaseException, at: datetime) -> None:
        cause = f"{type(error).__name__}: {error}"
        if cause != self.last_error:  # logged once per cause, not once per request
            log.error("the license database cannot be written: %s", cause)
        self.last_error = cause
        self.at = at

    def ok(self) -> None:
        """A write went through again (for the readiness probe, which may try one)."""
        if self.last_error is not None:
            log.info("the license database can be written again")
        self.last_error = None
        self.at = None
