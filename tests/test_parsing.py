"""The `/license` grammar (SPEC 2): every command parses, every bad input says what and how."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.licensing.catalog import load_catalog
from bot.licensing.commands import (
    USAGE,
    Assign,
    CancelRequest,
    Check,
    FileRequest,
    Help,
    ListRequests,
    ListUsers,
    OpenRequestModal,
    Report,
    Revoke,
    SetPool,
    ShowAudit,
    ShowPools,
    Trial,
)
from bot.licensing.errors import LicenseError
from bot.licensing.parsing import parse_command
from bot.licensing.requests import Person, SeatRequest

CATALOG = load_catalog()
NINA = "<@U07NINA|nina>"


def parse(text: str):
    return parse_command(text, CATALOG)


def error_of(text: str) -> LicenseError:
    with pytest.raises(LicenseError) as caught:
        parse(text)
    return caught.value


# --- help -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", "Help me"])
def test_empty_text_and_help_give_help(text):
    assert parse(text) == Help()


# --- request ----------------------------------------------------------------------------


def test_request_without_arguments_opens_the_modal():
    assert parse("request") == OpenRequestModal()
    assert parse("  Request  ") == OpenRequestModal()


def test_request_with_mention_modules_department_and_reason():
    command = parse(f"request {NINA} agent premium +wfo dept:Support Starting Monday")
    assert command == FileRequest(
        SeatRequest(
            person=Person(slack_user_id="U07NINA", name="nina"),
            seat_type="agent",
            edition="premium",
            modules=("wfo",),
            department="Support",
            start_date=None,
            reason="Starting Monday",
        )
    )


def test_request_with_mention_without_a_name():
    command = parse("request <@U07NINA> supervisor standard")
    assert command.request.person == Person(slack_user_id="U07NINA")
    assert command.request.seat_type == "supervisor"
    assert command.request.edition == "standard"


def test_request_with_a_plain_email_is_lower_cased():
    command = parse("request Nina.Lopez@Example.COM executive partner")
    assert command.request.person == Person(email="nina.lopez@example.com")
    assert (command.request.seat_type, command.request.edition) == ("executive", "partner")
    assert command.request.modules == ()
    assert command.request.department is None
    assert command.request.reason == ""


def test_request_with_slack_mailto_form():
    command = parse("request <mailto:a@b.co|a@b.co> agent premium")
    assert command.request.person == Person(email="a@b.co")


def test_request_modules_are_deduplicated_in_order_case_insensitively():
    command = parse("request a@b.co agent premium +wfo +QM +wfo +Wfo +chat +qm")
    assert command.request.modules == ("wfo", "qm", "chat")


def test_request_start_date_and_department_capitalised():
    command = parse("request a@b.co agent premium dept:sales start:2026-12-01")
    assert command.request.start_date == date(2026, 12, 1)
    assert command.request.department == "Sales"
    assert command.request.reason == ""


def test_request_reason_keeps_its_original_spacing_newlines_and_tabs():
    text = "request a@b.co agent premium +qm Replaces  Omar,\nstarts\tMonday  (team B)"
    command = parse(text)
    assert command.request.reason == "Replaces  Omar,\nstarts\tMonday  (team B)"
    assert command.request.modules == ("qm",)


def test_request_reason_takes_everything_after_its_first_word():
    command = parse("request a@b.co agent premium +wfo New hire +qm dept:Sales")
    assert command.request.modules == ("wfo",)
    assert command.request.department is None
    assert command.request.reason == "New hire +qm dept:Sales"


@pytest.mark.parametrize(
    "text",
    [
        "request a@b.co agent premium",
        "request a@b.co premium agent",
        "REQUEST A@B.CO AGENT PREMIUM",
        "Request a@b.co Premium Agent",
    ],
)
def test_seat_type_and_edition_in_either_order_and_any_case(text):
    command = parse(text)
    assert isinstance(command, FileRequest)
    assert command.request.seat_type == "agent"
    assert command.request.edition == "premium"
    assert command.request.person.email == "a@b.co"


def test_words_are_case_insensitive_for_modules_and_keys():
    command = parse("REQUEST a@b.co AGENT PREMIUM +WFO DEPT:Support START:2026-12-01 Hi")
    assert command.request.modules == ("wfo",)
    assert command.request.department == "Support"
    assert command.request.start_date == date(2026, 12, 1)
    assert command.request.reason == "Hi"


# --- other commands ---------------------------------------------------------------------


def test_requests_lists_the_callers_requests():
    assert parse("requests") == ListRequests()
    assert parse("REQUESTS") == ListRequests()


@pytest.mark.parametrize("text", ["cancel 12", "cancel #12", "CANCEL #12"])
def test_cancel_takes_a_request_id_with_or_without_hash(text):
    assert parse(text) == CancelRequest(12)


def test_pool_shows_pools():
    assert parse("pool") == ShowPools()
    assert parse("POOL") == ShowPools()


def test_pool_set_seat_type_with_price():
    assert parse("pool set premium agent 400 price:150") == SetPool(
        "premium", "agent", 400, Decimal("150")
    )


def test_pool_set_module_without_price():
    assert parse("pool set standard qm 5") == SetPool("standard", "qm", 5, None)


def test_pool_set_is_case_insensitive_and_takes_cents():
    assert parse("Pool Set PREMIUM Supervisor 12 PRICE:149.99") == SetPool(
        "premium", "supervisor", 12, Decimal("149.99")
    )


def test_pool_set_zero_seats_is_allowed():
    assert parse("pool set partner chat 0").seats == 0


def test_assign_with_mention_modules_and_department():
    command = parse(f"assign {NINA} supervisor premium +wfo +insights dept:Support")
    assert command == Assign(
        SeatRequest(
            person=Person(slack_user_id="U07NINA", name="nina"),
            seat_type="supervisor",
            edition="premium",
            modules=("wfo", "insights"),
            department="Support",
        )
    )


def test_assign_with_email_in_either_order():
    command = parse("assign omar@example.com standard agent +chat")
    assert command.request.person == Person(email="omar@example.com")
    assert (command.request.edition, command.request.seat_type) == ("standard", "agent")
    assert command.request.modules == ("chat",)


def test_revoke_and_check_take_one_person():
    assert parse(f"revoke {NINA}") == Revoke(Person(slack_user_id="U07NINA", name="nina"))
    assert parse("check Omar@Example.com") == Check(Person(email="omar@example.com"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("users", ListUsers(None)),
        ("users inactive", ListUsers("inactive")),
        ("users INACTIVE", ListUsers("inactive")),
        ("users premium", ListUsers("premium")),
        ("users agent", ListUsers("agent")),
        ("users Supervisor", ListUsers("supervisor")),
    ],
)
def test_users_filters(text, expected):
    assert parse(text) == expected


def test_audit_without_filters():
    assert parse("audit") == ShowAudit()


def test_audit_with_person_and_dates():
    command = parse(f"audit {NINA} from:2026-11-01 to:2026-12-01")
    assert command == ShowAudit(
        Person(slack_user_id="U07NINA", name="nina"), date(2026, 11, 1), date(2026, 12, 1)
    )


def test_audit_with_dates_only():
    assert parse("audit FROM:2026-11-01") == ShowAudit(None, date(2026, 11, 1), None)


@pytest.mark.parametrize("kind", ["status", "assignments", "modules", "grace", "billing", "audit"])
def test_report_kinds(kind):
    assert parse(f"report {kind}") == Report(kind)
    assert parse(f"report {kind.upper()}") == Report(kind)


def test_report_audit_with_filters():
    assert parse("report audit a@b.co from:2026-01-01") == Report(
        "audit", Person(email="a@b.co"), date(2026, 1, 1), None
    )


def test_trial_subcommands():
    assert parse("trial start 2026-12-01") == Trial("start", date(2026, 12, 1))
    assert parse("TRIAL START 2026-12-01") == Trial("start", date(2026, 12, 1))
    assert parse("trial convert") == Trial("convert")
    assert parse("trial Status") == Trial("status")


# --- bad input: what was wrong, and the right usage ----------------------------------------


def test_unknown_command_lists_the_commands():
    error = error_of("approve 12")
    assert "unknown command `approve`" in str(error)
    assert "request" in str(error) and "trial" in str(error)
    assert error.usage == USAGE["help"]


def test_request_with_too_few_arguments():
    error = error_of(f"request {NINA} agent")
    assert "a person, a seat type and an edition are needed" in str(error)
    assert error.usage == USAGE["request"]


def test_request_for_something_that_is_not_a_person():
    error = error_of("request nina agent premium")
    assert "`nina` is not a person" in str(error)
    assert error.usage == USAGE["request"]


def test_unknown_seat_type():
    error = error_of("request a@b.co boss premium")
    assert "unknown seat type `boss`" in str(error)
    assert "agent, supervisor or executive" in str(error)
    assert error.usage == USAGE["request"]


def test_unknown_seat_type_after_the_edition_names_the_wrong_word():
    # "premium boss": premium is a known edition, so the error is about `boss`.
    error = error_of("request a@b.co premium boss")
    assert "`boss`" in str(error)
    assert "`premium`" not in str(error)
    assert error.usage == USAGE["request"]


def test_unknown_edition():
    error = error_of("request a@b.co agent gold")
    assert "unknown edition `gold`" in str(error)
    assert "premium, standard or partner" in str(error)
    assert error.usage == USAGE["request"]


def test_unknown_module():
    error = error_of("request a@b.co agent premium +voice")
    assert "unknown module `+voice`" in str(error)
    assert "+wfo" in str(error)
    assert error.usage == USAGE["request"]


def test_module_not_in_edition():
    error = error_of("request a@b.co agent standard +wfo")
    assert str(error) == (
        "+wfo is not included in the standard edition: upgrade to premium or drop +wfo"
    )
    assert error.usage == USAGE["request"]


def test_module_not_in_edition_for_assign_has_assign_usage():
    error = error_of("assign a@b.co agent partner +qm")
    assert "+qm is not included in the partner edition" in str(error)
    assert "drop +qm" in str(error)
    assert error.usage == USAGE["assign"]


@pytest.mark.parametrize("dept", ["Customer_Support", '"Customer Support"', "Sales-EU", ""])
def test_bad_department_shows_the_naming_convention(dept):
    error = error_of(f"request a@b.co agent premium dept:{dept}")
    assert "breaks the naming convention" in str(error)
    assert "letters and digits only" in str(error)
    assert "Support_Agent_LicenseGroup" in str(error)
    assert error.usage == USAGE["request"]


def test_department_with_a_space_is_refused_in_assign():
    # The space splits "Customer Support": assign has no free text, so the rest is an error.
    error = error_of("assign a@b.co agent premium dept:Customer Support")
    assert "unexpected `Support`" in str(error)
    assert error.usage == USAGE["assign"]


@pytest.mark.parametrize("value", ["2026-13-01", "2026-02-30", "tomorrow", "12/01/2026"])
def test_bad_start_date(value):
    error = error_of(f"request a@b.co agent premium start:{value}")
    assert f"start date `{value}` is not a date: use YYYY-MM-DD" in str(error)
    assert error.usage == USAGE["request"]


def test_assign_refuses_free_text():
    error = error_of("assign a@b.co agent premium because")
    assert "unexpected `because`" in str(error)
    assert error.usage == USAGE["assign"]


@pytest.mark.parametrize("seats", ["-5", "five", "2.5", "10000000"])
def test_bad_seat_counts(seats):
    error = error_of(f"pool set premium agent {seats}")
    assert f"seats `{seats}` must be a whole number from 0 to 1,000,000" in str(error)
    assert error.usage == USAGE["pool set"]


@pytest.mark.parametrize("price", ["149.999", "-1", "abc", "NaN"])
def test_bad_price(price):
    error = error_of(f"pool set premium agent 400 price:{price}")
    assert f"price `{price}` must be an amount like 150 or 149.99" in str(error)
    assert error.usage == USAGE["pool set"]


def test_pool_set_price_without_its_key():
    error = error_of("pool set premium agent 400 150")
    assert "price:<amount>" in str(error)
    assert error.usage == USAGE["pool set"]


def test_pool_set_module_not_in_edition():
    error = error_of("pool set standard wfo 5")
    assert "+wfo is not included in the standard edition" in str(error)
    assert error.usage == USAGE["pool set"]


def test_pool_set_unknown_edition_and_missing_seats():
    assert "unknown edition `gold`" in str(error_of("pool set gold agent 5"))
    error = error_of("pool set premium agent")
    assert "seat count" in str(error)
    assert error.usage == USAGE["pool set"]


def test_pool_with_unknown_word():
    error = error_of("pool list")
    assert "unexpected `list`" in str(error)
    assert error.usage == USAGE["pool set"]


@pytest.mark.parametrize("word", ["abc", "#", "-3", "12a", "1234567890123"])
def test_bad_request_id(word):
    error = error_of(f"cancel {word}")
    assert f"`{word}` is not a request id" in str(error)
    assert error.usage == USAGE["cancel"]


def test_cancel_without_an_id():
    error = error_of("cancel")
    assert "give exactly one request id" in str(error)
    assert error.usage == USAGE["cancel"]


def test_revoke_and_check_need_exactly_one_person():
    error = error_of("revoke")
    assert "give exactly one person" in str(error)
    assert error.usage == USAGE["revoke"]
    error = error_of("check a@b.co c@d.co")
    assert "give exactly one person" in str(error)
    assert error.usage == USAGE["check"]
    error = error_of("check somebody")
    assert "`somebody` is not a person" in str(error)
    assert error.usage == USAGE["check"]


def test_users_unknown_filter():
    error = error_of("users gold")
    assert "unknown filter `gold`" in str(error)
    assert error.usage == USAGE["users"]


def test_requests_takes_no_arguments():
    error = error_of("requests all")
    assert "takes no arguments" in str(error)
    assert error.usage == USAGE["requests"]


def test_audit_bad_date():
    error = error_of("audit from:yesterday")
    assert "from date `yesterday` is not a date" in str(error)
    assert error.usage == USAGE["audit"]


def test_report_unknown_or_missing_kind():
    error = error_of("report money")
    assert "unknown report `money`" in str(error)
    assert error.usage == USAGE["report"]
    error = error_of("report")
    assert "which report?" in str(error)
    assert error.usage == USAGE["report"]


@pytest.mark.parametrize("text", ["trial", "trial start", "trial stop", "trial start 2026-12-32"])
def test_trial_bad_forms(text):
    error = error_of(text)
    assert error.usage == USAGE["trial"]
    assert str(error)


def test_trial_bad_date_says_so():
    assert "trial start date `2026-12-32` is not a date" in str(error_of("trial start 2026-12-32"))


def test_text_of_3000_characters_is_refused():
    text = "request a@b.co agent premium " + "x" * 3000
    error = error_of(text)
    assert f"that is {len(text):,} characters" in str(error)
    assert "under 3,000" in str(error)


def test_text_of_exactly_3000_characters_is_refused():
    assert "under 3,000" in str(error_of("x" * 3000))


def test_text_of_3000_characters_shows_the_usage_of_its_command():
    error = error_of("request a@b.co agent premium " + "x" * 3000)
    assert error.usage == USAGE["request"]


def test_text_just_under_the_limit_is_fine():
    prefix = "request a@b.co agent premium "
    text = prefix + "x" * (2999 - len(prefix))
    assert len(text) == 2999
    assert parse(text).request.reason == "x" * (2999 - len(prefix))


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\u202e"])
def test_control_characters_are_refused(char):
    error = error_of(f"request a@b.co agent premium Hello{char}there")
    assert "control characters are not allowed" in str(error)


def test_control_characters_show_the_usage_of_their_command():
    error = error_of("request a@b.co agent premium Hello\x1bthere")
    assert error.usage == USAGE["request"]


def test_control_character_in_an_unknown_command_still_says_so():
    assert "control characters are not allowed" in str(error_of("\x1b[31m"))


def test_control_characters_in_pool_set_show_the_pool_set_usage():
    error = error_of("pool set premium agent 5 price:1\x00")
    assert "control characters are not allowed" in str(error)
    assert error.usage == USAGE["pool set"]


def test_control_characters_in_unknown_text_show_the_help_usage():
    assert error_of("\x1b[31m").usage == USAGE["help"]
