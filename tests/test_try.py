"""`licensebot try`: the whole bot in a terminal, driven through standard input.

The story test runs the real console script as a process, as a person or a script would;
the session tests drive the same session in-process (faster) for the forms, the App
Home and the edges; the renderer tests cover every Block Kit block and element.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models import blocks as sdk_blocks

from bot.tryout import cast
from bot.tryout.render import Renderer
from bot.tryout.session import TrySession, relative
from bot.tryout.slack import Entry

STORY = """\
/license request @nina agent premium dept:Support Starting Monday
as ada
reply 1 approve
/license pool
jobs run inactive --as-of +40d
press 3
yes
/license pool
quit
"""


def try_env(home: Path) -> dict[str, str]:
    """Nothing of Slack, Genesys or a database: what a fresh machine has."""
    keep = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["HOME"] = str(home)
    return env


def run_try(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "try", *args],
        input=script,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,  # no .env here
        env=try_env(tmp_path),
        timeout=120,
    )


def section(output: str, command: str) -> str:
    """What was printed after the echoed command line `command`, up to the next one."""
    lines = output.splitlines()
    start = next(
        i for i, line in enumerate(lines) if re.fullmatch(rf"\w+> {re.escape(command)}", line)
    )
    end = next(
        (i for i in range(start + 1, len(lines)) if re.match(r"^\w+> ", lines[i])), len(lines)
    )
    return "\n".join(lines[start + 1 : end])


def test_a_whole_story_through_standard_input(tmp_path: Path) -> None:
    done = run_try(tmp_path, STORY)
    out = done.stdout
    assert done.returncode == 0, done.stderr + out
    assert "Traceback" not in done.stderr

    # Started with nothing set: the stand-in, a temporary database, pools, the cast.
    assert "stand-in for Slack at http://127.0.0.1:" in out
    assert "(temporary: gone when you quit)" in out
    assert "premium agent 10" in out
    assert "You are maya (support manager)" in out

    filed = section(out, "/license request @nina agent premium dept:Support Starting Monday")
    assert "── message 1 · #license-approvals ──" in filed
    assert "=== Seat request #1 ===" in filed
    assert "New hire: @nina · Nina Novak (nina@example.com)" in filed
    assert "Requested by: @maya" in filed
    assert "premium agent 0/10 → 1/10" in filed
    assert "[1 Approve]  [2 Deny]" in filed
    assert "only maya sees this" in filed and "Filed request #1" in filed

    approved = section(out, "reply 1 approve")
    assert "thread of message 1 · from ada" in approved  # what ada typed, in the thread
    assert "── message 1 updated · #license-approvals ──" in approved
    assert "Approved by @ada" in approved
    assert "[1 Approve]" not in approved  # a decided card has no buttons
    assert "DM to maya" in approved and "was approved by @ada" in approved

    pools = out.split("ada> /license pool\n")
    assert "premium agent `1/10`" in pools[1]

    alert = section(out, "jobs run inactive --as-of +40d")
    assert "(the clock now reads" in alert
    posted = re.search(r"── message (\d+) · #license-alerts ──", alert)
    assert posted is not None, alert
    nina_row = next(line for line in alert.splitlines() if "Nina Novak (nina@example.com)" in line)
    assert "40 days idle" in nina_row
    assert "[3 Reclaim]  [4 Keep]" in alert
    assert "DM to nina" in alert and "[5 Keep]  [6 Release]" in alert

    reclaimed = section(out, "press 3")
    assert "Reclaim this seat?" in reclaimed  # the button's confirm dialog, answered yes
    assert f"── message {posted.group(1)} updated · #license-alerts ──" in reclaimed
    assert "Reclaimed by @ada" in reclaimed
    assert "[3 Reclaim]" not in reclaimed
    assert "Reclaimed the premium agent seat of Nina Novak" in reclaimed

    assert "premium agent `0/10`" in pools[2]  # the seat is back in the pool
    assert '{"type"' not in out and "'type':" not in out  # never raw Block Kit


def test_end_of_input_inside_a_form_ends_the_session_with_0(tmp_path: Path) -> None:
    done = run_try(tmp_path, "/license request\nnina\n", "--as", "maya")
    assert done.returncode == 0, done.stderr
    assert "── form: Request a seat ──" in done.stdout
    assert "New hire (if in Slack) [optional, @name]: nina" in done.stdout


def test_unknown_person_for_as_is_refused(tmp_path: Path) -> None:
    done = run_try(tmp_path, "", "--as", "zed")
    assert done.returncode == 2
    assert "nobody by that name" in done.stderr


# --- in-process sessions -----------------------------------------------------------


class ScriptReader:
    """Standard input from a list of lines (then end of input)."""

    interactive = False

    def __init__(self, lines: list[str]) -> None:
        self.lines = list(lines)

    async def read(self, prompt: str) -> str | None:
        return self.lines.pop(0) if self.lines else None


async def session(tmp_path: Path, lines: list[str], who: str = "maya") -> tuple[int, str]:
    out = io.StringIO()
    member = cast.by_name(who)
    assert member is not None
    tried = TrySession(
        ScriptReader(lines),  # type: ignore[arg-type]
        out,
        start_as=member,
        database=str(tmp_path / "try.db"),
    )
    await tried.start()
    try:
        code = await tried.run()
    finally:
        await tried.close()
    return code, out.getvalue()


async def test_the_request_form_is_asked_field_by_field_and_filed(tmp_path: Path) -> None:
    code, out = await session(
        tmp_path,
        [
            "/license request",
            "@nina",
            "",
            "",
            "",  # seat type is required: asked again
            "1",
            "premium",
            "wfo",
            "Support",
            "2026-12-07",
            "",  # last day: not a time-bound seat
            "Starting Monday",
        ],
    )
    assert code == 0
    assert "── form: Request a seat ──" in out
    assert "this field is required" in out
    assert "[File request]" in out
    assert "=== Seat request #1 ===" in out
    assert "Modules: +wfo" in out
    assert "Start date: 2026-12-07" in out
    assert "DM to maya" in out and "Filed request #1" in out


async def test_a_form_error_from_the_bot_asks_again_keeping_the_answers(tmp_path: Path) -> None:
    # Neither a Slack user nor an email: the bot answers response_action=errors.
    first = ["", "Lee", "", "", "1", "1", "", "", "", "", ""]
    again = ["", "", "lee@example.com", "", "", "", "", "", "", ""]
    code, out = await session(tmp_path, ["/license request", *first, *again])
    assert code == 0
    assert "── form: Request a seat, again ──" in out
    assert "? pick the new hire, or give their name and email below" in out
    assert "Name (if not in Slack yet) [optional, Enter keeps Lee]" in out
    assert "Seat type [a number, Enter keeps agent · Agent]" in out
    assert "=== Seat request #1 ===" in out
    assert "Lee (lee@example.com)" in out


async def test_deny_opens_its_form_and_the_decision_reaches_everyone(tmp_path: Path) -> None:
    code, out = await session(
        tmp_path,
        [
            "/license request @omar agent standard dept:Sales",
            "as grace",
            "2",  # Deny, by its number alone
            "Not in this quarter's budget",
        ],
    )
    assert code == 0
    assert "── form: Deny request #1 ──" in out
    assert "Denied by @grace" in out
    assert "Reason: Not in this quarter's budget" in out
    assert "DM to maya" in out


async def test_home_shows_the_admin_view_with_buttons_that_work(tmp_path: Path) -> None:
    code, out = await session(
        tmp_path,
        ["/license request @nina agent premium", "as ada", "home", "press 4"],
    )
    assert code == 0
    home = out.split("ada> home", 1)[1].split("ada> press 4", 1)[0]
    assert "── App Home of ada ──" in home
    assert "=== Pending requests (1) ===" in home
    assert "[4 Approve]" in home  # 1-2 on the card, 3 New request, 4-5 the pending row
    pressed = out.split("ada> press 4", 1)[1]
    assert "── message 1 updated · #license-approvals ──" in pressed
    assert "Approved by @ada" in pressed
    assert "DM to maya" in pressed
    assert "(your App Home changed: type `home` to see it)" in pressed


async def test_a_report_is_uploaded_as_a_file_in_the_dm(tmp_path: Path) -> None:
    code, out = await session(tmp_path, ["/license report status"], who="ada")
    assert code == 0
    assert "DM to ada" in out
    assert re.search(
        r"📎 licensebot status report \(licensebot-status-\S+\.csv, [\d,]+ bytes\)", out
    )


async def test_mistakes_are_told_and_change_nothing(tmp_path: Path) -> None:
    code, out = await session(
        tmp_path,
        [
            "frobnicate",
            "/giphy cats",
            "as zed",
            "press 99",
            "reply 42 approve",
            "jobs run nonsense",
            "jobs run --as-of yesterday",
            "jobs run --as-of 2001-01-01T00:00",
            "/license request @omar agent standard +wfo",
            "/license pool",
            "help",
        ],
    )
    assert code == 0
    assert "`frobnicate` is not a command here" in out
    assert "only /license is installed" in out
    assert "nobody called `zed` here" in out
    assert "no button 99" in out
    assert "no message 42" in out
    assert "unknown job `nonsense`" in out
    assert "is not a time" in out
    assert "the clock only moves forward" in out
    # A command the parser refuses is answered in the ack itself: shown only to maya.
    assert "+wfo is not included in the standard edition" in out
    assert "only license admins can use `/license pool`" in out
    assert "reply <n> <text>" in out


async def test_a_button_gone_from_an_updated_message_is_not_pressed(tmp_path: Path) -> None:
    code, out = await session(
        tmp_path,
        ["/license request @nina agent premium", "as ada", "1", "2", "as maya", "1"],
    )
    assert code == 0
    assert "that button is no longer on message 1" in out
    assert out.count("Approved by @ada") >= 1
    assert "Denied" not in out


async def test_buttons_in_someone_elses_dm_need_that_person(tmp_path: Path) -> None:
    code, out = await session(
        tmp_path,
        [
            "/license request @nina agent premium",
            "as ada",
            "1",
            "jobs run inactive --as-of +31d",
            "5",  # nina's Keep, pressed by ada
            "as nina",
            "5",
        ],
    )
    assert code == 0
    assert "that button is in nina's DM: `as nina` first" in out
    assert "You kept your premium agent seat" in out


async def test_an_existing_database_keeps_its_pools(tmp_path: Path) -> None:
    await session(tmp_path, ["as ada", "/license pool set premium agent 42"])
    code, out = await session(tmp_path, ["/license pool"], who="ada")
    assert code == 0
    assert "pools:" not in out  # nothing seeded the second time
    assert "(LICENSEBOT_DATABASE: what you do here changes it)" in out
    assert "premium agent `0/42`" in out


def test_relative_times() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert relative("+40d", now) == datetime(2027, 1, 10, 9, tzinfo=UTC)
    assert relative("+6h", now) == datetime(2026, 12, 1, 15, tzinfo=UTC)
    assert relative("2027-01-01", now) is None


# --- the renderer ------------------------------------------------------------------


def names(user: str) -> str:
    member = cast.by_name(user)
    return member.name if member else user


def numbered() -> tuple[Renderer, list[tuple[int, dict[str, Any]]], Any]:
    renderer = Renderer(names, lambda c: "#" + cast.CHANNELS.get(c, c))
    pressed: list[tuple[int, dict[str, Any]]] = []

    def number(element: dict[str, Any], block_id: str) -> int:
        pressed.append((len(pressed) + 1, element))
        return len(pressed)

    return renderer, pressed, number


def text(kind: str, value: str) -> dict[str, Any]:
    return {"type": kind, "text": value}


def button(label: str, action: str, **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": text("plain_text", label), "action_id": action, **extra}


def test_mrkdwn_reads_as_plain_text() -> None:
    renderer, _, _ = numbered()
    shown = renderer.mrkdwn(
        "*Approved* by <@U0ADA> for <@U0NINA|nina> in <#C0ALERTS> and <#C9|other>: "
        "<!here> <!subteam^S0FIN|@finance> <https://example.com|the docs> <https://x.test> "
        "<mailto:a@example.com|a@example.com> _soon_ `code` a &lt;b&gt; &amp; c "
        ":white_check_mark: :no_such_emoji: *\u200bx*\u200b "
        "<!date^1767225600^{date_num} {time}|Jan 1>"
    )
    assert shown == (
        "Approved by @ada for @nina in #license-alerts and #other: @here @finance "
        "the docs (https://example.com) https://x.test a@example.com soon `code` a <b> & c "
        "✅ :no_such_emoji: *x* 2026-01-01 00:00"
    )


def test_color_marks_bold_and_button_styles() -> None:
    renderer = Renderer(color=True)
    assert renderer.mrkdwn("*x*") == "\033[1mx\033[0m"
    shown = renderer.element(button("Deny", "d", style="danger"), "b", lambda e, b: 7)
    assert shown == "\033[31m[7 Deny]\033[0m"


def test_section_text_fields_and_accessory() -> None:
    renderer, pressed, number = numbered()
    lines = renderer.block(
        {
            "type": "section",
            "block_id": "s",
            "text": text("mrkdwn", "Seat *request*"),
            "fields": [
                text("mrkdwn", "*New hire*\n<@U0NINA>"),
                text("mrkdwn", "*Seat*\nAgent"),
                text("plain_text", "plain"),
            ],
            "accessory": button("Open", "open", value="1"),
        },
        number,
    )
    assert lines == ["Seat request", "New hire: @nina   Seat: Agent", "plain   [1 Open]"]
    assert pressed[0][1]["action_id"] == "open"


def test_section_with_long_fields_and_an_image_accessory() -> None:
    renderer, _, number = numbered()
    long = "x" * 50
    lines = renderer.block(
        {
            "type": "section",
            "fields": [text("mrkdwn", long), text("mrkdwn", "*Impact*\none\ntwo")],
            "accessory": {"type": "image", "image_url": "https://i", "alt_text": "logo"},
        },
        number,
    )
    assert lines == [long, "Impact: one", "    two", "[image: logo]"]


def test_header_divider_context_image_and_markdown() -> None:
    renderer, _, number = numbered()
    assert renderer.block({"type": "header", "text": text("plain_text", "Pools")}, number) == [
        "=== Pools ==="
    ]
    assert renderer.block({"type": "divider"}, number) == ["─" * 40]
    context = {
        "type": "context",
        "elements": [
            text("mrkdwn", "by <@U0ADA>"),
            {"type": "image", "image_url": "https://i", "alt_text": "clock"},
            text("plain_text", ":bell: now"),
        ],
    }
    assert renderer.block(context, number) == ["by @ada  [image: clock]  🔔 now"]
    image = {"type": "image", "image_url": "https://i", "alt_text": "a chart"}
    assert renderer.block(image, number) == ["[image: a chart]"]
    assert renderer.block({"type": "markdown", "text": "**hi**\nthere"}, number) == [
        "**hi**",
        "there",
    ]
    assert renderer.block({"type": "file", "external_id": "X1", "source": "remote"}, number) == [
        "[file: X1]"
    ]
    video = {"type": "video", "title": text("plain_text", "Tour"), "video_url": "https://v"}
    assert renderer.block(video, number) == ["[video: Tour]"]


def test_actions_number_every_interactive_element() -> None:
    renderer, pressed, number = numbered()
    option = {"text": text("plain_text", "Agent"), "value": "agent"}
    lines = renderer.block(
        {
            "type": "actions",
            "block_id": "a",
            "elements": [
                button("Approve", "approve", value="1", style="primary"),
                button("Docs", "docs", url="https://example.com"),
                {
                    "type": "static_select",
                    "action_id": "seat",
                    "placeholder": text("plain_text", "Seat type"),
                    "options": [option],
                },
                {
                    "type": "static_select",
                    "action_id": "s2",
                    "options": [option],
                    "initial_option": option,
                },
                {"type": "overflow", "action_id": "more", "options": [option]},
                {"type": "datepicker", "action_id": "day", "initial_date": "2026-12-07"},
                {"type": "users_select", "action_id": "who", "initial_user": "U0NINA"},
                {"type": "checkboxes", "action_id": "c", "options": [option]},
                {"type": "mystery_widget", "action_id": "m"},
            ],
        },
        number,
    )
    assert lines == [
        "[1 Approve]  [2 Docs ↗ https://example.com]  [3 Seat type ▾]  [4 Agent ▾]  "
        "[5 ⋯ Agent]  [6 📅 2026-12-07]  [7 @nina ▾]  [8 Agent]  [mystery_widget element]"
    ]
    assert [e["action_id"] for _, e in pressed] == [
        "approve",
        "docs",
        "seat",
        "s2",
        "more",
        "day",
        "who",
        "c",
    ]


def test_inputs_show_their_label_and_kind() -> None:
    renderer, _, number = numbered()
    block = {
        "type": "input",
        "block_id": "reason",
        "label": text("plain_text", "Reason"),
        "optional": True,
        "hint": text("plain_text", "Sent to the requester"),
        "element": {"type": "plain_text_input", "action_id": "value", "multiline": True},
    }
    assert renderer.block(block, number) == [
        "Reason (optional): [text]",
        "  Sent to the requester",
    ]
    upload = {
        "type": "input",
        "label": text("plain_text", "CSV"),
        "element": {"type": "file_input", "action_id": "f", "filetypes": ["csv"]},
    }
    assert renderer.block(upload, number) == ["CSV: [file upload: csv]"]


def test_rich_text() -> None:
    renderer, _, number = numbered()
    block = {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "text", "text": "Hi "},
                    {"type": "user", "user_id": "U0NINA"},
                    {"type": "text", "text": " see "},
                    {"type": "link", "url": "https://x.test", "text": "this"},
                    {"type": "emoji", "name": "tada"},
                ],
            },
            {
                "type": "rich_text_list",
                "style": "bullet",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": "one"}]}
                ],
            },
            {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "code"}]},
            {"type": "rich_text_quote", "elements": [{"type": "text", "text": "quoted"}]},
        ],
    }
    assert renderer.block(block, number) == [
        "Hi @nina see this (https://x.test)🎉",
        "• one",
        "    code",
        "> quoted",
    ]


def test_a_message_without_blocks_shows_its_text() -> None:
    renderer, _, number = numbered()
    assert renderer.message("Hello <@U0ADA>\nbye", [], number) == ["Hello @ada", "bye"]


def test_every_block_type_slack_sdk_knows_renders_without_json() -> None:
    """A block type the bot starts using later still shows as text, never as JSON."""
    renderer, _, number = numbered()
    kinds = {
        getattr(cls, "type", None)
        for cls in vars(sdk_blocks).values()
        if isinstance(cls, type) and issubclass(cls, sdk_blocks.Block)
    }
    kinds = {k for k in kinds if isinstance(k, str)} | {"brand_new_block"}
    assert {"section", "actions", "context", "header", "divider", "input"} <= kinds
    for kind in sorted(kinds):
        lines = renderer.block({"type": kind, "block_id": "b"}, number)
        shown = "\n".join(lines)
        assert "{" not in shown and len(lines) <= 1, (kind, lines)
    assert renderer.block({"type": "brand_new_block"}, number) == ["[brand_new_block block]"]


async def test_deactivating_someone_reaches_the_bot_as_slack_would_say_it(tmp_path: Path) -> None:
    code, out = await session(tmp_path, ["deactivate nina", "deactivate nina", "deactivate zed"])
    assert code == 0
    assert "(Slack deactivated nina's account)" in out
    assert "nina is deactivated already" in out
    assert "nobody called `zed` here" in out


def test_a_bold_label_over_its_value_reads_as_label_colon_value() -> None:
    renderer, _, number = numbered()
    block = {"type": "section", "text": text("mrkdwn", "*Pool impact*\none → two\nthree")}
    assert renderer.block(block, number) == ["Pool impact: one → two", "    three"]
    plain = {"type": "section", "text": text("plain_text", "*Pool impact*\none")}
    assert renderer.block(plain, number) == ["*Pool impact*", "one"]


async def test_settling_waits_for_the_work_a_request_started() -> None:
    import asyncio

    from bot.tryout.session import install_work_tracking, settled

    untrack = install_work_tracking(asyncio.get_running_loop())
    done: list[str] = []
    forever = asyncio.Event()

    async def later(name: str, then: bool) -> None:
        await asyncio.sleep(0)
        if then:  # work started by work: waited for too
            asyncio.get_running_loop().create_task(later("grandchild", False))
        done.append(name)

    async def request() -> str:
        asyncio.get_running_loop().create_task(later("child", True))
        return "acked"

    async def background() -> None:
        await forever.wait()

    try:
        assert await settled(request()) == "acked"
        assert sorted(done) == ["child", "grandchild"]

        async def starts_a_loop() -> None:
            asyncio.get_running_loop().create_task(background())

        await settled(starts_a_loop(), limit=0.05)  # does not hang on a task that never ends
    finally:
        forever.set()
        untrack()


async def test_a_paged_answer_turns_its_page_in_place(tmp_path: Path) -> None:
    """Next on an ephemeral answer: the bot replaces it through its response_url."""
    assigns = [f"/license assign lee{i}@example.com agent standard" for i in range(25)]
    grow = "/license pool set standard agent 50"
    code, out = await session(tmp_path, [grow, *assigns, "/license audit", "1"], who="ada")
    assert code == 0
    audit = out.split("ada> /license audit", 1)[1]
    posted = re.search(r"── message (\d+) · #general · only ada sees this ──", audit)
    assert posted is not None
    assert "Audit log — 1–30 of 32" in audit and "[1 Next 2]" in audit
    turned = audit.split("ada> 1", 1)[1]
    assert f"── message {posted.group(1)} updated · #general · only ada sees this ──" in turned
    assert "Audit log — 31–32 of 32" in turned
    assert "Previous]" in turned


async def test_new_request_from_the_app_home_opens_the_form(tmp_path: Path) -> None:
    code, out = await session(
        tmp_path,
        ["home", "1", "@omar", "", "", "2", "2", "", "Sales", "", "", ""],
    )
    assert code == 0
    assert "── App Home of maya ──" in out and "[1 New request]" in out
    assert "── form: Request a seat ──" in out
    assert "=== Seat request #1 ===" in out and "Seat: Supervisor · Standard" in out


# --- the stand-in for Slack, through the real Web API client -------------------------


async def test_the_stand_in_answers_the_web_api_as_slack_does() -> None:
    import aiohttp
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.tryout.slack import StandInSlack

    slack = StandInSlack()
    await slack.start()
    client = AsyncWebClient(token="xoxb-try", base_url=slack.api_url)
    try:
        auth = await client.auth_test()
        assert auth["user_id"] == cast.BOT_USER_ID and auth["team_id"] == cast.TEAM_ID

        card = await client.chat_postMessage(
            channel=cast.APPROVALS,
            text="card",
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*card*"}}],
            metadata={"event_type": "outbox", "event_payload": {"id": 7}},
        )
        reply = await client.chat_postMessage(
            channel=cast.APPROVALS, text="in thread", thread_ts=card["ts"]
        )
        assert float(reply["ts"]) > float(card["ts"])
        await client.chat_update(channel=cast.APPROVALS, ts=card["ts"], text="card, decided")
        history = await client.conversations_history(
            channel=cast.APPROVALS, include_all_metadata=True
        )
        assert [m["text"] for m in history["messages"]] == ["card, decided"]  # no replies
        assert history["messages"][0]["metadata"]["event_payload"] == {"id": 7}
        replies = await client.conversations_replies(channel=cast.APPROVALS, ts=card["ts"])
        assert [m["text"] for m in replies["messages"]] == ["card, decided", "in thread"]

        opened = await client.conversations_open(users="U0NINA")
        await client.chat_postMessage(channel=opened["channel"]["id"], text="hi nina")
        assert slack.channel_label(opened["channel"]["id"]) == "DM with nina"
        await client.chat_postEphemeral(channel=cast.GENERAL, user="U0ADA", text="psst")

        found = await client.users_lookupByEmail(email="nina@example.com")
        assert found["user"]["id"] == "U0NINA"
        info = await client.users_info(user="U0ADA")
        assert info["user"]["profile"]["email"] == "ada@example.com"
        group = await client.usergroups_users_list(usergroup=cast.FINANCE_GROUP)
        assert group["users"] == ["U0FINN"]

        trigger = slack.new_trigger("U0MAYA")
        view = {"type": "modal", "title": {"type": "plain_text", "text": "Form"}, "blocks": []}
        modal = await client.views_open(trigger_id=trigger, view=view)
        assert slack.open_modal("U0MAYA") is slack.views[modal["view"]["id"]]
        home = {"type": "home", "blocks": []}
        await client.views_publish(user_id="U0MAYA", view=home)
        assert slack.homes["U0MAYA"].view == home

        uploaded = await client.files_upload_v2(
            channel=opened["channel"]["id"], filename="r.csv", content=b"a,b\n", title="Report"
        )
        assert uploaded["files"][0]["name"] == "r.csv"
        assert slack.files[uploaded["files"][0]["id"]].content == b"a,b\n"

        for call, code in (
            (client.chat_postMessage(channel="C0NOPE!", text="x"), "channel_not_found"),
            (client.chat_update(channel=cast.APPROVALS, ts="1.2", text="x"), "message_not_found"),
            (client.views_open(trigger_id="stale", view=view), "invalid_trigger_id"),
            (client.users_lookupByEmail(email="zed@example.com"), "users_not_found"),
            (client.api_call("chat.scheduleMessage"), "unknown_method"),
        ):
            with pytest.raises(SlackApiError) as raised:
                await call
            assert raised.value.response["error"] == code
        assert slack.entries[-1].kind == "note" and "chat.scheduleMessage" in slack.entries[-1].note

        url = slack.response_url("U0MAYA", cast.GENERAL)
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json={"text": "only you", "response_type": "ephemeral"}) as answered,
        ):
            assert answered.status == 200
        posted = slack.entries[-1].message
        assert posted is not None and posted.visible_to == "U0MAYA" and posted.text == "only you"

        anonymous = AsyncWebClient(base_url=slack.api_url)
        with pytest.raises(SlackApiError) as raised:
            await anonymous.chat_postMessage(channel=cast.GENERAL, text="x")
        assert raised.value.response["error"] == "not_authed"
    finally:
        await slack.stop()


async def test_menus_in_a_message_ask_for_their_value_and_reach_the_app(tmp_path: Path) -> None:
    """A select or date picker a later message may carry: pressed with an answer, Bolt
    gets the block_actions Slack would send (selected_option, selected_date)."""
    from bot.tryout.slack import Posted

    member = cast.by_name("ada")
    assert member is not None
    out = io.StringIO()
    tried = TrySession(
        ScriptReader(["press 1 2", "press 2", "2026-12-24"]),  # type: ignore[arg-type]
        out,
        start_as=member,
        database=str(tmp_path / "try.db"),
    )
    await tried.start()
    seen: list[dict[str, Any]] = []
    try:
        assert tried.service is not None

        @tried.service.app.action(re.compile("^(pick|day)$"))
        async def record(ack: Any, body: dict[str, Any]) -> None:
            await ack()
            seen.append(body)

        options = [
            {"text": {"type": "plain_text", "text": name}, "value": name}
            for name in ("agent", "supervisor")
        ]
        menu = Posted(
            cast.ALERTS,
            tried.slack.new_ts(),
            text="choose",
            blocks=[
                {
                    "type": "actions",
                    "block_id": "menu",
                    "elements": [
                        {"type": "static_select", "action_id": "pick", "options": options},
                        {"type": "datepicker", "action_id": "day"},
                    ],
                }
            ],
        )
        tried.slack.messages[(menu.channel, menu.ts)] = menu
        tried.slack.entries.append(Entry("post", message=menu))
        await tried.show_new()
        code = await tried.run()
    finally:
        await tried.close()
    assert code == 0
    assert "[1 choose ▾]  [2 📅 YYYY-MM-DD]" in out.getvalue()
    picked, dated = (body["actions"][0] for body in seen)
    assert picked["selected_option"]["value"] == "supervisor"
    assert picked["block_id"] == "menu"
    assert dated["selected_date"] == "2026-12-24"
    assert seen[0]["container"]["channel_id"] == cast.ALERTS
    assert seen[0]["message"]["ts"] == menu.ts
