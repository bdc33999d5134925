"""Typed side effects (issue 8 item 3): a closed set of message kinds, one payload
dataclass per kind, one rendering path, an explicit table.

The outbox keeps JSON, so rows queued by the code before the payloads were typed (plain
dicts, read with `.get`) must still decode and render: OLD_ROWS below are the dicts that
code wrote, one per kind, taken from its builders."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from conftest import ALERTS, APPROVALS, MANAGER, NINA, Bot
from flows import card, dms, file_request, set_pool, text_of, thread

from bot.blocks.base import Message
from bot.blocks.templates import TEMPLATES, render
from bot.licensing.messages import (
    PAYLOADS,
    STEPS,
    ChangeStep,
    Deactivated,
    DecisionPayload,
    DeliveryFailed,
    Digest,
    DigestPool,
    Done,
    DriftLine,
    ExpiringDm,
    ExpiringRow,
    ExpiringSummary,
    Extended,
    FailedItem,
    GenesysAlert,
    GenesysDrift,
    GenesysStatus,
    GenesysStep,
    HomeRefresh,
    InactiveDm,
    InactiveRow,
    InactiveSeatsSummary,
    LimitsAlert,
    LimitsLine,
    LimitsSummary,
    MessageKind,
    ModuleAdoption,
    Payload,
    PayloadError,
    PoolOverage,
    PoolUsage,
    ProvisionStep,
    RemoveStep,
    RequestCard,
    RequestEscalation,
    RequestNudge,
    Resolved,
    SeatBefore,
    SeatCount,
    StagePayload,
    TrialAlert,
    UnknownKind,
    UpdateOf,
    decode_message,
    decode_row,
    resolved,
)
from bot.licensing.payloads import from_json, to_json
from bot.licensing.requests import LicenseRequest, RequestStatus, Stage
from bot.store.outbox import OutboxTarget

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 30, 12, 0, tzinfo=UTC)

REQUEST = LicenseRequest(
    id=7,
    requester_id=MANAGER,
    email="nina@example.com",
    name="Nina",
    slack_user_id=NINA,
    seat_type="agent",
    edition="premium",
    modules=("wfo",),
    department="Support",
    start_date=None,
    reason="new hire",
    status=RequestStatus.APPROVED,
    created_at=AT,
    decided_at=AT,
    decided_by="U0ADMIN",
    card_channel=APPROVALS,
    card_ts="1700000000.000100",
    stage=Stage.ADMIN,
)

_OVER = {
    "pool": "premium agent",
    "edition": "premium",
    "item": "agent",
    "used": 11,
    "purchased": 10,
    "overage": 1,
    "allowance": 1,
    "over_since": AT.isoformat(),
    "grace_ends": LATER.isoformat(),
    "days_left": 30,
}
_NEARLY_FULL = {
    "pool": "basic agent",
    "edition": "basic",
    "item": "agent",
    "used": 19,
    "purchased": 20,
    "left": 1,
    "utilization": 0.95,
    "high": 0.9,
}
_INACTIVE_ROW = {
    "id": 3,
    "name": "Olaf",
    "email": "olaf@example.com",
    "user": "U0OLAF",
    "seat": "premium agent",
    "last": AT.isoformat(),
    "never": False,
    "days": 45,
}
_EXPIRING_ROW = {
    "id": 4,
    "name": "Pia",
    "email": "pia@example.com",
    "user": None,
    "seat": "basic agent",
    "ends_on": "2026-12-10",
    "days_left": 10,
}

# What the code before typed payloads wrote into `outbox.data`, per kind (its builders:
# services/requests.py, services/outcomes.py, jobs/*, genesys/*, delivery/engine.py, ...).
OLD_ROWS: dict[MessageKind, dict[str, Any]] = {
    MessageKind.REQUEST_CARD: {},
    MessageKind.DECISION_REPLY: {
        "usage": [{"pool": "premium agent", "used": 11, "purchased": 10}],
        "overage": [
            {
                "pool": "premium agent",
                "overage": 1,
                "grace_ends_at": LATER.isoformat(),
                "grace_starts": True,
            }
        ],
        "freed": [{"pool": "basic agent", "used": 3, "purchased": 10}],
        "status": "approved",
    },
    MessageKind.DECISION_DM: {"status": "cancelled"},
    MessageKind.STAGE_REPLY: {"by": "U0ADMIN", "cost": "1500.00"},
    MessageKind.STAGE_DM: {"by": "U0ADMIN"},
    MessageKind.DELIVERY_FAILED: {
        "count": 12,
        "failures": [
            {"id": 9, "what": "decision_dm", "where": NINA, "error": "channel_not_found"},
        ],
    },
    MessageKind.LIMITS_ALERT: {"kind": "over", **_OVER},
    MessageKind.LIMITS_SUMMARY: {
        "lines": [
            {"key": "limits:grace-ended:pool:premium/agent:x", "kind": "grace-ended", **_OVER},
            {
                "key": "limits:nearly-full:pool:basic/agent:2026-11-30",
                "kind": "nearly-full",
                **_NEARLY_FULL,
                "resolved": {"at": AT.isoformat(), "text": "basic agent is below 90% again"},
            },
        ]
    },
    MessageKind.TRIAL_ALERT: {
        "kind": "reminder",
        "start": "2026-11-19",
        "day": 12,
        "trial_days": 14,
        "last_day": "2026-12-02",
        "days_left": 2,
        "max_users": 5,
        "active": 3,
    },
    MessageKind.REQUEST_NUDGE: {"hours": 25, "mentions": ["<@U0ADMIN>", "<@U0ADMIN2>"]},
    MessageKind.DIGEST: {
        "month": "2026-11",
        "as_of": AT.isoformat(),
        "low": 0.5,
        "high": 0.9,
        "pools": [
            {
                "pool": "premium agent",
                "used": 2,
                "purchased": 10,
                "utilization": 0.2,
                "band": "over-provisioned",
                "idle": 8,
                "idle_cost": "800.00",
            },
            {
                "pool": "basic agent",
                "used": 0,
                "purchased": 0,
                "utilization": None,
                "band": "unused",
            },
        ],
        "idle_cost": "800.00",
        "active": 2,
        "inactive": 1,
        "modules": [{"module": "wfo", "holders": 1, "eligible": 2}],
    },
    MessageKind.GENESYS_STATUS: {
        "state": "waiting_user",
        "text": "waiting for the Genesys user",
        "email": "nina@example.com",
    },
    MessageKind.GENESYS_ALERT: {
        "kind": "refused",
        "email": "nina@example.com",
        "name": "Nina",
        "seat": "premium agent",
        "message": "missing permission",
        "assignment_id": 3,
    },
    MessageKind.GENESYS_DRIFT: {
        "total": 2,
        "counts": {"unmanaged": 1, "missing": 1},
        "rows": [
            {
                "kind": "unmanaged",
                "email": "hand@example.com",
                "name": "Hand",
                "user_id": "g-1",
                "assignment_id": None,
                "seat": "",
                "licenses": ["lic-premium"],
                "detail": "holds lic-premium",
                "key": "unmanaged:hand@example.com",
                "done": {"by": "U0ADMIN", "at": AT.isoformat(), "state": "adopted"},
            },
            {
                "kind": "missing",
                "email": "nina@example.com",
                "name": "Nina",
                "user_id": None,
                "assignment_id": 3,
                "seat": "premium agent",
                "licenses": [],
                "detail": "expected lic-premium",
                "key": "missing:nina@example.com",
            },
        ],
    },
    MessageKind.INACTIVE_SUMMARY: {
        "total": 2,
        "inactive_days": 30,
        "as_of": AT.isoformat(),
        "seats": [{"pool": "premium agent", "count": 2}],
        "pools": 1,
        "monthly_cost": "200.00",
        "unpriced": 0,
        "rows": [
            _INACTIVE_ROW,
            {
                **_INACTIVE_ROW,
                "id": 5,
                "never": True,
                "done": {
                    "state": "kept",
                    "by": "U0ADMIN",
                    "at": AT.isoformat(),
                    "until": LATER.isoformat(),
                },
            },
        ],
        "acted": {"kept": 1},
    },
    MessageKind.INACTIVE_DM: {**_INACTIVE_ROW, "snooze_days": 30},
    MessageKind.DEACTIVATED_ALERT: {
        "id": 3,
        "user": "U0OLAF",
        "name": "Olaf",
        "email": "olaf@example.com",
        "seat": "premium agent",
        "revoked": False,
        "done": {"state": "reclaimed", "by": "U0ADMIN", "at": AT.isoformat()},
    },
    MessageKind.EXPIRING_DM: {**_EXPIRING_ROW, "holder": True},
    MessageKind.EXPIRED_DM: {**_EXPIRING_ROW, "holder": False},
    MessageKind.EXPIRING_SUMMARY: {
        "warning_days": 14,
        "rows": [
            _EXPIRING_ROW,
            {**_EXPIRING_ROW, "id": 6, "done": {"by": "U0ADMIN", "until": "2027-01-09"}},
        ],
        "total": 2,
        "ended": [{**_EXPIRING_ROW, "id": 8, "days_left": 0}],
        "as_of": AT.isoformat(),
    },
    MessageKind.REQUEST_ESCALATION: {
        "hours": 48,
        "stage": "finance",
        "channel": APPROVALS,
        "ts": "1700000000.000100",
    },
}

OLD_STEPS: dict[GenesysStep, dict[str, Any]] = {
    GenesysStep.PROVISION: {"assignment_id": 3},
    GenesysStep.REMOVE: {"assignment_id": 3, "licenses": ["lic-premium"]},
    GenesysStep.CHANGE: {
        "assignment_id": 3,
        "before": {"edition": "premium", "seat_type": "agent", "modules": ["wfo"]},
    },
}

# One fully built payload per kind, as today's builders make them.
_DONE = Done(state="kept", by="U0ADMIN", at=AT, until=LATER)
_LINE = LimitsLine(
    key="limits:over:pool:premium/agent:x",
    kind="over",
    pool="premium agent",
    edition="premium",
    item="agent",
    used=11,
    purchased=10,
    overage=1,
    allowance=1,
    over_since=AT,
    grace_ends=LATER,
    days_left=30,
    resolved=Resolved(at=LATER, text="back within its seats"),
)
_ROW = InactiveRow(
    id=3,
    name="Olaf",
    email="olaf@example.com",
    user="U0OLAF",
    seat="premium agent",
    last=AT,
    never=False,
    days=45,
    done=_DONE,
)
_EXPIRING = ExpiringRow(
    id=4,
    name="Pia",
    email="pia@example.com",
    user=None,
    seat="basic agent",
    ends_on=date(2026, 12, 10),
    days_left=10,
    done=Extended(by="U0ADMIN", until=date(2027, 1, 9)),
)
SAMPLES: dict[MessageKind, Payload] = {
    MessageKind.REQUEST_CARD: RequestCard(),
    MessageKind.DECISION_REPLY: DecisionPayload(
        status=RequestStatus.APPROVED,
        usage=(PoolUsage(pool="premium agent", used=11, purchased=10),),
        overage=(
            PoolOverage(pool="premium agent", overage=1, grace_ends_at=LATER, grace_starts=True),
        ),
        freed=(PoolUsage(pool="basic agent", used=3, purchased=10),),
    ),
    MessageKind.DECISION_DM: DecisionPayload(status=RequestStatus.DENIED),
    MessageKind.STAGE_REPLY: StagePayload(by="U0ADMIN", cost=Decimal("1500.00")),
    MessageKind.STAGE_DM: StagePayload(by="U0ADMIN"),
    MessageKind.DELIVERY_FAILED: DeliveryFailed(
        count=1, failures=(FailedItem(id=9, what="decision_dm", where=NINA, error="gone"),)
    ),
    MessageKind.LIMITS_ALERT: LimitsAlert(
        kind="nearly-full",
        pool="basic agent",
        edition="basic",
        item="agent",
        used=19,
        purchased=20,
        left=1,
        utilization=0.95,
        high=0.9,
    ),
    MessageKind.LIMITS_SUMMARY: LimitsSummary(lines=(_LINE,)),
    MessageKind.TRIAL_ALERT: TrialAlert(
        kind="expired",
        start=date(2026, 11, 1),
        day=15,
        trial_days=14,
        last_day=date(2026, 11, 14),
        days_left=0,
        max_users=5,
        active=4,
    ),
    MessageKind.REQUEST_NUDGE: RequestNudge(hours=25, mentions=("<!subteam^S1>",)),
    MessageKind.DIGEST: Digest(
        month="2026-11",
        as_of=AT,
        low=0.5,
        high=0.9,
        pools=(
            DigestPool(
                pool="premium agent",
                used=2,
                purchased=10,
                utilization=0.2,
                band="over-provisioned",
                idle=8,
                idle_cost=Decimal("800.00"),
            ),
        ),
        idle_cost=Decimal("800.00"),
        active=2,
        inactive=1,
        modules=(ModuleAdoption(module="wfo", holders=1, eligible=2),),
        resolved=Resolved(at=AT, text="informational"),
    ),
    MessageKind.GENESYS_STATUS: GenesysStatus(state="provisioned", text="assigned", email="n@x"),
    MessageKind.GENESYS_ALERT: GenesysAlert(
        kind="waiting", email="nina@example.com", name="Nina", seat="premium agent"
    ),
    MessageKind.GENESYS_DRIFT: GenesysDrift(
        total=1,
        counts={"unmanaged": 1},
        rows=(
            DriftLine(
                kind="unmanaged",
                email="hand@example.com",
                name="Hand",
                user_id="g-1",
                licenses=("lic-premium",),
                key="unmanaged:hand@example.com",
                done=Done(state="still-held", by="U0ADMIN", at=AT, text="a role implies it"),
            ),
        ),
    ),
    MessageKind.INACTIVE_SUMMARY: InactiveSeatsSummary(
        total=1,
        inactive_days=30,
        as_of=AT,
        seats=(SeatCount(pool="premium agent", count=1),),
        pools=1,
        monthly_cost=Decimal("100.00"),
        unpriced=0,
        rows=(_ROW,),
        acted={"kept": 1},
    ),
    MessageKind.INACTIVE_DM: InactiveDm(
        id=3,
        name="Olaf",
        email="olaf@example.com",
        user="U0OLAF",
        seat="premium agent",
        last=AT,
        never=True,
        days=45,
        snooze_days=30,
    ),
    MessageKind.DEACTIVATED_ALERT: Deactivated(
        id=3, user="U0OLAF", name="Olaf", email="olaf@example.com", seat="premium agent"
    ),
    MessageKind.EXPIRING_DM: ExpiringDm(
        id=4,
        name="Pia",
        email="pia@example.com",
        user="U0PIA",
        seat="basic agent",
        ends_on=date(2026, 12, 10),
        days_left=0,
        holder=True,
    ),
    MessageKind.EXPIRED_DM: ExpiringDm(
        id=4,
        name="Pia",
        email="pia@example.com",
        seat="basic agent",
        ends_on=date(2026, 12, 10),
        days_left=-1,
    ),
    MessageKind.EXPIRING_SUMMARY: ExpiringSummary(
        warning_days=14, rows=(_EXPIRING,), total=1, ended=(), as_of=AT
    ),
    MessageKind.REQUEST_ESCALATION: RequestEscalation(hours=48, stage="admin", channel=APPROVALS),
}
STEP_SAMPLES: dict[GenesysStep, Payload] = {
    GenesysStep.PROVISION: ProvisionStep(assignment_id=3),
    GenesysStep.REMOVE: RemoveStep(assignment_id=3, licenses=("lic-1", "lic-2")),
    GenesysStep.CHANGE: ChangeStep(
        assignment_id=3, before=SeatBefore(edition="premium", seat_type="agent", modules=("wfo",))
    ),
}


def _kept(old: Any, new: Any, where: str = "data") -> None:
    """Every value of the old data is in the new under the same key, as the same JSON
    (the old dicts wrote some absent values as null; typed payloads leave those out)."""
    if isinstance(old, dict):
        assert isinstance(new, dict), where
        for key, value in old.items():
            if value is not None:
                assert key in new, f"{where}.{key} is lost"
                _kept(value, new[key], f"{where}.{key}")
    elif isinstance(old, list):
        assert isinstance(new, list) and len(new) == len(old), where
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _kept(a, b, f"{where}[{i}]")
    else:
        assert old == new, f"{where}: {old!r} became {new!r}"


def _through_the_store(data: dict[str, Any]) -> dict[str, Any]:
    """What the outbox column holds and gives back (bot/store/outbox.py)."""
    loaded: dict[str, Any] = json.loads(json.dumps(data, sort_keys=True, default=str))
    return loaded


# --- the closed set and the table ---------------------------------------------------------


def test_the_template_table_covers_every_kind_exactly() -> None:
    assert set(TEMPLATES) == set(MessageKind)
    assert set(PAYLOADS) == set(MessageKind)
    assert set(STEPS) == set(GenesysStep)
    # the tests below cover every kind too
    assert set(OLD_ROWS) == set(MessageKind) == set(SAMPLES)
    assert set(OLD_STEPS) == set(GenesysStep) == set(STEP_SAMPLES)


def test_every_payload_class_is_frozen() -> None:
    for cls in {*PAYLOADS.values(), *STEPS.values(), UpdateOf, HomeRefresh}:
        assert dataclasses.is_dataclass(cls)
        assert cls.__dataclass_params__.frozen, cls.__name__  # type: ignore[attr-defined]


# --- the codec ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(MessageKind))
def test_every_kind_round_trips_through_the_store_and_renders(kind: MessageKind) -> None:
    payload = SAMPLES[kind]
    stored = _through_the_store(to_json(payload))
    again = decode_message(kind, stored)
    assert again == payload
    assert type(again) is type(payload)
    message = render(kind, REQUEST, again, UTC)
    assert isinstance(message, Message)
    assert message.text and message.payload()["blocks"]  # slack_sdk validates the blocks


@pytest.mark.parametrize("step", list(GenesysStep))
def test_every_genesys_step_round_trips(step: GenesysStep) -> None:
    payload = STEP_SAMPLES[step]
    assert decode_row("genesys", step.value, _through_the_store(to_json(payload))) == payload


def test_an_update_row_carries_the_key_of_the_message_it_updates() -> None:
    assert decode_row("update", "limits_alert", {"of": "limits:k"}) == UpdateOf(of="limits:k")


def test_a_home_row_carries_nothing() -> None:
    assert decode_row("home", "home", {}) == HomeRefresh()
    assert to_json(HomeRefresh()) == {}


def test_values_keep_their_types() -> None:
    stage = decode_message(MessageKind.STAGE_REPLY, {"by": "U1", "cost": "1500.10"})
    assert stage == StagePayload(by="U1", cost=Decimal("1500.10"))
    trial = decode_message(MessageKind.TRIAL_ALERT, OLD_ROWS[MessageKind.TRIAL_ALERT])
    assert isinstance(trial, TrialAlert) and trial.last_day == date(2026, 12, 2)
    decision = decode_message(MessageKind.DECISION_REPLY, OLD_ROWS[MessageKind.DECISION_REPLY])
    assert isinstance(decision, DecisionPayload)
    assert decision.status is RequestStatus.APPROVED
    assert decision.overage[0].grace_ends_at == LATER
    assert to_json(StagePayload(by="U1", cost=Decimal("12.50"))) == {"by": "U1", "cost": "12.50"}


# --- rows written before the payloads were typed ------------------------------------------


@pytest.mark.parametrize("kind", list(MessageKind))
def test_a_row_stored_in_the_old_dict_shape_decodes_and_renders(kind: MessageKind) -> None:
    old = OLD_ROWS[kind]
    payload = decode_message(kind, _through_the_store(old))
    assert isinstance(payload, PAYLOADS[kind])
    # the field names are the old keys: written again, it keeps every value it had
    _kept(old, _through_the_store(to_json(payload)))
    message = render(kind, REQUEST, payload, UTC)
    assert message.text and message.payload()["blocks"]


@pytest.mark.parametrize("step", list(GenesysStep))
def test_a_genesys_step_in_the_old_dict_shape_decodes(step: GenesysStep) -> None:
    old = OLD_STEPS[step]
    payload = decode_row("genesys", step.value, old)
    _kept(old, to_json(payload))


def test_old_rows_show_what_they_showed() -> None:
    """Spot checks of the text rendered from old rows: the same words as before."""

    def shown(kind: MessageKind) -> str:
        message = render(kind, REQUEST, decode_message(kind, OLD_ROWS[kind]), UTC)
        return json.dumps(message.payload(), ensure_ascii=False)

    assert "Monthly cost $1,500.00" in shown(MessageKind.STAGE_REPLY)
    assert "premium agent is 1 over: enters grace period until 2026-12-30" in shown(
        MessageKind.DECISION_REPLY
    )
    assert "basic agent now 3/10 (a seat freed)" in shown(MessageKind.DECISION_REPLY)
    assert "premium agent: 8 idle · $800.00/month" in shown(MessageKind.DIGEST)
    assert "Since posted: 1 kept" in shown(MessageKind.INACTIVE_SUMMARY)
    assert "Kept by <@U0ADMIN>" in shown(MessageKind.INACTIVE_SUMMARY)
    assert "Extended to 2027-01-09 by <@U0ADMIN>" in shown(MessageKind.EXPIRING_SUMMARY)
    assert "Adopted into the ledger by <@U0ADMIN>" in shown(MessageKind.GENESYS_DRIFT)
    assert "~basic agent~ resolved 2026-11-30" in shown(MessageKind.LIMITS_SUMMARY)
    assert "<@U0ADMIN> <@U0ADMIN2>: approve or deny" in shown(MessageKind.REQUEST_NUDGE)
    assert "/p1700000000000100|Open the card" in shown(MessageKind.REQUEST_ESCALATION)
    assert "Reclaimed by <@U0ADMIN> on 2026-11-30" in shown(MessageKind.DEACTIVATED_ALERT)


def test_a_key_missing_from_an_old_row_takes_the_default() -> None:
    # inactive_dm rows from before snooze_days existed; a limits line with no edition
    row = {k: v for k, v in OLD_ROWS[MessageKind.INACTIVE_DM].items() if k != "snooze_days"}
    dm = decode_message(MessageKind.INACTIVE_DM, row)
    assert isinstance(dm, InactiveDm) and dm.snooze_days == 30
    alert = decode_message(MessageKind.LIMITS_ALERT, {"kind": "over", **_OVER, "edition": None})
    assert isinstance(alert, LimitsAlert) and alert.edition == ""


# --- failing clearly ----------------------------------------------------------------------


def test_an_unknown_kind_fails_clearly() -> None:
    with pytest.raises(UnknownKind, match="no outbox message kind 'party_invite'"):
        render("party_invite", None, RequestCard(), UTC)
    with pytest.raises(LookupError, match="party_invite"):
        decode_row("channel", "party_invite", {})
    with pytest.raises(LookupError, match="no Genesys step 'rename'"):
        decode_row("genesys", "rename", {"assignment_id": 1})


def test_a_payload_of_another_kind_is_refused() -> None:
    with pytest.raises(TypeError, match="a digest message takes a Digest, not StagePayload"):
        render(MessageKind.DIGEST, None, StagePayload(by="U1"), UTC)


def test_data_that_does_not_fit_its_kind_is_refused() -> None:
    with pytest.raises(PayloadError, match="'by' is missing"):
        decode_message(MessageKind.STAGE_DM, {})
    with pytest.raises(PayloadError, match=r"RequestNudge\.hours"):
        decode_message(MessageKind.REQUEST_NUDGE, {"hours": [1]})
    with pytest.raises(PayloadError, match="expected an object"):
        from_json(StagePayload, ["U1"])  # type: ignore[arg-type]


async def test_the_outbox_refuses_a_payload_of_another_kind(bot: Bot) -> None:
    async with bot.db.transaction() as tx:
        with pytest.raises(TypeError, match="takes a Digest, not StagePayload"):
            await tx.outbox.enqueue(
                OutboxTarget.CHANNEL, MessageKind.DIGEST, AT, data=StagePayload(by="U1")
            )
        with pytest.raises(TypeError, match="takes a UpdateOf"):
            await tx.outbox.enqueue(
                OutboxTarget.UPDATE, MessageKind.DIGEST, AT, data=SAMPLES[MessageKind.DIGEST]
            )
        with pytest.raises(TypeError, match="takes a RemoveStep"):
            await tx.outbox.enqueue(
                OutboxTarget.GENESYS, GenesysStep.REMOVE, AT, data=ProvisionStep(assignment_id=1)
            )


def test_a_kind_that_needs_its_request_says_so() -> None:
    with pytest.raises(LookupError, match="renders its request"):
        render(MessageKind.DECISION_REPLY, None, DecisionPayload(), UTC)


def test_only_an_alert_resolves() -> None:
    done = resolved(SAMPLES[MessageKind.LIMITS_ALERT], "fine again", AT)
    assert done.resolved == Resolved(at=AT, text="fine again")
    with pytest.raises(TypeError):
        resolved(SAMPLES[MessageKind.STAGE_DM], "no", AT)


# --- old rows in a real outbox, delivered -------------------------------------------------


async def test_rows_queued_by_the_old_code_are_delivered(bot: Bot) -> None:
    """Rows written as plain dicts (an outbox left by the previous version) go out: the
    thread reply, the DM and the alerts render as they did."""
    await set_pool(bot, "premium agent 10")
    request_id = await file_request(bot, f"<@{NINA}|nina> agent premium")
    now = bot.clock.now()
    async with bot.db.transaction() as tx:
        await tx.outbox.enqueue(
            "thread",
            "stage_reply",
            now,
            request_id=request_id,
            data=OLD_ROWS[MessageKind.STAGE_REPLY],
        )
        await tx.outbox.enqueue(
            "dm",
            "stage_dm",
            now,
            request_id=request_id,
            user_id=MANAGER,
            data=OLD_ROWS[MessageKind.STAGE_DM],
        )
        for kind in (MessageKind.DIGEST, MessageKind.LIMITS_SUMMARY, MessageKind.GENESYS_DRIFT):
            await tx.outbox.enqueue(
                "channel", kind.value, now, channel=ALERTS, key=f"old:{kind}", data=OLD_ROWS[kind]
            )
    report = await bot.deps.deliverer.flush()
    assert report.failed == 0

    replies = [text_of(m) for m in thread(bot.slack, card(bot.slack, request_id))]
    assert any("Approved by <@U0ADMIN> — waiting for finance" in r for r in replies)
    assert any("Monthly cost $1,500.00" in r for r in replies)
    assert any("now waits for finance" in text_of(m) for m in dms(bot.slack, MANAGER))
    alerts = [text_of(m) for m in bot.slack.messages(ALERTS)]
    assert any("License digest 2026-11" in a for a in alerts)
    assert any("1 pool need attention" in a for a in alerts)
    assert any("Genesys drift: 2 differences" in a for a in alerts)
    async with bot.db.read() as tx:
        statuses = {m.template: m.status for m in await tx.outbox.messages()}
    assert statuses["digest"] == statuses["stage_dm"] == "delivered"


async def test_a_queued_row_of_an_unknown_kind_fails_with_its_reason(bot: Bot) -> None:
    async with bot.db.transaction() as tx:
        queued = await tx.outbox.enqueue(
            OutboxTarget.CHANNEL, "party_invite", bot.clock.now(), channel=ALERTS, data={}
        )
    assert queued is not None
    await bot.deps.deliverer.flush()
    async with bot.db.read() as tx:
        message = await tx.outbox.get(queued)
    assert message is not None and message.status == "failed"
    assert "no outbox message kind 'party_invite'" in (message.last_error or "")
    # nothing of it was posted; the admins are told, as for any message that cannot go
    (told,) = [text_of(m) for m in bot.slack.messages(ALERTS)]
    assert "1 message could not be delivered" in told and "party invite" in told
