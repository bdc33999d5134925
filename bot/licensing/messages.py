"""Typed side effects (issue 8 item 3): the closed set of outbox message kinds and one
frozen payload dataclass per kind.

The use cases and the jobs build these payloads; the outbox stores them as JSON (through
bot.licensing.payloads: field names are the keys the stored dicts always had, so rows
queued before the payloads were typed still decode); bot/blocks renders each kind from
its payload, in one place (bot.blocks.templates.render).

    MessageKind   a Slack message the deliverer renders and posts (the request card, the
                  decision reply, an alert, ...): PAYLOADS maps each to its payload class
    GenesysStep   a Genesys Cloud provisioning step (bot/genesys/provision.py)
    UpdateOf      the payload of every `update` row: the key of the posted message to
                  re-render in place (its row's template names that message's kind)
    HomeRefresh   the payload of every `home` row (an App Home built when delivered)

Pure and sync: no Slack, no SQL, no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from bot.licensing.payloads import NOT_STORED, PayloadError, from_json, to_json
from bot.licensing.requests import RequestStatus
from bot.licensing.views import Impact


class MessageKind(StrEnum):
    """Every message the outbox renders (the values are the `outbox.template` strings)."""

    REQUEST_CARD = "request_card"
    DECISION_REPLY = "decision_reply"
    DECISION_DM = "decision_dm"
    STAGE_REPLY = "stage_reply"
    STAGE_DM = "stage_dm"
    DELIVERY_FAILED = "delivery_failed"
    LIMITS_ALERT = "limits_alert"
    LIMITS_SUMMARY = "limits_summary"
    TRIAL_ALERT = "trial_alert"
    REQUEST_NUDGE = "request_nudge"
    DIGEST = "digest"
    GENESYS_STATUS = "genesys_status"
    GENESYS_ALERT = "genesys_alert"
    GENESYS_DRIFT = "genesys_drift"
    INACTIVE_SUMMARY = "inactive_summary"
    INACTIVE_DM = "inactive_dm"
    DEACTIVATED_ALERT = "deactivated_alert"
    EXPIRING_DM = "expiring_dm"
    EXPIRED_DM = "expired_dm"
    EXPIRING_SUMMARY = "expiring_summary"
    REQUEST_ESCALATION = "request_escalation"


class GenesysStep(StrEnum):
    """A Genesys Cloud provisioning step (target `genesys`)."""

    PROVISION = "provision"
    REMOVE = "remove"
    CHANGE = "change"


# ---------------------------------------------------------------- shared parts


@dataclass(frozen=True, kw_only=True)
class Payload:
    """The base of every payload."""


@dataclass(frozen=True, kw_only=True)
class Resolved:
    at: datetime
    text: str


@dataclass(frozen=True, kw_only=True)
class AlertPayload(Payload):
    """A message posted in the alerts channel: resolving its alert updates it in place."""

    resolved: Resolved | None = None


@dataclass(frozen=True, kw_only=True)
class Done:
    """What someone did on a line or a message with buttons (they go once it is done)."""

    state: str = ""  # reclaimed | kept | released | gone | adopted | removed | ...
    by: str | None = None
    at: datetime | None = None
    until: datetime | None = None  # kept: not asked again before
    text: str | None = None


# ---------------------------------------------------------------- requests


@dataclass(frozen=True, kw_only=True)
class RequestCard(Payload):
    """The request's card: it renders the request itself. `impact` (the seat rules for a
    pending request) is worked out when the card is delivered, never stored."""

    impact: Impact | None = field(default=None, compare=False, metadata=NOT_STORED)


@dataclass(frozen=True, kw_only=True)
class PoolUsage:
    pool: str
    used: int
    purchased: int


@dataclass(frozen=True, kw_only=True)
class PoolOverage:
    pool: str
    overage: int
    grace_ends_at: datetime | None = None
    grace_starts: bool = False


@dataclass(frozen=True, kw_only=True)
class DecisionPayload(Payload):
    """decision_reply and decision_dm: what the decision did to the pools."""

    status: RequestStatus | None = None
    usage: tuple[PoolUsage, ...] = ()
    overage: tuple[PoolOverage, ...] = ()
    freed: tuple[PoolUsage, ...] = ()


@dataclass(frozen=True, kw_only=True)
class StagePayload(Payload):
    """stage_reply and stage_dm: an admin approved; finance decides next."""

    by: str
    cost: Decimal | None = None


@dataclass(frozen=True, kw_only=True)
class RequestNudge(Payload):
    hours: int
    mentions: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RequestEscalation(Payload):
    hours: int
    stage: str = ""
    channel: str | None = None
    ts: str | None = None


# ---------------------------------------------------------------- delivery


@dataclass(frozen=True, kw_only=True)
class FailedItem:
    id: int | None = None
    what: str = ""
    where: str = ""
    error: str = ""


@dataclass(frozen=True, kw_only=True)
class DeliveryFailed(AlertPayload):
    count: int = 0
    failures: tuple[FailedItem, ...] = ()


# ---------------------------------------------------------------- limits, trial, digest


@dataclass(frozen=True, kw_only=True)
class LimitsAlert(AlertPayload):
    """A pool over its limit (kind over / grace-ending / grace-ended) or nearly full."""

    kind: str
    pool: str
    edition: str = ""
    item: str = ""
    used: int
    purchased: int
    # over its limit
    overage: int | None = None
    allowance: int | None = None
    over_since: datetime | None = None
    grace_ends: datetime | None = None
    days_left: int | None = None
    # nearly full
    left: int | None = None
    utilization: float | None = None
    high: float | None = None


@dataclass(frozen=True, kw_only=True)
class LimitsLine(LimitsAlert):
    """One pool's line of a limits summary, keyed by its alert."""

    key: str = ""


