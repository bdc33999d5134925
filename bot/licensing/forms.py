"""Validation of the request modal's fields: errors per field, as Slack shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.licensing.catalog import Catalog
from bot.licensing.errors import LicenseError
from bot.licensing.parsing import check_text, parse_date, parse_person
from bot.licensing.requests import Person, SeatRequest, normalize_department


@dataclass(frozen=True)
class RequestForm:
    """The modal's values, already read out of Slack's view state."""

    slack_user_id: str | None = None
    name: str = ""
    email: str = ""
    seat_type: str | None = None
    edition: str | None = None
    modules: tuple[str, ...] = ()
    department: str = ""
    start_date: str | None = None
    reason: str = ""
    until_date: str | None = None


def validate_request_form(
    form: RequestForm, catalog: Catalog
) -> tuple[SeatRequest | None, dict[str, str]]:
    """Returns the request, or errors keyed by the form's field (block) names."""
    errors: dict[str, str] = {}
    for key, value in (
        ("hire_name", form.name),
        ("hire_email", form.email),
        ("department", form.department),
        ("reason", form.reason),
    ):
        try:
            check_text(value)
        except LicenseError as error:
            errors[key] = str(error)
    person: Person | None = None
    if form.slack_user_id:
        person = Person(slack_user_id=form.slack_user_id, name=form.name.strip() or None)
    elif form.email.strip():
        try:
            found = parse_person(form.email.strip())
            person = Person(email=found.email, name=form.name.strip() or None)
        except LicenseError:
            errors["hire_email"] = "enter an email address like nina@example.com"
    else:
        errors["hire_user"] = "pick the new hire, or give their name and email below"
    if person and not form.slack_user_id and not form.name.strip():
        errors["hire_name"] = "give the new hire's name"
    seat_type = edition = None
    try:
        seat_type = catalog.seat_type(form.seat_type or "")
    except LicenseError:
        errors["seat_type"] = "pick a seat type"
    try:
        edition = catalog.edition(form.edition or "").name
    except LicenseError:
        errors["edition"] = "pick an edition"
    modules = tuple(dict.fromkeys(form.modules))
    if edition and modules:
        try:
            catalog.check_modules(edition, modules)
        except LicenseError as error:
            errors["modules"] = str(error)
    department = None
    if form.department.strip():
        try:
            department = normalize_department(form.department.strip())
        except LicenseError as error:
            errors["department"] = str(error)
    start: date | None = None
    if form.start_date:
        try:
            start = parse_date(form.start_date, "start")
        except LicenseError as error:
            errors["start_date"] = str(error)
    until: date | None = None
    if form.until_date:
        try:
            until = parse_date(form.until_date, "until")
        except LicenseError as error:
            errors["until_date"] = str(error)
        if until and start and until < start:
            errors["until_date"] = "the last day is before the start date"
    if errors or person is None or seat_type is None or edition is None:
        return None, errors
    request = SeatRequest(
        person, seat_type, edition, modules, department, start, form.reason.strip(), until
    )
    return request, {}
