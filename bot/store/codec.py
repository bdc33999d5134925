"""Conversions between Python values and their stored text."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


def to_db(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(UTC).isoformat(timespec="seconds")


def from_db_at(text: str) -> datetime:
    """A NOT NULL time column."""
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def from_db(text: str | None) -> datetime | None:
    return None if text is None else from_db_at(text)


def date_from_db(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def cents(price: Decimal | None) -> int | None:
    return None if price is None else int((price * 100).to_integral_value())


def from_cents(value: int | None) -> Decimal | None:
    return None if value is None else (Decimal(value) / 100).quantize(Decimal("0.01"))


_ENCODER = json.JSONEncoder(sort_keys=True, default=str)  # json.dumps makes one a call


def dumps(value: Any) -> str | None:
    return None if value is None else _ENCODER.encode(value)


def modules_to_db(modules: tuple[str, ...] | list[str]) -> str:
    return ",".join(modules)


def modules_from_db(text: str | None) -> tuple[str, ...]:
    return tuple(m for m in (text or "").split(",") if m)