@dataclass(frozen=True, kw_only=True)
class LimitsSummary(AlertPayload):
    lines: tuple[LimitsLine, ...] = ()


@dataclass(frozen=True, kw_only=True)
class TrialAlert(AlertPayload):
    kind: str  # reminder | expired
    start: date
    day: int
    trial_days: int
    last_day: date
    days_left: int
    max_users: int
    active: int = 0


@dataclass(frozen=True, kw_only=True)
class DigestPool:
    pool: str
    used: int
    purchased: int
    utilization: float | None = None
    band: str = ""
    idle: int | None = None  # over-provisioned pools only
    idle_cost: Decimal | None = None


@dataclass(frozen=True, kw_only=True)
class ModuleAdoption:
    module: str
    holders: int
    eligible: int


@dataclass(frozen=True, kw_only=True)
class Digest(AlertPayload):
    month: str
    as_of: datetime
    low: float
    high: float
    pools: tuple[DigestPool, ...] = ()
    idle_cost: Decimal | None = None
    active: int = 0
    inactive: int = 0
    modules: tuple[ModuleAdoption, ...] = ()


# ---------------------------------------------------------------- inactive seats


@dataclass(frozen=True, kw_only=True)
class SeatCount:
    pool: str
    count: int


@dataclass(frozen=True, kw_only=True)
class InactiveRow:
    id: int
    name: str
    email: str
    user: str | None = None
    seat: str
    last: datetime
    never: bool = False
    days: int
    done: Done | None = None


@dataclass(frozen=True, kw_only=True)
class InactiveDm(InactiveRow, Payload):
    snooze_days: int = 30


@dataclass(frozen=True, kw_only=True)
class InactiveSeatsSummary(AlertPayload):
    total: int
    inactive_days: int
    as_of: datetime | None = None
    seats: tuple[SeatCount, ...] = ()
    pools: int = 0
    monthly_cost: Decimal | None = None
    unpriced: int = 0
    rows: tuple[InactiveRow, ...] = ()
    acted: dict[str, int] = field(default_factory=dict)  # done state -> count since posted


# ---------------------------------------------------------------- seat lifecycle


@dataclass(frozen=True, kw_only=True)
class Deactivated(AlertPayload):
    id: int
    user: str
    name: str
    email: str
    seat: str
    revoked: bool = False
    done: Done | None = None


