"""The catalog's Genesys mapping and the drift comparison, as pure functions."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from genesys_env import mapped_catalog

from bot.genesys.sync import Org, activity_by_email, compare, last_activity
from bot.licensing.catalog import load_catalog, parse_catalog
from bot.licensing.entities import Assignment
from bot.licensing.errors import CatalogError

AT = datetime(2026, 11, 1, tzinfo=UTC)


def seat(i: int, email: str, edition: str = "premium", modules: tuple[str, ...] = ()) -> Assignment:
    return Assignment(
        i,
        email,
        email,
        None,
        edition,
        "agent",
        modules,
        None,
        None,
        "active",
        AT,
        None,
        None,
        None,
        None,
    )


def test_mapping_gives_licenses_unmapped_seats_and_the_seat_to_adopt(tmp_path: Path) -> None:
    catalog = load_catalog(mapped_catalog(tmp_path))
    assert catalog.genesys_licenses("premium", "agent", ("wfo", "qm")) == ("cloudCX3", "wem")
    assert catalog.genesys_licenses("premium", "executive") == ()
    assert "premium executive" in catalog.genesys_unmapped()
    assert "+qm" in catalog.genesys_unmapped() and "+wfo" not in catalog.genesys_unmapped()
    assert catalog.genesys_seat_for({"cloudCX3", "wem"}) == ("premium", "agent", ("wfo",))
    assert catalog.genesys_seat_for({"cloudCX2"}) == ("standard", "agent", ())
    assert catalog.genesys_seat_for({"collaborate"}) is None


def test_a_mapping_naming_an_unknown_seat_is_refused(tmp_path: Path) -> None:
    data = tomllib.loads(mapped_catalog(tmp_path).read_text())
    data["genesys"]["licenses"]["premium.pilot"] = ["x"]
    with pytest.raises(CatalogError, match="unknown seat 'premium.pilot'"):
        parse_catalog(data)
    data["genesys"]["licenses"] = {"wfo": [1]}
    with pytest.raises(CatalogError, match="list of license ids"):
        parse_catalog(data)


def test_activity_is_the_latest_of_login_and_token() -> None:
    assert last_activity({"lastTokenIssued": {"dateIssued": "2026-11-20T10:00:00.000Z"}}) == (
        datetime(2026, 11, 20, 10, tzinfo=UTC)
    )
    assert last_activity(
        {
            "dateLastLogin": "2026-11-25T10:00:00Z",
            "lastTokenIssued": {"dateIssued": "2026-11-20T10:00:00Z"},
        }
    ) == (datetime(2026, 11, 25, 10, tzinfo=UTC))
    assert last_activity({}) is None
    org = Org(
        users={
            "1": {
                "id": "1",
                "email": "A@x.com",
                "state": "inactive",
                "dateLastLogin": "2026-11-25T10:00:00Z",
            }
        }
    )
    assert activity_by_email(org) == {}  # an inactive user's activity is not the seat's


def test_compare_finds_each_kind_of_drift(tmp_path: Path) -> None:
    catalog = load_catalog(mapped_catalog(tmp_path))
    seats = [
        seat(1, "ok@x.com"),
        seat(2, "lacks@x.com", modules=("wfo",)),
        seat(3, "nobody@x.com"),
        seat(4, "off@x.com"),
        seat(5, "gone@x.com"),
        seat(6, "exec@x.com", edition="premium"),
    ]
    seats[5] = Assignment(
        6,
        "exec@x.com",
        "E",
        None,
        "premium",
        "executive",
        (),
        None,
        None,
        "active",
        AT,
        None,
        None,
        None,
        None,
    )
    org = Org(
        users={
            "u1": {"id": "u1", "email": "ok@x.com", "state": "active"},
            "u2": {"id": "u2", "email": "lacks@x.com", "state": "active"},
            "u4": {"id": "u4", "email": "off@x.com", "state": "inactive"},
            "u5": {"id": "u5", "email": "gone@x.com", "state": "deleted"},
            "u7": {"id": "u7", "email": "hand@x.com", "state": "active"},
            "u8": {"id": "u8", "email": "other@x.com", "state": "active"},
        },
        holders={"u1": {"cloudCX3"}, "u2": {"cloudCX3"}, "u7": {"cloudCX2"}, "u8": {"collaborate"}},
    )
    rows = {(r.kind, r.email): r for r in compare(seats, {}, org, catalog)}
    assert set(rows) == {
        ("unmanaged", "hand@x.com"),
        ("missing", "lacks@x.com"),
        ("missing", "nobody@x.com"),
        ("deleted", "gone@x.com"),
        ("inactive", "off@x.com"),
    }
    assert rows[("missing", "lacks@x.com")].licenses == ("wem",)
    assert rows[("unmanaged", "hand@x.com")].licenses == ("cloudCX2",)
