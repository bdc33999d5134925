"""The `/license` grammar (SPEC 2): text in, a command or a LicenseError with the usage out."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from bot.licensing.catalog import Catalog
from bot.licensing.commands import (
    REPORT_KINDS,
    USAGE,
    Assign,
    CancelRequest,
    Check,
    Command,
    Extend,
    FileChange,
    FileRequest,
    Help,
    ListRequests,
    ListUsers,
    Offboard,
    OpenRequestModal,
    Report,
    Revoke,
    SetPool,
    SetQuota,
    ShowAudit,
    ShowDrift,
    ShowPools,
    ShowQuotas,
    Trial,
)
from bot.licensing.errors import LicenseError
from bot.licensing.requests import Person, SeatChange, SeatRequest, normalize_department

MAX_TEXT = 2999
MAX_SEATS = 1_000_000
_TOKEN = re.compile(r"<[^>]*>|\S+")
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|([^>]*))?>$")
_MAILTO = re.compile(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_REQUEST_ID = re.compile(r"^#?(\d{1,12})$")
DATE_MIN = date(2000, 1, 1)
DATE_MAX = date(2100, 12, 31)
DATE_WINDOW_TEXT = f"use a date from {DATE_MIN.isoformat()} to {DATE_MAX.isoformat()}"


# Control and format characters; line, paragraph and other separators (U+2028, U+2029, odd
# spaces: Z* except the ordinary space); surrogates; private use. Newline, tab and the
# zero-width joiner (emoji sequences) stay allowed.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp", "Zs"})


def check_text(text: str) -> None:
    """Reject what no command may contain, before any parsing."""
    if len(text) > MAX_TEXT:
        raise LicenseError(f"that is {len(text):,} characters; a command must stay under 3,000")
    for char in text:
        if char in "\n\t " or char == "\u200d":
            continue
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise LicenseError("control characters are not allowed in a command")


def parse_command(text: str, catalog: Catalog) -> Command:
    """Parse the text after `/license`. Raises LicenseError with the usage to show."""
    try:
        check_text(text)
    except LicenseError as error:
        words = text.lower().split(maxsplit=2)
        head = (
            " ".join(words[:2])
            if words[:2] in (["pool", "set"], ["quota", "set"])
            else (words or ["help"])[0]
        )
        raise LicenseError(str(error), USAGE.get(head, USAGE["help"])) from None
    spans = [(m.group(0), m.start()) for m in _TOKEN.finditer(text)]
    words = [w for w, _ in spans]
    if not words or words[0].lower() == "help":
        return Help()
    head = words[0].lower()
    args = spans[1:]
    parser = _PARSERS.get(head)
    if parser is None:
        raise LicenseError(
            f"unknown command `{words[0]}`; try one of: request, requests, cancel, pool, "
            "assign, revoke, users, check, audit, report, trial, change, offboard, extend, "
            "quota, help",
            usage=USAGE["help"],
        )
    return parser(text, args, catalog)


Spans = list[tuple[str, int]]


def _request(text: str, args: Spans, catalog: Catalog) -> Command:
    if not args:
        return OpenRequestModal()
    return FileRequest(_seat_request(text, args, catalog, "request", allow_reason=True))


def _assign(text: str, args: Spans, catalog: Catalog) -> Command:
    return Assign(_seat_request(text, args, catalog, "assign", allow_reason=False))


def _seat_request(
    text: str, args: Spans, catalog: Catalog, usage_key: str, *, allow_reason: bool
) -> SeatRequest:
    usage = USAGE[usage_key]
    if len(args) < 3:
        raise LicenseError("a person, a seat type and an edition are needed", usage)
    try:
        person = parse_person(args[0][0])
        seat_type, edition = _seat_and_edition(args[1][0], args[2][0], catalog)
        modules: list[str] = []
        department: str | None = None
        start: date | None = None
        until: date | None = None
        reason = ""
        for index, (word, offset) in enumerate(args[3:], start=3):
            lower = word.lower()
            if word.startswith("+"):
                module = catalog.module(word[1:])
                if module not in modules:
                    modules.append(module)
            elif lower.startswith("dept:"):
                department = normalize_department(word[5:])
            elif lower.startswith("start:"):
                start = parse_date(word[6:], "start")
            elif lower.startswith("until:"):
                until = parse_date(word[6:], "until")
            elif allow_reason:
                reason = text[offset:].strip()
                break
            else:
                raise LicenseError(f"unexpected `{word}` (argument {index + 1})")
        catalog.check_modules(edition, tuple(modules))
    except LicenseError as error:
        raise LicenseError(str(error), usage) from None
    if start and until and until < start:
        raise LicenseError(f"until:{until} is before start:{start}", usage)
    return SeatRequest(person, seat_type, edition, tuple(modules), department, start, reason, until)


def _change(text: str, args: Spans, catalog: Catalog) -> Command:
    """`change <person> <seat-type> <edition> [+module ...] [-module ...] [until:] [reason]`"""
    usage = USAGE["change"]
    if len(args) < 3:
        raise LicenseError("a person, the seat type and the edition they should have", usage)
    try:
        person = parse_person(args[0][0])
        seat_type, edition = _seat_and_edition(args[1][0], args[2][0], catalog)
        add: list[str] = []
        drop: list[str] = []
        until: date | None = None
        reason = ""
        for word, offset in args[3:]:
            lower = word.lower()
            if word.startswith("+") and len(word) > 1:
                module = catalog.module(word[1:])
                if module in drop:
                    raise LicenseError(f"+{module} and -{module} together: pick one")
                if module not in add:
                    add.append(module)
            elif word.startswith("-") and len(word) > 1 and word[1:].lower() in catalog.modules:
                module = catalog.module(word[1:])
                if module in add:
                    raise LicenseError(f"+{module} and -{module} together: pick one")
                if module not in drop:
                    drop.append(module)
            elif lower.startswith("until:"):
                until = parse_date(word[6:], "until")
            elif lower.startswith(("dept:", "start:")):
                raise LicenseError(
                    f"`{word}`: a change keeps the holder's department and start; "
                    "only the seat, its modules and until: change"
                )
            else:
                reason = text[offset:].strip()
                break
        catalog.check_modules(edition, tuple(add))
    except LicenseError as error:
        raise LicenseError(str(error), usage) from None
    return FileChange(
        SeatChange(person, seat_type, edition, tuple(add), tuple(drop), until, reason)
    )


def _offboard(text: str, args: Spans, catalog: Catalog) -> Command:
    if not args:
        raise LicenseError("who has left? give one person", USAGE["offboard"])
    try:
        person = parse_person(args[0][0])
    except LicenseError as error:
        raise LicenseError(str(error), USAGE["offboard"]) from None
    reason = text[args[1][1] :].strip() if len(args) > 1 else ""
    return Offboard(person, reason)


def _extend(text: str, args: Spans, catalog: Catalog) -> Command:
    usage = USAGE["extend"]
    if len(args) != 2:
        raise LicenseError("give one person and their new last day", usage)
    try:
        person = parse_person(args[0][0])
        word = args[1][0]
        value = word[6:] if word.lower().startswith("until:") else word
        return Extend(person, parse_date(value, "end"))
    except LicenseError as error:
        raise LicenseError(str(error), usage) from None


def _quota(text: str, args: Spans, catalog: Catalog) -> Command:
    if not args:
        return ShowQuotas()
    usage = USAGE["quota set"]
    if args[0][0].lower() != "set":
        raise LicenseError(f"unexpected `{args[0][0]}` after `quota`", usage)
    words = [w for w, _ in args[1:]]
    if len(words) != 4:
        raise LicenseError(
            "a department, an edition, a seat type or module, and a seat count are needed", usage
        )
    try:
        department = normalize_department(words[0])
        edition = catalog.edition(words[1]).name
        item_word = words[2].lstrip("+")
        if item_word.lower() in catalog.modules:
            item = catalog.module(item_word)
            catalog.check_modules(edition, (item,))
        else:
            item = catalog.seat_type(item_word)
        seats = parse_seats(words[3])
    except LicenseError as error:
        raise LicenseError(str(error), usage) from None
    return SetQuota(department, edition, item, seats)


def _seat_and_edition(first: str, second: str, catalog: Catalog) -> tuple[str, str]:
    # Either order reads naturally ("agent premium", "premium agent"): accept both.
    if first.lower() in catalog.editions and second.lower() not in catalog.editions:
        first, second = second, first
    return catalog.seat_type(first), catalog.edition(second).name


def parse_person(word: str) -> Person:
    mention = _MENTION.match(word)
    if mention:
        return Person(slack_user_id=mention.group(1), name=mention.group(2) or None)
    mailto = _MAILTO.match(word)
    email = mailto.group(1) if mailto else word
    if _EMAIL.match(email):
        return Person(email=email.lower())
    raise LicenseError(f"`{word}` is not a person: mention them (@name) or give an email address")


def parse_date(value: str, label: str) -> date:
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise LicenseError(f"{label} date `{value}` is not a date: use YYYY-MM-DD") from None
    check_date_window(parsed, f"{label} date `{value}`")
    return parsed


def check_date_window(value: date, what: str) -> None:
    """Dates a person gives must fall in DATE_WINDOW (a typo like 9999 or 0001 is refused
    here instead of overflowing some date arithmetic later)."""
    if not DATE_MIN <= value <= DATE_MAX:
        raise LicenseError(f"{what} is out of range: {DATE_WINDOW_TEXT}")


def parse_request_id(word: str) -> int:
    match = _REQUEST_ID.match(word)
    if not match:
        raise LicenseError(f"`{word}` is not a request id: use the number shown, e.g. 12 or #12")
    return int(match.group(1))


def _requests(text: str, args: Spans, catalog: Catalog) -> Command:
    if args:
        raise LicenseError("`requests` takes no arguments", USAGE["requests"])
    return ListRequests()


def _cancel(text: str, args: Spans, catalog: Catalog) -> Command:
    if len(args) != 1:
        raise LicenseError("give exactly one request id", USAGE["cancel"])
    try:
        return CancelRequest(parse_request_id(args[0][0]))
    except LicenseError as error:
        raise LicenseError(str(error), USAGE["cancel"]) from None


def _pool(text: str, args: Spans, catalog: Catalog) -> Command:
    if not args:
        return ShowPools()
    if args[0][0].lower() != "set":
        raise LicenseError(f"unexpected `{args[0][0]}` after `pool`", USAGE["pool set"])
    usage = USAGE["pool set"]
    words = [w for w, _ in args[1:]]
    if len(words) not in (3, 4):
        raise LicenseError("an edition, a seat type or module, and a seat count are needed", usage)
    try:
        edition = catalog.edition(words[0]).name
        item_word = words[1].lstrip("+")
        if item_word.lower() in catalog.modules:
            item = catalog.module(item_word)
            catalog.check_modules(edition, (item,))
        else:
            item = catalog.seat_type(item_word)
        seats = parse_seats(words[2])
        price = None
        if len(words) == 4:
            if not words[3].lower().startswith("price:"):
                raise LicenseError(f"unexpected `{words[3]}`: the price is written price:<amount>")
            price = parse_price(words[3][6:])
    except LicenseError as error:
        raise LicenseError(str(error), usage) from None
    return SetPool(edition, item, seats, price)


def parse_seats(word: str) -> int:
    if not re.fullmatch(r"\d{1,7}", word.replace(",", "")):
        raise LicenseError(f"seats `{word}` must be a whole number from 0 to {MAX_SEATS:,}")
    seats = int(word.replace(",", ""))
    if seats > MAX_SEATS:
        raise LicenseError(f"seats `{word}` must be a whole number from 0 to {MAX_SEATS:,}")
    return seats


def parse_price(word: str) -> Decimal:
    cleaned = word.lstrip("$")
    try:
        price = Decimal(cleaned)
    except InvalidOperation:
        price = Decimal(-1)
    exponent = price.as_tuple().exponent
    if (
        not price.is_finite()
        or price < 0
        or price > 1_000_000
        or (isinstance(exponent, int) and exponent < -2)
    ):
        raise LicenseError(f"price `{word}` must be an amount like 150 or 149.99")
    return price


def _revoke(text: str, args: Spans, catalog: Catalog) -> Command:
    return Revoke(_one_person(args, "revoke"))


def _check(text: str, args: Spans, catalog: Catalog) -> Command:
    return Check(_one_person(args, "check"))


def _one_person(args: Spans, key: str) -> Person:
    if len(args) != 1:
        raise LicenseError("give exactly one person", USAGE[key])
    try:
        return parse_person(args[0][0])
    except LicenseError as error:
        raise LicenseError(str(error), USAGE[key]) from None


def _users(text: str, args: Spans, catalog: Catalog) -> Command:
    if not args:
        return ListUsers()
    word = args[0][0].lower()
    if len(args) > 1 or not (
        word == "inactive" or word in catalog.editions or word in catalog.seat_types
    ):
        raise LicenseError(f"unknown filter `{args[0][0]}`", USAGE["users"])
    return ListUsers(word)


def _filters(args: Spans, key: str) -> tuple[Person | None, date | None, date | None]:
    person = since = until = None
    try:
        for word, _ in args:
            lower = word.lower()
            if lower.startswith("from:"):
                since = parse_date(word[5:], "from")
            elif lower.startswith("to:"):
                until = parse_date(word[3:], "to")
            elif person is None:
                person = parse_person(word)
            else:
                raise LicenseError(f"unexpected `{word}`")
    except LicenseError as error:
        raise LicenseError(str(error), USAGE[key]) from None
    return person, since, until


def _audit(text: str, args: Spans, catalog: Catalog) -> Command:
    return ShowAudit(*_filters(args, "audit"))


def _report(text: str, args: Spans, catalog: Catalog) -> Command:
    if not args or args[0][0].lower() not in REPORT_KINDS:
        what = f"unknown report `{args[0][0]}`" if args else "which report?"
        raise LicenseError(what, USAGE["report"])
    return Report(args[0][0].lower(), *_filters(args[1:], "report"))


def _trial(text: str, args: Spans, catalog: Catalog) -> Command:
    usage = USAGE["trial"]
    words = [w.lower() for w, _ in args]
    if words == ["convert"] or words == ["status"]:
        return Trial(words[0])
    if len(words) == 2 and words[0] == "start":
        try:
            return Trial("start", parse_date(words[1], "trial start"))
        except LicenseError as error:
            raise LicenseError(str(error), usage) from None
    raise LicenseError("say `trial start <YYYY-MM-DD>`, `trial convert` or `trial status`", usage)


def _drift(text: str, args: Spans, catalog: Catalog) -> Command:
    if args:
        raise LicenseError("`drift` takes no arguments", USAGE["drift"])
    return ShowDrift()


_PARSERS = {
    "request": _request,
    "requests": _requests,
    "cancel": _cancel,
    "pool": _pool,
    "pools": _pool,
    "assign": _assign,
    "revoke": _revoke,
    "users": _users,
    "check": _check,
    "audit": _audit,
    "report": _report,
    "trial": _trial,
    "change": _change,
    "offboard": _offboard,
    "extend": _extend,
    "quota": _quota,
    "quotas": _quota,
    "drift": _drift,
}


def usage_key(command: Command) -> str:
    return command.name