@dataclass(frozen=True, kw_only=True)
class Extended:
    by: str
    until: date


@dataclass(frozen=True, kw_only=True)
class ExpiringRow:
    id: int
    name: str
    email: str
    user: str | None = None
    seat: str
    ends_on: date
    days_left: int
    done: Extended | None = None


@dataclass(frozen=True, kw_only=True)
class ExpiringDm(ExpiringRow, Payload):
    """expiring_dm and expired_dm: to the holder, or to whoever requested the seat."""

    holder: bool = False


@dataclass(frozen=True, kw_only=True)
class ExpiringSummary(AlertPayload):
    warning_days: int
    rows: tuple[ExpiringRow, ...] = ()
    total: int = 0
    ended: tuple[ExpiringRow, ...] = ()
    as_of: datetime | None = None


# ---------------------------------------------------------------- Genesys Cloud


@dataclass(frozen=True, kw_only=True)
class GenesysStatus(Payload):
    """A reply under the request's card: where provisioning of its seat stands."""

    state: str = ""
    text: str = ""
    email: str = ""


@dataclass(frozen=True, kw_only=True)
class GenesysAlert(AlertPayload):
    kind: str = ""  # waiting | refused | remove-refused
    email: str = ""
    name: str = ""
    seat: str
    message: str = ""
    assignment_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class DriftLine:
    kind: str  # unmanaged | missing | deleted | inactive
    email: str
    name: str = ""
    user_id: str | None = None
    assignment_id: int | None = None
    seat: str = ""
    licenses: tuple[str, ...] = ()
    detail: str = ""
    key: str = ""
    done: Done | None = None


