"""App Home: the admin's dashboard (pools, forecast, pending requests with the card's
buttons, open alerts) and everyone's own requests with a "New request" button."""

from __future__ import annotations

from datetime import datetime, tzinfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    HeaderBlock,
)
from slack_sdk.models.views import View

from bot.blocks.base import clip, context, day, escape, section, when
from bot.blocks.delivery import failed_deliveries_blocks
from bot.blocks.requests import decision_buttons, new_hire, seat_label
from bot.licensing.entities import Assignment, OpenAlert
from bot.licensing.forecast import Forecast
from bot.licensing.policy import Policy, PoolState, utilization_band
from bot.licensing.requests import LicenseRequest, RequestKind, Stage
from bot.licensing.views import FailedDelivery

NEW_REQUEST_ACTION = "home_new_request"
MAX_VIEW_BLOCKS = 100
MAX_POOLS = 30  # one section each
MAX_PENDING = 15  # two blocks each (the request, its buttons)
MAX_ALERTS = 10  # one line each, in one section
MAX_OWN_REQUESTS = 20
BAR_WIDTH = 10


def utilization_bar(pool: PoolState, width: int = BAR_WIDTH) -> str:
    """`██████████░░` style: filled for used seats, `+` past purchased."""
    if pool.purchased == 0:
        return "░" * width + (" +" if pool.used else "")
    filled = min(width, round(width * pool.used / pool.purchased))
    bar = "█" * filled + "░" * (width - filled)
    return bar + (" +" if pool.used > pool.purchased else "")


def grace_status(pool: PoolState, policy: Policy, now: datetime, tz: tzinfo) -> str:
    if not pool.overage:
        return "no overage"
    ends = pool.grace_ends_at(policy)
    if ends is None:
        return f"{pool.overage} over"
    if now < ends:
        return f":warning: {pool.overage} over, grace ends {day(ends, tz)}"
    return f":no_entry: {pool.overage} over, grace ended {day(ends, tz)}: approvals refused"


def pool_block(
    pool: PoolState, forecast: Forecast | None, policy: Policy, now: datetime, tz: tzinfo
) -> Block:
    utilization = f"{pool.utilization:.0%}" if pool.utilization is not None else "—"
    lines = [
        f"*{pool.edition} {pool.item}*  `{utilization_bar(pool)}`  {pool.counts()} · "
        f"{utilization} · {utilization_band(pool, policy).value}",
        grace_status(pool, policy, now, tz),
    ]
    if forecast is not None:
        lines.append(f"Forecast: {forecast.describe()}")
    return section("\n".join(lines))


def lifecycle_note(request: LicenseRequest) -> str:
    """The kind, end date and approval stage of a request (SPEC 9, 10), for its line."""
    note = ""
    if request.kind is not RequestKind.NEW:
        note += f" · *{request.title.lower()}*"
    if request.until_date:
        note += f" · until {request.until_date.isoformat()}"
    if request.stage is Stage.FINANCE:
        note += f" · approved by <@{request.stage_approved_by}> — waiting for finance"
    return note


def pending_blocks(request: LicenseRequest, tz: tzinfo) -> list[Block]:
    text = (
        f"*#{request.id}* {seat_label(request)} for {new_hire(request)} · requested by "
        f"<@{request.requester_id}> · filed {when(request.created_at, tz)}"
        f"{lifecycle_note(request)}"
    )
    if request.reason:
        text += f"\n{clip(escape(request.reason), 300)}"
    return [
        section(text),
        decision_buttons(request.id, f"home_decide:{request.id}"),
    ]


def alert_line(alert: OpenAlert, tz: tzinfo) -> str:
    where = f" in <#{alert.channel}>" if alert.channel else ""
    return clip(f"• {alert.summary} · since {day(alert.opened_at, tz)}{where}", 280)


def _new_request_button() -> ActionsBlock:
    return ActionsBlock(
        block_id="home_new",
        elements=[
            ButtonElement(
                text="New request", action_id=NEW_REQUEST_ACTION, value="new", style="primary"
            )
        ],
    )


