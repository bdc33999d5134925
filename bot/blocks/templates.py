"""Outbox templates: a queued message names its template; delivery renders it here.

The table is explicit (TEMPLATES below): the modules that build the messages do not
register themselves, so nothing depends on what happens to have been imported, and
there is no import cycle between this table and them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

from bot.blocks import alerts, genesys, inactive, lifecycle
from bot.blocks.base import Message
from bot.blocks.delivery import delivery_failed_alert
from bot.blocks.requests import decision_dm, decision_reply, stage_dm, stage_reply
from bot.licensing.requests import LicenseRequest

# (request or None, the message's data, time zone) -> the message to post
Renderer = Callable[[LicenseRequest | None, dict, tzinfo], Message]


def _decision_reply(request: LicenseRequest | None, data: dict, tz: tzinfo) -> Message:
    assert request is not None
    return decision_reply(request, data, tz)


def _decision_dm(request: LicenseRequest | None, data: dict, tz: tzinfo) -> Message:
    assert request is not None
    return decision_dm(request, data, tz)


def _stage_reply(request: LicenseRequest | None, data: dict, tz: tzinfo) -> Message:
    assert request is not None
    return stage_reply(request, data, tz)


def _stage_dm(request: LicenseRequest | None, data: dict, tz: tzinfo) -> Message:
    assert request is not None
    return stage_dm(request, data, tz)


TEMPLATES: dict[str, Renderer] = {
    "decision_reply": _decision_reply,
    "decision_dm": _decision_dm,
    "stage_reply": _stage_reply,
    "stage_dm": _stage_dm,
    "delivery_failed": delivery_failed_alert,
    "limits_alert": alerts.limits_alert,
    "limits_summary": alerts.limits_summary,
    "trial_alert": alerts.trial_alert,
    "request_nudge": alerts.request_nudge,
    "digest": alerts.digest,
    "genesys_status": genesys.genesys_status,
    "genesys_alert": genesys.genesys_alert,
    "genesys_drift": genesys.genesys_drift,
    "inactive_summary": inactive.inactive_summary,
    "inactive_dm": inactive.inactive_dm,
    "deactivated_alert": lifecycle.deactivated_alert,
    "expiring_dm": lifecycle.expiring_dm,
    "expired_dm": lifecycle.expired_dm,
    "expiring_summary": lifecycle.expiring_summary,
    "request_escalation": lifecycle.request_escalation,
}


def render(name: str, request: LicenseRequest | None, data: dict, tz: tzinfo) -> Message:
    try:
        renderer = TEMPLATES[name]
    except KeyError:
        raise LookupError(f"no outbox template {name!r}") from None
    return renderer(request, data, tz)