@dataclass(frozen=True, kw_only=True)
class GenesysDrift(AlertPayload):
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    rows: tuple[DriftLine, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ProvisionStep(Payload):
    assignment_id: int


@dataclass(frozen=True, kw_only=True)
class RemoveStep(Payload):
    assignment_id: int
    licenses: tuple[str, ...] | None = None  # None: what the seat maps to


@dataclass(frozen=True, kw_only=True)
class SeatBefore:
    edition: str = ""
    seat_type: str = ""
    modules: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ChangeStep(Payload):
    assignment_id: int
    before: SeatBefore = field(default_factory=SeatBefore)


# ---------------------------------------------------------------- updates


@dataclass(frozen=True, kw_only=True)
class UpdateOf(Payload):
    """An `update` row: re-render the posted message keyed `of` from its current data."""

    of: str


@dataclass(frozen=True, kw_only=True)
class HomeRefresh(Payload):
    """A `home` row: publish `user_id`'s App Home, built from the store when delivered
    (bot/delivery/home.py): nothing to carry."""


# ---------------------------------------------------------------- the tables

PAYLOADS: Mapping[MessageKind, type[Payload]] = {
    MessageKind.REQUEST_CARD: RequestCard,
    MessageKind.DECISION_REPLY: DecisionPayload,
    MessageKind.DECISION_DM: DecisionPayload,
    MessageKind.STAGE_REPLY: StagePayload,
    MessageKind.STAGE_DM: StagePayload,
    MessageKind.DELIVERY_FAILED: DeliveryFailed,
    MessageKind.LIMITS_ALERT: LimitsAlert,
    MessageKind.LIMITS_SUMMARY: LimitsSummary,
    MessageKind.TRIAL_ALERT: TrialAlert,
    MessageKind.REQUEST_NUDGE: RequestNudge,
    MessageKind.DIGEST: Digest,
    MessageKind.GENESYS_STATUS: GenesysStatus,
    MessageKind.GENESYS_ALERT: GenesysAlert,
    MessageKind.GENESYS_DRIFT: GenesysDrift,
    MessageKind.INACTIVE_SUMMARY: InactiveSeatsSummary,
    MessageKind.INACTIVE_DM: InactiveDm,
    MessageKind.DEACTIVATED_ALERT: Deactivated,
    MessageKind.EXPIRING_DM: ExpiringDm,
    MessageKind.EXPIRED_DM: ExpiringDm,
    MessageKind.EXPIRING_SUMMARY: ExpiringSummary,
    MessageKind.REQUEST_ESCALATION: RequestEscalation,
}

STEPS: Mapping[GenesysStep, type[Payload]] = {
    GenesysStep.PROVISION: ProvisionStep,
    GenesysStep.REMOVE: RemoveStep,
    GenesysStep.CHANGE: ChangeStep,
}


class UnknownKind(LookupError):
    """A stored template that names no kind: a clear failure, never a silent skip."""


def message_kind(name: str) -> MessageKind:
    try:
        return MessageKind(name)
    except ValueError:
        raise UnknownKind(f"no outbox message kind {name!r}") from None


def genesys_step(name: str) -> GenesysStep:
    try:
        return GenesysStep(name)
    except ValueError:
        raise UnknownKind(f"no Genesys step {name!r}") from None


def payload_class(kind: MessageKind | str) -> type[Payload]:
    return PAYLOADS[message_kind(kind)]


def check(kind: MessageKind | str, payload: Payload) -> None:
    """Raise TypeError unless `payload` is the payload of `kind`."""
    expected = payload_class(kind)
    if not isinstance(payload, expected):
        raise TypeError(
            f"a {kind} message takes a {expected.__name__}, not {type(payload).__name__}"
        )


def row_class(target: str, template: str) -> type[Payload]:
    """The payload class an outbox row of this target and template carries: by its target
    (`update`, `home`, `genesys`), else by its message kind. UnknownKind otherwise."""
    if target == "update":
        return UpdateOf
    if target == "home":
        return HomeRefresh
    if target == "genesys":
        return STEPS[genesys_step(template)]
    return payload_class(template)


def check_row(target: str, template: str, payload: Payload) -> None:
    """Raise (TypeError, UnknownKind) unless `payload` is what a row of this target and
    template carries."""
    expected = row_class(target, template)
    if not isinstance(payload, expected):
        raise TypeError(
            f"a {target} row of {template} takes a {expected.__name__}, "
            f"not {type(payload).__name__}"
        )


def decode_message(kind: MessageKind | str, data: Mapping[str, Any]) -> Payload:
    """The payload of a stored message of `kind` (old dict shapes included)."""
    return from_json(payload_class(kind), data)


def decode_row(target: str, template: str, data: Mapping[str, Any]) -> Payload:
    """A stored outbox row's payload (old dict shapes included)."""
    return from_json(row_class(target, template), data)


def encode(payload: Payload) -> dict[str, Any]:
    return to_json(payload)


def resolved(payload: Payload, text: str, at: datetime) -> AlertPayload:
    """The alert's payload, resolved (its message says so once updated)."""
    if not isinstance(payload, AlertPayload):
        raise TypeError(f"{type(payload).__name__} is not an alert's payload")
    return dataclasses.replace(payload, resolved=Resolved(at=at, text=text))


__all__ = [
    "PAYLOADS",
    "STEPS",
    "AlertPayload",
    "ChangeStep",
    "DecisionPayload",
    "Deactivated",
    "DeliveryFailed",
    "Digest",
    "DigestPool",
    "Done",
    "DriftLine",
    "ExpiringDm",
    "ExpiringRow",
    "ExpiringSummary",
    "Extended",
    "FailedItem",
    "GenesysAlert",
    "GenesysDrift",
    "GenesysStatus",
    "GenesysStep",
    "HomeRefresh",
    "InactiveDm",
    "InactiveRow",
    "InactiveSeatsSummary",
    "LimitsAlert",
    "LimitsLine",
    "LimitsSummary",
    "MessageKind",
    "ModuleAdoption",
    "Payload",
    "PayloadError",
    "PoolOverage",
    "PoolUsage",
    "ProvisionStep",
    "RemoveStep",
    "RequestCard",
    "RequestEscalation",
    "RequestNudge",
    "Resolved",
    "SeatBefore",
    "SeatCount",
    "StagePayload",
    "TrialAlert",
    "UnknownKind",
    "UpdateOf",
]
