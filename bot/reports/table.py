"""A report as a table, and its CSV: RFC 4180 (stdlib csv), UTF-8, ISO dates, and no cell
a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

Cell = str | int | float | Decimal | date | datetime | None

# A spreadsheet treats a cell starting with one of these as a formula (or, for tab and
# carriage return, strips them and then does): OWASP's CSV injection guidance.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Text a spreadsheet will show as text: a formula-looking cell gets a leading quote."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell_text(value: Cell) -> str:
    """Numbers as numbers, money with two decimals, dates and times as ISO 8601, text guarded.

    Numbers are ours (counts, percentages, prices), never typed by a person, so a negative
    one stays a number; every text cell passes the formula guard."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(str(value))


@dataclass
class Table:
    kind: str
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    totals: list[Cell] | None = None  # written last, first cell "TOTAL"
    summary: str = ""

    def filename(self, today: date) -> str:
        return f"licensebot-{self.kind}-{today.isoformat()}.csv"

    def lines(self) -> list[list[str]]:
        out = [list(self.header)]
        out += [[cell_text(v) for v in row] for row in self.rows]
        if self.totals is not None:
            out.append([cell_text(v) for v in self.totals])
        return out

    def csv_text(self) -> str:
        return to_csv(self.lines())

    def csv_bytes(self) -> bytes:
        return self.csv_text().encode("utf-8")


def to_csv(lines: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO(newline="")
    # The excel dialect is RFC 4180: comma, CRLF line ends, quotes doubled inside quotes.
    writer = csv.writer(buffer, dialect="excel", quoting=csv.QUOTE_MINIMAL)
    writer.writerows(lines)
    return buffer.getvalue()


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None
