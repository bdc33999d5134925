"""The one rendering path of the outbox: a queued message names its kind
(bot.licensing.messages.MessageKind) and carries that kind's payload; `render` turns it
into the message Slack gets. The deliverer and `licensebot jobs run` (dry runs included)
both go through it.

The table is explicit (TEMPLATES below): the modules that build the messages do not
register themselves, so nothing depends on what happens to have been imported, and
there is no import cycle between this table and them. tests/test_outbox_payloads.py
checks that it covers MessageKind exactly."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import tzinfo
from typing import Any

from bot.blocks import alerts, genesys, inactive, lifecycle
from bot.blocks.base import Message
from bot.blocks.delivery import delivery_failed_alert
from bot.blocks.requests import decision_dm, decision_reply, request_card, stage_dm, stage_reply
from bot.licensing.messages import (
    DecisionPayload,
    MessageKind,
    Payload,
    RequestCard,
    StagePayload,
    check,
    message_kind,
)
from bot.licensing.requests import LicenseRequest

# (request or None, the kind's payload, time zone) -> the message to post. Each renderer
# takes its kind's payload class (bot.licensing.messages.PAYLOADS); `render` checks it.
Renderer = Callable[[LicenseRequest | None, Any, tzinfo], Message]


def _needs(request: LicenseRequest | None, kind: MessageKind) -> LicenseRequest:
    if request is None:
        raise LookupError(f"a {kind} message renders its request, and it has none")
    return request


def _request_card(request: LicenseRequest | None, data: RequestCard, tz: tzinfo) -> Message:
    return request_card(_needs(request, MessageKind.REQUEST_CARD), data.impact, tz)


def _decision_reply(request: LicenseRequest | None, data: DecisionPayload, tz: tzinfo) -> Message:
    return decision_reply(_needs(request, MessageKind.DECISION_REPLY), data, tz)


def _decision_dm(request: LicenseRequest | None, data: DecisionPayload, tz: tzinfo) -> Message:
    return decision_dm(_needs(request, MessageKind.DECISION_DM), data, tz)


def _stage_reply(request: LicenseRequest | None, data: StagePayload, tz: tzinfo) -> Message:
    return stage_reply(_needs(request, MessageKind.STAGE_REPLY), data, tz)


def _stage_dm(request: LicenseRequest | None, data: StagePayload, tz: tzinfo) -> Message:
    return stage_dm(_needs(request, MessageKind.STAGE_DM), data, tz)


TEMPLATES: Mapping[MessageKind, Renderer] = {
    MessageKind.REQUEST_CARD: _request_card,
    MessageKind.DECISION_REPLY: _decision_reply,
    MessageKind.DECISION_DM: _decision_dm,
    MessageKind.STAGE_REPLY: _stage_reply,
    MessageKind.STAGE_DM: _stage_dm,
    MessageKind.DELIVERY_FAILED: delivery_failed_alert,
    MessageKind.LIMITS_ALERT: alerts.limits_alert,
    MessageKind.LIMITS_SUMMARY: alerts.limits_summary,
    MessageKind.TRIAL_ALERT: alerts.trial_alert,
    MessageKind.REQUEST_NUDGE: alerts.request_nudge,
    MessageKind.DIGEST: alerts.digest,
    MessageKind.GENESYS_STATUS: genesys.genesys_status,
    MessageKind.GENESYS_ALERT: genesys.genesys_alert,
    MessageKind.GENESYS_DRIFT: genesys.genesys_drift,
    MessageKind.INACTIVE_SUMMARY: inactive.inactive_summary,
    MessageKind.INACTIVE_DM: inactive.inactive_dm,
    MessageKind.DEACTIVATED_ALERT: lifecycle.deactivated_alert,
    MessageKind.EXPIRING_DM: lifecycle.expiring_dm,
    MessageKind.EXPIRED_DM: lifecycle.expired_dm,
    MessageKind.EXPIRING_SUMMARY: lifecycle.expiring_summary,
    MessageKind.REQUEST_ESCALATION: lifecycle.request_escalation,
}


def render(
    kind: MessageKind | str, request: LicenseRequest | None, payload: Payload, tz: tzinfo
) -> Message:
    """The message of `kind` for `payload` (and the request it is about, if any). An
    unknown kind raises UnknownKind (a LookupError); a payload of another kind, TypeError."""
    known = message_kind(kind)
    try:
        renderer = TEMPLATES[known]
    except KeyError:
        raise LookupError(f"no renderer for outbox message kind {known!r}") from None
    check(known, payload)
    return renderer(request, payload, tz)
