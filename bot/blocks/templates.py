"""Outbox templates: a queued message names its template; delivery renders it here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

from bot.blocks.base import Message
from bot.blocks.requests import decision_dm, decision_reply, stage_dm, stage_reply
from bot.licensing.requests import LicenseRequest

# (request or None, the message's data, time zone) -> the message to post
Renderer = Callable[[LicenseRequest | None, dict, tzinfo], Message]
TEMPLATES: dict[str, Renderer] = {}


def template(name: str) -> Callable[[Renderer], Renderer]:
    def register(renderer: Renderer) -> Renderer:
        TEMPLATES[name] = renderer
        return renderer

    return register


def render(name: str, request: LicenseRequest | None, data: dict, tz: tzinfo) -> Message:
    try:
        renderer = TEMPLATES[name]
    except KeyError:
        raise LookupError(f"no outbox template {name!r}") from None
    return renderer(request, data, tz)


@template("decision_reply")
def _decision_reply(request: LicenseRequest | None, data: dict, tz: tzinfo) -> Message:
    assert request is not None
    return decision_reply(request, data, tz)


@template("decision_dm")
def _decision_dm(request: LicenseRequest | None, data: dict, tz: tzinfo) -> Message:
    assert request is not None
    return decision_dm(request, data, tz)


@template("stage_reply")
def _stage_reply(request: LicenseRequest | None, data: dict, tz: tzinfo) -> Message:
    assert request is not None
    return stage_reply(request, data, tz)


@template("stage_dm")
def _stage_dm(request: LicenseRequest | None, data: dict, tz: tzinfo) -> Message:
    assert request is not None
    return stage_dm(request, data, tz)
