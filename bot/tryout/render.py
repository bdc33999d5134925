"""Block Kit and Slack mrkdwn as text a person reads in a terminal.

`Renderer.blocks()` turns a message's or a view's blocks into lines; every interactive
element (button, select, menu, date picker, ...) gets a number from the `number`
callback, shown as `[3 Approve]`, so the person can press it. A block or element this
module does not know is one line naming it, never raw JSON.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

# (the element, its block's id) -> the number shown for it
Number = Callable[[dict[str, Any], str], int]
Names = Callable[[str], str]

# Elements a person acts on: numbered, and `press` knows how to send them.
INTERACTIVE = frozenset(
    {
        "button",
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
        "overflow",
        "datepicker",
        "timepicker",
        "datetimepicker",
        "checkboxes",
        "radio_buttons",
        "workflow_button",
    }
)

EMOJI: dict[str, str] = {
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "warning": "⚠️",
    "no_entry": "⛔",
    "no_entry_sign": "🚫",
    "x": "❌",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "zzz": "💤",
    "wave": "👋",
    "recycle": "♻️",
    "pushpin": "📌",
    "heavy_multiplication_x": "✖️",
    "heavy_minus_sign": "➖",
    "heavy_plus_sign": "➕",
    "rotating_light": "🚨",
    "page_facing_up": "📄",
    "inbox_tray": "📥",
    "outbox_tray": "📤",
    "calendar": "📆",
    "date": "📅",
    "bell": "🔔",
    "large_orange_circle": "🟠",
    "large_green_circle": "🟢",
    "large_yellow_circle": "🟡",
    "large_blue_circle": "🔵",
    "red_circle": "🔴",
    "white_circle": "⚪",
    "black_circle": "⚫",
    "tada": "🎉",
    "lock": "🔒",
    "key": "🔑",
    "bust_in_silhouette": "👤",
    "busts_in_silhouette": "👥",
    "chart_with_upwards_trend": "📈",
    "chart_with_downwards_trend": "📉",
    "bar_chart": "📊",
    "moneybag": "💰",
    "money_with_wings": "💸",
    "information_source": "ℹ️",
    "memo": "📝",
    "clipboard": "📋",
    "mag": "🔍",
    "gear": "⚙️",
    "eyes": "👀",
    "arrow_right": "➡️",
    "arrows_counterclockwise": "🔄",
    "link": "🔗",
    "thumbsup": "👍",
    "+1": "👍",
    "thumbsdown": "👎",
    "-1": "👎",
    "question": "❓",
    "exclamation": "❗",
    "star": "⭐",
    "sparkles": "✨",
    "fire": "🔥",
    "rocket": "🚀",
    "hammer_and_wrench": "🛠️",
    "wastebasket": "🗑️",
    "door": "🚪",
    "clock9": "🕘",
    "alarm_clock": "⏰",
    "stopwatch": "⏱️",
    "spiral_calendar_pad": "🗓️",
    "email": "📧",
    "envelope": "✉️",
    "speech_balloon": "💬",
    "raised_hand": "✋",
    "man-tipping-hand": "💁",
    "arrow_up": "⬆️",
    "arrow_down": "⬇️",
    "new": "🆕",
}

_ANSI = {"bold": "\033[1m", "italic": "\033[3m", "dim": "\033[2m", "reset": "\033[0m"}
_STYLE_COLOR = {"primary": "\033[32m", "danger": "\033[31m"}

_TOKEN = re.compile(r"<([^<>\n]+)>")
_EMOJI = re.compile(r":([a-z0-9_+\-']+):")
_EDGE = r"[^\s\u200b]"
_BOLD = re.compile(rf"(?<![\w*])\*(?={_EDGE})([^*\n]*?{_EDGE}|{_EDGE})\*(?![\w*])")
_ITALIC = re.compile(rf"(?<![\w_])_(?={_EDGE})([^_\n]*?{_EDGE}|{_EDGE})_(?![\w_])")

_DATE_TOKENS = {
    "date_num": "%Y-%m-%d",
    "date": "%B %-d, %Y",
    "date_short": "%b %-d, %Y",
    "date_long": "%A, %B %-d, %Y",
    "date_long_full": "%A, %B %-d, %Y",
    "date_pretty": "%B %-d, %Y",
    "date_short_pretty": "%b %-d, %Y",
    "date_long_pretty": "%A, %B %-d, %Y",
    "time": "%H:%M",
    "time_secs": "%H:%M:%S",
}


class Renderer:
    """Slack's text and blocks as terminal text.

    `user_name(id)` and `channel_name(id)` give the names mentions are shown with;
    `color` adds ANSI bold, italics and button colours (for a terminal, not a script).
    """

    def __init__(
        self,
        user_name: Names = lambda user: user,
        channel_name: Names = lambda channel: channel,
        *,
        color: bool = False,
        tz: tzinfo = UTC,
    ) -> None:
        self.user_name = user_name
        self.channel_name = channel_name
        self.color = color
        self.tz = tz

    # ------------------------------------------------------------------ text

    def _style(self, text: str, *styles: str) -> str:
        if not self.color or not text:
            return text
        return "".join(_ANSI[s] if s in _ANSI else s for s in styles) + text + _ANSI["reset"]

    def dim(self, text: str) -> str:
        return self._style(text, "dim")

    def bold(self, text: str) -> str:
        return self._style(text, "bold")

    def mrkdwn(self, text: str) -> str:
        """Slack mrkdwn as plain text: mentions by name, dates formatted, links readable."""
        text = _TOKEN.sub(lambda m: self._token(m.group(1)), text)
        text = _BOLD.sub(lambda m: self._style(m.group(1), "bold"), text)
        text = _ITALIC.sub(lambda m: self._style(m.group(1), "italic"), text)
        text = self.emoji(text)
        text = text.replace("\u200b", "")
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def plain(self, text: str) -> str:
        return self.emoji(text).replace("\u200b", "")

    @staticmethod
    def emoji(text: str) -> str:
        return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)

    def _token(self, inner: str) -> str:
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + self.user_name(target[1:])
        if target.startswith("#"):
            return "#" + (label or self.channel_name(target[1:]).lstrip("#"))
        if target.startswith("!"):
            return self._special(target[1:], label)
        if label:
            return f"{label} ({target})" if label != target.removeprefix("mailto:") else label
        return target.removeprefix("mailto:")

    def _special(self, command: str, label: str) -> str:
        if command in ("here", "channel", "everyone"):
            return "@" + command
        if command.startswith("subteam^"):
            return label or "@" + command.split("^", 1)[1]
        if command.startswith("date^"):
            parts = command.split("^")
            try:
                at = datetime.fromtimestamp(int(parts[1]), UTC).astimezone(self.tz)
            except (IndexError, ValueError, OverflowError):
                return label or command
            pattern = parts[2] if len(parts) > 2 else "{date_num}"

            def fill(match: re.Match[str]) -> str:
                fmt = _DATE_TOKENS.get(match.group(1))
                return at.strftime(fmt) if fmt else match.group(0)

            return re.sub(r"\{(\w+)\}", fill, pattern)
        return label or command

    def text_object(self, obj: Any) -> str:
        if isinstance(obj, str):
            return self.mrkdwn(obj)
        if not isinstance(obj, dict):
            return ""
        text = str(obj.get("text") or "")
        return self.mrkdwn(text) if obj.get("type") == "mrkdwn" else self.plain(text)

    # ------------------------------------------------------------------ blocks

    def message(self, text: str, blocks: list[dict[str, Any]] | None, number: Number) -> list[str]:
        """A message: its blocks, or its fallback text when it has none."""
        if blocks:
            return self.blocks(blocks, number)
        return self.mrkdwn(text).splitlines() or [""]

    def blocks(self, blocks: list[dict[str, Any]], number: Number) -> list[str]:
        lines: list[str] = []
        for block in blocks:
            if not isinstance(block, dict):
                continue
            lines += self.block(block, number)
        return lines

    def block(self, block: dict[str, Any], number: Number) -> list[str]:
        kind = str(block.get("type") or "")
        block_id = str(block.get("block_id") or "")
        method = getattr(self, f"_block_{kind}", None)
        if method is None:
            return [self.dim(f"[{kind or 'unknown'} block]")]
        result: list[str] = method(block, block_id, number)
        return result

    def _block_section(self, block: dict[str, Any], block_id: str, number: Number) -> list[str]:
        lines: list[str] = []
        if block.get("text"):
            lines += self._field(block["text"]).splitlines()
        fields = [self._field(f) for f in block.get("fields") or []]
        lines += self._fields(fields)
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            shown = self.element(accessory, block_id, number)
            if shown:
                if lines and accessory.get("type") in INTERACTIVE:
                    lines[-1] = f"{lines[-1]}   {shown}"
                else:
                    lines.append(shown)
        return lines

    def _field(self, field: Any) -> str:
        """A field written as a bold label over its value reads best as `Label: value`."""
        raw = str(field.get("text") or "") if isinstance(field, dict) else str(field)
        label = _LABEL.match(raw)
        if (
            label is None
            or len(label.group(1)) > 40
            or (isinstance(field, dict) and field.get("type") != "mrkdwn")
        ):
            return self.text_object(field)
        value = self.mrkdwn(label.group(2)).replace("\n", "\n    ")
        return f"{self.bold(self.mrkdwn(label.group(1)))}: {value}"

    def _fields(self, fields: list[str]) -> list[str]:
        if not fields:
            return []
        single = all("\n" not in f and len(f) <= 38 for f in fields)
        if not single:
            lines: list[str] = []
            for f in fields:
                lines += f.splitlines()
            return lines
        width = max(len(_visible(f)) for f in fields[0::2])
        rows = []
        for i in range(0, len(fields), 2):
            left = fields[i]
            right = fields[i + 1] if i + 1 < len(fields) else ""
            pad = " " * (width - len(_visible(left)))
            rows.append(f"{left}{pad}   {right}".rstrip() if right else left)
        return rows

    def _block_header(self, block: dict[str, Any], block_id: str, number: Number) -> list[str]:
        text = self.text_object(block.get("text"))
        return [self.bold(text) if self.color else f"=== {text} ==="]

    def _block_divider(self, block: dict[str, Any], block_id: str, number: Number) -> list[str]:
        return [self.dim("─" * 40)]

    def _block_context(self, block: dict[str, Any], block_id: str, number: Number) -> list[str]:
        parts = []
        for element in block.get("elements") or []:
            if not isinstance(element, dict):
                continue
            if element.get("type") in ("mrkdwn", "plain_text"):
                parts.append(self.text_object(element))
            else:
                parts.append(self.element(element, block_id, number))
        text = "  ".join(p for p in parts if p)
        return [self.dim(line) for line in text.splitlines()] or []

    def _block_actions(self, block: dict[str, Any], block_id: str, number: Number) -> list[str]:
        shown = [self.element(e, block_id, number) for e in block.get("elements") or []]
        line = "  ".join(s for s in shown if s)
        return [line] if line else []

    def _block_input(self, block: dict[str, Any], block_id: str, number: Number) -> list[str]:
        label = self.text_object(block.get("label"))
        element = block.get("element") or {}
        optional = " (optional)" if block.get("optional") else ""
        lines = [f"{label}{optional}: {describe_input(element, self)}"]
        if block.get("hint"):
            lines.append(self.dim("  " + self.text_object(block["hint"])))
        return lines

    def _block_image(self, block: dict[str, Any], block_id: str, number: Number) -> list[str]:
        title = self.text_object(block.get("title")) if block.get("title") else ""
        alt = str(block.get("alt_text") or "")
        return [f"[image: {title or alt or 'picture'}]"]

    def _block_file(self, block: dict[str, Any], block_id: str, number: Number) -> list[str]:
        return [f"[file: {block.get('external_id') or block.get('file_id') or 'a file'}]"]

    def _block_video(self, block: dict[str, Any], block_id: str, number: Number) -> list[str]:
        title = self.text_object(block.get("title"))
        return [f"[video: {title or block.get('video_url') or 'a video'}]"]

    def _block_markdown(self, block: dict[str, Any], block_id: str, number: Number) -> list[str]:
        return str(block.get("text") or "").splitlines()

    def _block_rich_text(self, block: dict[str, Any], block_id: str, number: Number) -> list[str]:
        lines: list[str] = []
        for element in block.get("elements") or []:
            lines += self._rich(element)
        return lines

    def _rich(self, element: dict[str, Any]) -> list[str]:
        kind = element.get("type")
        children = element.get("elements") or []
        if kind == "rich_text_list":
            bullet = "1." if element.get("style") == "ordered" else "•"
            lines = []
            for i, item in enumerate(children, 1):
                text = " ".join(self._rich(item))
                lines.append(f"{f'{i}.' if bullet == '1.' else bullet} {text}")
            return lines
        text = "".join(self._rich_inline(child) for child in children)
        if kind == "rich_text_preformatted":
            return ["    " + line for line in text.splitlines()]
        if kind == "rich_text_quote":
            return ["> " + line for line in text.splitlines()]
        return text.splitlines()

    def _rich_inline(self, element: dict[str, Any]) -> str:
        kind = element.get("type")
        if kind == "text":
            text = str(element.get("text") or "")
            style = element.get("style") or {}
            if style.get("bold"):
                text = self.bold(text)
            if style.get("code"):
                text = f"`{text}`"
            return text
        if kind == "link":
            url = str(element.get("url") or "")
            label = element.get("text")
            return f"{label} ({url})" if label else url
        if kind == "user":
            return "@" + self.user_name(str(element.get("user_id")))
        if kind == "channel":
            return "#" + self.channel_name(str(element.get("channel_id"))).lstrip("#")
        if kind == "emoji":
            return EMOJI.get(str(element.get("name")), f":{element.get('name')}:")
        if kind == "broadcast":
            return "@" + str(element.get("range"))
        if kind == "usergroup":
            return "@" + str(element.get("usergroup_id"))
        if kind == "date":
            return self._special(
                f"date^{element.get('timestamp')}^{element.get('format') or '{date_num}'}",
                str(element.get("fallback") or ""),
            )
        return f"[{kind}]"

    # ------------------------------------------------------------------ elements

    def element(self, element: dict[str, Any], block_id: str, number: Number) -> str:
        kind = str(element.get("type") or "")
        if kind in ("mrkdwn", "plain_text"):
            return self.text_object(element)
        if kind == "image":
            return f"[image: {element.get('alt_text') or 'picture'}]"
        if kind not in INTERACTIVE:
            return self.dim(f"[{kind or 'unknown'} element]")
        n = number(element, block_id)
        label = self.control_label(element)
        shown = f"[{n} {label}]"
        color = _STYLE_COLOR.get(str(element.get("style") or ""))
        return self._style(shown, color) if color else shown

    def control_label(self, element: dict[str, Any]) -> str:
        kind = element.get("type")
        if kind in ("button", "workflow_button"):
            label = self.text_object(element.get("text"))
            if element.get("url"):
                label += f" ↗ {element['url']}"
            return label
        if kind == "overflow":
            return "⋯ " + " / ".join(self.text_object(o.get("text")) for o in _options(element))
        if kind in ("checkboxes", "radio_buttons"):
            return " / ".join(self.text_object(o.get("text")) for o in _options(element))
        return describe_input(element, self)


def describe_input(element: dict[str, Any], renderer: Renderer) -> str:
    """How an input or a select looks before anyone types into it."""
    kind = str(element.get("type") or "")
    placeholder = (
        renderer.text_object(element.get("placeholder")) if element.get("placeholder") else ""
    )
    initial = initial_text(element, renderer)
    if kind in ("static_select", "external_select", "multi_static_select", "multi_external_select"):
        shown = initial or placeholder or "choose"
        return f"{shown} ▾"
    if kind in ("users_select", "multi_users_select"):
        return f"{initial or placeholder or 'a person'} ▾"
    if kind in (
        "conversations_select",
        "channels_select",
        "multi_conversations_select",
        "multi_channels_select",
    ):
        return f"{initial or placeholder or 'a channel'} ▾"
    if kind == "datepicker":
        return f"📅 {initial or placeholder or 'YYYY-MM-DD'}"
    if kind == "timepicker":
        return f"🕘 {initial or placeholder or 'HH:MM'}"
    if kind == "datetimepicker":
        return f"📅 {initial or 'date and time'}"
    if kind in ("checkboxes", "radio_buttons"):
        return " / ".join(renderer.text_object(o.get("text")) for o in _options(element))
    if kind == "file_input":
        types = ", ".join(element.get("filetypes") or [])
        return f"[file upload{': ' + types if types else ''}]"
    if kind in (
        "plain_text_input",
        "email_text_input",
        "url_text_input",
        "number_input",
        "rich_text_input",
    ):
        return f"[{initial or placeholder or 'text'}]"
    return f"[{kind or 'unknown'} input]"


def initial_text(element: dict[str, Any], renderer: Renderer) -> str:
    if element.get("initial_option"):
        return renderer.text_object(element["initial_option"].get("text"))
    if element.get("initial_options"):
        return ", ".join(renderer.text_object(o.get("text")) for o in element["initial_options"])
    if element.get("initial_user"):
        return "@" + renderer.user_name(element["initial_user"])
    if element.get("initial_users"):
        return ", ".join("@" + renderer.user_name(u) for u in element["initial_users"])
    for key in (
        "initial_date",
        "initial_time",
        "initial_value",
        "initial_conversation",
        "initial_channel",
    ):
        if element.get(key):
            return str(element[key])
    if element.get("initial_date_time"):
        at = datetime.fromtimestamp(int(element["initial_date_time"]), UTC)
        return at.astimezone(renderer.tz).strftime("%Y-%m-%d %H:%M")
    return ""


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    return [o for o in options if isinstance(o, dict)]


def options_of(element: dict[str, Any]) -> list[dict[str, Any]]:
    """The options of a select, menu, or group of checkboxes, groups flattened."""
    return _options(element)


_LABEL = re.compile(r"^\*([^*\n]+)\*\n(.+)$", re.DOTALL)
_ANSI_CODE = re.compile(r"\033\[[0-9;]*m")


def _visible(text: str) -> str:
    return _ANSI_CODE.sub("", text)