def admin_home(
    pools: list[PoolState],
    forecasts: dict[tuple[str, str], Forecast],
    pending: list[LicenseRequest],
    pending_total: int,
    alerts: list[OpenAlert],
    alerts_total: int,
    policy: Policy,
    now: datetime,
    tz: tzinfo,
    ending: list[Assignment] | None = None,
    failed: list[FailedDelivery] | None = None,
    failed_total: int = 0,
) -> View:
    blocks: list[Block] = [HeaderBlock(text="License pools"), _new_request_button()]
    if not pools:
        blocks.append(section("No pools yet: `/license pool set <edition> <item> <seats>`."))
    for pool in pools[:MAX_POOLS]:
        blocks.append(pool_block(pool, forecasts.get((pool.edition, pool.item)), policy, now, tz))
    if len(pools) > MAX_POOLS:
        blocks.append(context(f"and {len(pools) - MAX_POOLS} more — see `/license report status`"))
    blocks += [DividerBlock(), HeaderBlock(text=f"Pending requests ({pending_total})")]
    if not pending:
        blocks.append(section("No pending requests."))
    for request in pending[:MAX_PENDING]:
        blocks += pending_blocks(request, tz)
    if pending_total > len(pending[:MAX_PENDING]):
        more = pending_total - len(pending[:MAX_PENDING])
        blocks.append(context(f"and {more} more — decide them on their cards"))
    if ending:
        lines = [
            f"• {escape(seat.name)} ({escape(seat.email)}) · {seat.seat} · until "
            f"{seat.ends_on.isoformat() if seat.ends_on else '—'}"
            for seat in ending[:MAX_ALERTS]
        ]
        blocks += [
            DividerBlock(),
            HeaderBlock(text="Time-bound seats ending soon"),
            section("\n".join(lines) + "\nMove an end with `/license extend`."),
        ]
    blocks += [DividerBlock(), HeaderBlock(text=f"Open alerts ({alerts_total})")]
    if alerts:
        blocks.append(section("\n".join(alert_line(a, tz) for a in alerts[:MAX_ALERTS])))
        if alerts_total > len(alerts[:MAX_ALERTS]):
            blocks.append(context(f"and {alerts_total - MAX_ALERTS} more in the alerts channel"))
    else:
        blocks.append(section("No open alerts."))
    if failed_total:
        blocks += [DividerBlock(), *failed_deliveries_blocks(failed or [], failed_total, tz)]
    blocks.append(context(f"Updated {when(now, tz)}"))
    return _view(blocks)


def requester_home(
    requests: list[LicenseRequest],
    now: datetime,
    tz: tzinfo,
    finance_pending: list[LicenseRequest] | None = None,
    genesys: dict[int, str] | None = None,  # request id -> its seat's Genesys line
) -> View:
    blocks: list[Block] = []
    if finance_pending is not None:  # a finance-group member (SPEC 10)
        blocks.append(HeaderBlock(text=f"Waiting for finance ({len(finance_pending)})"))
        if not finance_pending:
            blocks.append(section("Nothing waits for a finance approval."))
        for request in finance_pending[:MAX_PENDING]:
            blocks += pending_blocks(request, tz)
        blocks.append(DividerBlock())
    blocks += [
        HeaderBlock(text="Your seat requests"),
        section("Ask for a seat for a new hire; license admins decide and you get a DM."),
        _new_request_button(),
        DividerBlock(),
    ]
    if not requests:
        blocks.append(section("You have no requests yet."))
    for request in requests[:MAX_OWN_REQUESTS]:
        line = (
            f"*#{request.id}* {seat_label(request)} for {escape(request.email)} · "
            f"*{request.status.value}* · filed {day(request.created_at, tz)}"
            f"{lifecycle_note(request)}"
        )
        if request.decided_at:
            line += f" · decided {day(request.decided_at, tz)}"
        if request.decision_reason:
            line += f"\nReason: {clip(escape(request.decision_reason), 300)}"
        if genesys and request.id in genesys:
            line += f"\n{genesys[request.id]}"
        blocks.append(section(line))
    blocks.append(context(f"Updated {when(now, tz)} · `/license requests` lists them too"))
    return _view(blocks)


def _view(blocks: list[Block]) -> View:
    if len(blocks) > MAX_VIEW_BLOCKS:  # the caps above keep this from happening
        blocks = blocks[: MAX_VIEW_BLOCKS - 1] + [context("(truncated)")]
    return View(type="home", blocks=blocks)
