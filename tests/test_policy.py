"""Seat accounting, grace, trial, inactivity, utilization (SPEC 1.1-1.4) and the request
state machine and license group names (SPEC 1)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import product

import pytest

from bot.licensing.errors import LicenseError
from bot.licensing.policy import (
    Band,
    Outcome,
    Policy,
    PoolState,
    Trial,
    allowed_overage,
    check_add,
    check_trial_cap,
    is_inactive,
    utilization_band,
)
from bot.licensing.requests import (
    RequestStatus,
    can_transition,
    license_group,
    normalize_department,
)

NOW = datetime(2026, 11, 30, 20, 10, tzinfo=UTC)
POLICY = Policy()
LABEL = "premium agent"


def pool(purchased: int, used: int, over_since: datetime | None = None) -> PoolState:
    return PoolState("premium", "agent", purchased, used, over_since)


# --- check_add --------------------------------------------------------------------------


def test_within_purchased_seats():
    result = check_add(pool(400, 398), LABEL, NOW, POLICY)
    assert result.outcome is Outcome.WITHIN
    assert result.allowed
    assert result.used_after == 399
    assert result.overage_after == 0
    assert result.grace_ends_at is None
    assert not result.grace_starts


def test_last_seat_is_within():
    result = check_add(pool(400, 399), LABEL, NOW, POLICY)
    assert result.outcome is Outcome.WITHIN
    assert result.used_after == 400


def test_first_seat_over_starts_a_grace_period_of_30_days():
    result = check_add(pool(400, 400), LABEL, NOW, POLICY)
    assert result.outcome is Outcome.OVERAGE
    assert result.allowed
    assert result.grace_starts
    assert result.used_after == 401
    assert result.overage_after == 1
    assert result.grace_ends_at == datetime(2026, 12, 30, 20, 10, tzinfo=UTC)
    assert result.grace_ends_at.date().isoformat() == "2026-12-30"


def test_grace_days_come_from_the_policy():
    result = check_add(pool(10, 10), LABEL, NOW, Policy(grace_days=7))
    assert result.grace_ends_at == NOW + timedelta(days=7)


@pytest.mark.parametrize(
    ("purchased", "allowance"), [(400, 40), (100, 10), (20, 2), (19, 1), (10, 1), (5, 1), (1, 1)]
)
def test_overage_allowance_is_ten_percent_at_least_one(purchased, allowance):
    assert allowed_overage(purchased, POLICY) == allowance


def test_overage_allowance_follows_the_policy_percent():
    assert allowed_overage(400, Policy(overage_max_percent=25)) == 100
    assert allowed_overage(400, Policy(overage_max_percent=0)) == 1


def test_up_to_the_allowance_is_overage_past_it_refused():
    since = NOW - timedelta(days=2)
    at_limit = check_add(pool(400, 439, since), LABEL, NOW, POLICY)
    assert at_limit.outcome is Outcome.OVERAGE
    assert at_limit.overage_after == 40

    past = check_add(pool(400, 440, since), LABEL, NOW, POLICY)
    assert past.outcome is Outcome.REFUSED
    assert not past.allowed
    assert past.overage_after == 41
    assert "41 over its 400 seats" in past.reason
    assert "overage allowance of 40" in past.reason
    assert "/license pool set premium agent <seats>" in past.reason


def test_small_pool_allows_one_seat_over_only():
    assert check_add(pool(5, 5), LABEL, NOW, POLICY).outcome is Outcome.OVERAGE
    refused = check_add(pool(5, 6, NOW), LABEL, NOW, POLICY)
    assert refused.outcome is Outcome.REFUSED
    assert "overage allowance of 1" in refused.reason


def test_adding_several_seats_at_once_counts_them_all():
    result = check_add(pool(400, 390), LABEL, NOW, POLICY, adding=60)
    assert result.outcome is Outcome.REFUSED
    assert result.overage_after == 50


def test_in_grace_keeps_the_original_end_date():
    since = NOW - timedelta(days=10)
    result = check_add(pool(400, 405, since), LABEL, NOW, POLICY)
    assert result.outcome is Outcome.OVERAGE
    assert not result.grace_starts
    assert result.grace_ends_at == since + timedelta(days=30)
    assert result.overage_after == 6


def test_after_grace_end_refused_with_date_and_remedy():
    since = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    result = check_add(pool(400, 401, since), LABEL, NOW, POLICY)
    assert result.outcome is Outcome.REFUSED
    assert result.grace_ends_at == datetime(2026, 10, 31, 9, 0, tzinfo=UTC)
    assert "grace period ended on 2026-10-31" in result.reason
    assert "/license pool set" in result.reason
    assert "reclaim inactive seats" in result.reason


def test_grace_ends_at_the_exact_instant():
    since = NOW - timedelta(days=30)
    assert check_add(pool(400, 401, since), LABEL, NOW, POLICY).outcome is Outcome.REFUSED
    just_before = NOW - timedelta(days=30) + timedelta(seconds=1)
    assert check_add(pool(400, 401, just_before), LABEL, NOW, POLICY).outcome is Outcome.OVERAGE


def test_back_under_after_an_old_overage_starts_a_new_grace():
    # used <= purchased: a stale over_since does not count, a new period starts now.
    stale = NOW - timedelta(days=90)
    result = check_add(pool(400, 400, stale), LABEL, NOW, POLICY)
    assert result.outcome is Outcome.OVERAGE
    assert result.grace_starts
    assert result.grace_ends_at == NOW + timedelta(days=30)


@pytest.mark.parametrize("state", [None, pool(0, 0)])
def test_missing_pool_or_zero_purchased_is_refused(state):
    result = check_add(state, LABEL, NOW, POLICY)
    assert result.outcome is Outcome.REFUSED
    assert "no premium agent seats purchased" in result.reason
    assert "/license pool set premium agent <seats>" in result.reason


def test_pool_state_counts_and_label():
    state = pool(400, 398)
    assert state.counts() == "398/400"
    assert state.label == "premium agent"
    assert state.available == 2
    assert state.overage == 0
    assert pool(400, 403).overage == 3
    assert pool(400, 403).available == 0
    assert pool(0, 0).utilization is None


# --- trial ------------------------------------------------------------------------------

START = date(2026, 12, 1)


def test_trial_start_day_is_day_one():
    trial = Trial(START)
    assert trial.day(START) == 1
    assert trial.day(date(2026, 12, 12)) == 12
    assert trial.day(date(2026, 12, 14)) == 14
    assert trial.last_day(POLICY) == date(2026, 12, 14)


def test_trial_running_and_expired():
    trial = Trial(START)
    assert not trial.running(date(2026, 11, 30), POLICY)
    assert not trial.expired(date(2026, 11, 30), POLICY)
    assert trial.running(START, POLICY)
    assert trial.running(date(2026, 12, 14), POLICY)
    assert not trial.expired(date(2026, 12, 14), POLICY)
    assert not trial.running(date(2026, 12, 15), POLICY)
    assert trial.expired(date(2026, 12, 15), POLICY)


def test_converted_trial_neither_runs_nor_expires():
    trial = Trial(START, converted_at=datetime(2026, 12, 5, tzinfo=UTC))
    assert not trial.running(date(2026, 12, 6), POLICY)
    assert not trial.expired(date(2026, 12, 20), POLICY)


def test_trial_cap_at_49_and_50_active():
    trial = Trial(START)
    today = date(2026, 12, 5)
    assert check_trial_cap(trial, today, 49, POLICY) is None
    reason = check_trial_cap(trial, today, 50, POLICY)
    assert reason is not None
    assert "at most 50 active seats" in reason
    assert "(50 in use)" in reason
    assert "/license trial convert" in reason


def test_trial_cap_only_while_running():
    assert check_trial_cap(None, date(2026, 12, 5), 80, POLICY) is None
    assert check_trial_cap(Trial(START), date(2026, 12, 15), 80, POLICY) is None
    converted = Trial(START, converted_at=datetime(2026, 12, 2, tzinfo=UTC))
    assert check_trial_cap(converted, date(2026, 12, 5), 80, POLICY) is None


def test_trial_cap_counts_seats_being_added():
    assert check_trial_cap(Trial(START), date(2026, 12, 5), 48, POLICY, adding=3) is not None
    assert check_trial_cap(Trial(START), date(2026, 12, 5), 47, POLICY, adding=3) is None


# --- inactivity -------------------------------------------------------------------------

CUTOFF = NOW - timedelta(days=30)
LONG_AGO = NOW - timedelta(days=200)


def test_inactive_by_last_activity():
    assert is_inactive(CUTOFF - timedelta(seconds=1), LONG_AGO, NOW, POLICY)
    assert not is_inactive(NOW - timedelta(days=2), LONG_AGO, NOW, POLICY)


def test_exactly_at_the_cutoff_is_not_inactive():
    assert not is_inactive(CUTOFF, LONG_AGO, NOW, POLICY)


def test_without_activity_the_assignment_time_counts():
    assert is_inactive(None, CUTOFF - timedelta(seconds=1), NOW, POLICY)
    assert not is_inactive(None, CUTOFF, NOW, POLICY)
    assert not is_inactive(None, NOW - timedelta(days=3), NOW, POLICY)


def test_recent_activity_wins_over_an_old_assignment():
    assert not is_inactive(NOW - timedelta(hours=1), LONG_AGO, NOW, POLICY)


def test_inactive_days_follow_the_policy():
    assert is_inactive(NOW - timedelta(days=8), LONG_AGO, NOW, Policy(inactive_days=7))
    assert not is_inactive(NOW - timedelta(days=6), LONG_AGO, NOW, Policy(inactive_days=7))


# --- utilization band -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purchased", "used", "band"),
    [
        (400, 340, Band.IN_BAND),
        (400, 320, Band.IN_BAND),  # exactly 80 %
        (400, 379, Band.IN_BAND),  # 94.75 %
        (400, 380, Band.NEARLY_FULL),  # exactly 95 %
        (400, 398, Band.NEARLY_FULL),
        (400, 400, Band.NEARLY_FULL),
        (400, 319, Band.OVER_PROVISIONED),
        (400, 0, Band.OVER_PROVISIONED),
        (400, 401, Band.OVER),
        (20, 19, Band.NEARLY_FULL),
        (0, 0, Band.EMPTY),
        (0, 2, Band.OVER),
    ],
)
def test_utilization_band(purchased, used, band):
    assert utilization_band(pool(purchased, used), POLICY) == band


def test_band_thresholds_come_from_the_policy():
    policy = Policy(utilization_low=0.5, utilization_high=0.9)
    assert utilization_band(pool(100, 60), policy) == Band.IN_BAND
    assert utilization_band(pool(100, 49), policy) == Band.OVER_PROVISIONED
    assert utilization_band(pool(100, 90), policy) == Band.NEARLY_FULL


# --- request state machine --------------------------------------------------------------

ALLOWED = {
    (RequestStatus.PENDING, RequestStatus.APPROVED),
    (RequestStatus.PENDING, RequestStatus.DENIED),
    (RequestStatus.PENDING, RequestStatus.CANCELLED),
    (RequestStatus.PENDING, RequestStatus.EXPIRED),
}


@pytest.mark.parametrize(("current", "target"), list(product(RequestStatus, RequestStatus)))
def test_only_pending_moves_and_only_to_a_decision(current, target):
    assert can_transition(current, target) is ((current, target) in ALLOWED)


def test_there_are_exactly_five_states():
    assert [s.value for s in RequestStatus] == [
        "pending",
        "approved",
        "denied",
        "cancelled",
        "expired",
    ]


# --- license groups ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("department", "seat_type", "group"),
    [
        ("support", "agent", "Support_Agent_LicenseGroup"),
        ("Support", "agent", "Support_Agent_LicenseGroup"),
        ("Sales", "supervisor", "Sales_Supervisor_LicenseGroup"),
        ("emea2", "executive", "Emea2_Executive_LicenseGroup"),
        ("customerCare", "agent", "CustomerCare_Agent_LicenseGroup"),
    ],
)
def test_license_group(department, seat_type, group):
    assert license_group(department, seat_type) == group


@pytest.mark.parametrize(
    "department", ["Customer Support", "Customer_Support", "R&D", "", "Süd", "x" * 41]
)
def test_bad_departments_raise_with_the_convention(department):
    with pytest.raises(LicenseError) as caught:
        normalize_department(department)
    assert f"department `{department}` breaks the naming convention" in str(caught.value)
    assert "letters and digits only" in str(caught.value)
    with pytest.raises(LicenseError):
        license_group(department, "agent")
