"""The pure domain of SPEC 9 and 10: the new grammar, four eyes, quotas, the finance
threshold, and time-bound seats. No I/O, no clock."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.licensing.catalog import load_catalog
from bot.licensing.commands import Extend, FileChange, FileRequest, Offboard, SetQuota, ShowQuotas
from bot.licensing.errors import LicenseError
from bot.licensing.parsing import parse_command
from bot.licensing.policy import (
    FOUR_EYES_REFUSAL,
    Policy,
    check_quota,
    end_date_refusal,
    expiry_stage,
    four_eyes_refusal,
    monthly_cost,
    needs_finance,
)
from bot.licensing.requests import Person, SeatChange

CATALOG = load_catalog()


def parse(text: str):  # noqa: ANN201
    return parse_command(text, CATALOG)


def test_change_grammar() -> None:
    command = parse("change <@U1|nina> agent standard -wfo +qm until:2027-01-31 budget cut")
    assert isinstance(command, FileChange)
    change = command.change
    assert change.person == Person(slack_user_id="U1", name="nina")
    assert (change.seat_type, change.edition) == ("agent", "standard")
    assert change.add == ("qm",) and change.drop == ("wfo",)
    assert change.until == date(2027, 1, 31) and change.reason == "budget cut"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("change nina@example.com agent", "a person, the seat type and the edition"),
        ("change nina@example.com agent standard +wfo", "not included in the standard edition"),
        ("change nina@example.com agent premium +qm -qm", "+qm and -qm together"),
        ("change nina@example.com agent premium dept:Sales", "keeps the holder's department"),
        ("change nina@example.com agent premium until:soon", "is not a date"),
        ("change nobody agent premium", "is not a person"),
    ],
)
def test_change_bad_input_shows_the_usage(text: str, problem: str) -> None:
    with pytest.raises(LicenseError) as raised:
        parse(text)
    assert problem in str(raised.value)
    assert raised.value.usage and raised.value.usage.startswith("/license change")


def test_until_on_request_and_assign() -> None:
    command = parse("request nina@example.com agent premium until:2027-02-28 seasonal")
    assert isinstance(command, FileRequest)
    assert command.request.until == date(2027, 2, 28) and command.request.reason == "seasonal"
    assigned = parse("assign nina@example.com agent premium until:2027-02-28")
    assert assigned.request.until == date(2027, 2, 28)  # type: ignore[union-attr]
    with pytest.raises(LicenseError, match="before start"):
        parse("request nina@example.com agent premium start:2027-03-01 until:2027-02-28")


def test_offboard_extend_and_quota_grammar() -> None:
    assert parse("offboard nina@example.com left on Friday") == Offboard(
        Person(email="nina@example.com"), "left on Friday"
    )
    assert parse("offboard nina@example.com") == Offboard(Person(email="nina@example.com"))
    assert parse("extend nina@example.com 2027-01-01") == Extend(
        Person(email="nina@example.com"), date(2027, 1, 1)
    )
    assert parse("extend nina@example.com until:2027-01-01").until == date(2027, 1, 1)  # type: ignore[union-attr]
    assert parse("quota") == ShowQuotas()
    assert parse("quota set support premium wfo 40") == SetQuota("Support", "premium", "wfo", 40)
    for bad in ("quota set Support premium agent", "quota list", "extend nina@example.com"):
        with pytest.raises(LicenseError):
            parse(bad)


def test_change_modules_from_what_is_held() -> None:
    change = SeatChange(Person(email="a@b.co"), "agent", "premium", add=("qm",), drop=("wfo",))
    assert change.modules_from(("wfo", "chat")) == ("chat", "qm")
    assert SeatChange(Person(email="a@b.co"), "agent", "premium").modules_from(("wfo",)) == ("wfo",)


def test_four_eyes() -> None:
    assert four_eyes_refusal("U1", "U1", Policy()) == FOUR_EYES_REFUSAL
    assert "another admin must approve this" in FOUR_EYES_REFUSAL
    assert four_eyes_refusal("U1", "U2", Policy()) is None
    assert four_eyes_refusal("U1", "U1", Policy(four_eyes=False)) is None


def test_quota_check() -> None:
    assert check_quota("Support", "premium agent", None, 150) is None
    full = check_quota("Support", "premium agent", 150, 150)
    assert full is not None and full.over
    assert full.line() == "Support premium agent 150/150 → 151/150, over the department's quota"
    assert "/license quota set Support premium agent <seats>" in full.reason
    room = check_quota("Support", "premium agent", 150, 149)
    assert room is not None and not room.over
    assert room.line() == "Support premium agent 149/150 → 150/150"


def test_finance_threshold() -> None:
    cost = monthly_cost([Decimal("80"), None, Decimal("30")])
    assert cost == Decimal("110")
    assert not needs_finance(cost, Policy())
    assert needs_finance(cost, Policy(finance_threshold=Decimal("110")))  # reaches it
    assert not needs_finance(cost, Policy(finance_threshold=Decimal("110.01")))


def test_time_bound_dates() -> None:
    today = date(2026, 12, 2)
    assert end_date_refusal(date(2026, 12, 1), today) is not None
    assert end_date_refusal(today, today) is None and end_date_refusal(None, today) is None
    policy = Policy(expiry_warning_days=3)
    assert expiry_stage(date(2026, 12, 6), today, policy) is None
    assert expiry_stage(date(2026, 12, 5), today, policy) == "warn"
    assert expiry_stage(today, today, policy) == "warn"
    assert expiry_stage(date(2026, 12, 1), today, policy) == "ended"
