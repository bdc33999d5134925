"""Modals: the seat request form and the deny reason."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    DatePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.licensing.catalog import Catalog

REQUEST_MODAL = "license_request"
DENY_MODAL = "deny_reason"
FIELD = "value"  # the action_id of every input in our modals


def _options(names: dict[str, str], prefix: str = "") -> list[Option]:
    return [
        Option(text=f"{prefix}{name} · {label}"[:75], value=name) for name, label in names.items()
    ][:100]


def request_modal(catalog: Catalog) -> View:
    modules = {name: label for name, label in catalog.modules.items()}
    editions = {
        e.name: f"{e.label} ({', '.join(sorted(e.modules)) or 'no modules'})"
        for e in catalog.editions.values()
    }
    return View(
        type="modal",
        callback_id=REQUEST_MODAL,
        title="Request a seat",
        submit="File request",
        close="Cancel",
        blocks=[
            InputBlock(
                block_id="hire_user",
                label="New hire (if in Slack)",
                optional=True,
                element=UserSelectElement(action_id=FIELD),
            ),
            InputBlock(
                block_id="hire_name",
                label="Name (if not in Slack yet)",
                optional=True,
                element=PlainTextInputElement(action_id=FIELD, max_length=200),
            ),
            InputBlock(
                block_id="hire_email",
                label="Email (if not in Slack yet)",
                optional=True,
                element=PlainTextInputElement(action_id=FIELD, max_length=254),
            ),
            InputBlock(
                block_id="seat_type",
                label="Seat type",
                element=StaticSelectElement(action_id=FIELD, options=_options(catalog.seat_types)),
            ),
            InputBlock(
                block_id="edition",
                label="Edition",
                element=StaticSelectElement(action_id=FIELD, options=_options(editions)),
            ),
            InputBlock(
                block_id="modules",
                label="Add-on modules",
                optional=True,
                element=StaticMultiSelectElement(action_id=FIELD, options=_options(modules, "+")),
            ),
            InputBlock(
                block_id="department",
                label="Department",
                optional=True,
                hint="Letters and digits only: Support gives Support_Agent_LicenseGroup",
                element=PlainTextInputElement(action_id=FIELD, max_length=40),
            ),
            InputBlock(
                block_id="start_date",
                label="Start date",
                optional=True,
                element=DatePickerElement(action_id=FIELD),
            ),
            InputBlock(
                block_id="until_date",
                label="Last day (time-bound seat)",
                optional=True,
                hint="Seasonal staff, contractors: the seat is revoked the day after.",
                element=DatePickerElement(action_id=FIELD),
            ),
            InputBlock(
                block_id="reason",
                label="Reason",
                optional=True,
                element=PlainTextInputElement(action_id=FIELD, multiline=True, max_length=1000),
            ),
        ],
    )


def deny_modal(request_id: int) -> View:
    return View(
        type="modal",
        callback_id=DENY_MODAL,
        title=f"Deny request #{request_id}"[:24],
        submit="Deny",
        close="Cancel",
        private_metadata=str(request_id),
        blocks=[
            InputBlock(
                block_id="reason",
                label="Reason (sent to the requester)",
                element=PlainTextInputElement(action_id=FIELD, multiline=True, max_length=500),
            ),
        ],
    )
