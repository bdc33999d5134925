"""Settings from the environment or `.env` (SPEC 4). Secrets stay SecretStr: never printed."""

from __future__ import annotations

import difflib
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.licensing.policy import Policy

_REQUIRED: Any = ...
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def _setting(env: str, default: Any = _REQUIRED, **constraints: Any) -> Any:
    # The environment name is the contract; the field name (env name without the
    # LICENSEBOT_ prefix, lower-cased) lets code and tests build settings directly.
    field = env.removeprefix("LICENSEBOT_").lower()
    return Field(default, validation_alias=AliasChoices(env, field), **constraints)


RULE = "settings_rule"  # an error type: a rule between settings, its message names them


def _ids(value: str) -> frozenset[str]:
    return frozenset(a.strip() for a in value.split(",") if a.strip())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,
        case_sensitive=True,  # so a stray TIMEZONE or DATABASE variable is not taken
    )

    slack_bot_token: SecretStr = _setting("SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = _setting("SLACK_SIGNING_SECRET", None)
    slack_app_token: SecretStr | None = _setting("SLACK_APP_TOKEN", None)
    slack_api_url: str = _setting("SLACK_API_URL", "https://slack.com/api/")
    database: Path = _setting("LICENSEBOT_DATABASE", Path("licensebot.db"))
    approvals_channel: str = _setting("LICENSEBOT_APPROVALS_CHANNEL")
    alerts_channel: str = _setting("LICENSEBOT_ALERTS_CHANNEL")
    admins: str = _setting("LICENSEBOT_ADMINS", "")
    admin_group: str | None = _setting("LICENSEBOT_ADMIN_GROUP", None, validate_default=True)
    timezone: str = _setting("LICENSEBOT_TIMEZONE", "UTC")
    grace_days: int = _setting("LICENSEBOT_GRACE_DAYS", 30, ge=0, le=3650)
    overage_max_percent: int = _setting("LICENSEBOT_OVERAGE_MAX_PERCENT", 10, ge=0, le=1000)
    inactive_days: int = _setting("LICENSEBOT_INACTIVE_DAYS", 30, ge=1, le=3650)
    trial_days: int = _setting("LICENSEBOT_TRIAL_DAYS", 14, ge=1, le=365)
    trial_reminder_day: int = _setting("LICENSEBOT_TRIAL_REMINDER_DAY", 12, ge=1, le=365)
    trial_max_users: int = _setting("LICENSEBOT_TRIAL_MAX_USERS", 50, ge=0)
    utilization_low: float = _setting("LICENSEBOT_UTILIZATION_LOW", 0.80, ge=0, le=1)
    utilization_high: float = _setting(
        "LICENSEBOT_UTILIZATION_HIGH", 0.95, ge=0, le=1, validate_default=True
    )
    reminder_hours: int = _setting("LICENSEBOT_REMINDER_HOURS", 24, ge=1, le=24 * 365)
    request_expire_days: int = _setting("LICENSEBOT_REQUEST_EXPIRE_DAYS", 14, ge=1, le=3650)
    catalog: Path | None = _setting("LICENSEBOT_CATALOG", None)
    four_eyes: bool = _setting("LICENSEBOT_FOUR_EYES", True)
    finance_group: str | None = _setting("LICENSEBOT_FINANCE_GROUP", None)
    finance_threshold: Decimal | None = _setting("LICENSEBOT_FINANCE_THRESHOLD", None, ge=0)
    reclaim_on_deactivation: bool = _setting("LICENSEBOT_RECLAIM_ON_DEACTIVATION", False)
    expiry_warning_days: int = _setting("LICENSEBOT_EXPIRY_WARNING_DAYS", 3, ge=0, le=365)
    # Posts a second per channel the deliverer allows itself (Slack's limit is about one).
    slack_post_rate: float = _setting("LICENSEBOT_SLACK_POST_RATE", 1.0, gt=0, le=1000)
    # --- Genesys Cloud (SPEC 8): unset client id and secret = ledger-only mode ---------
    genesys_client_id: str | None = _setting("GENESYS_CLIENT_ID", None)
    genesys_client_secret: SecretStr | None = _setting("GENESYS_CLIENT_SECRET", None)
    genesys_region: str = _setting("GENESYS_REGION", "mypurecloud.com")
    genesys_api_url: str | None = _setting("GENESYS_API_URL", None)
    genesys_login_url: str | None = _setting("GENESYS_LOGIN_URL", None)
    genesys_rate_per_minute: int = _setting("GENESYS_RATE_PER_MINUTE", 300, ge=1, le=100_000)

    @field_validator("genesys_api_url", "genesys_login_url")
    @classmethod
    def _genesys_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else None

    @field_validator("genesys_region")
    @classmethod
    def _genesys_region(cls, value: str) -> str:
        value = value.strip().lower()
        if not value or "/" in value or " " in value:
            raise ValueError("must be a region host like mypurecloud.com or usw2.pure.cloud")
        return value

    @model_validator(mode="after")
    def _genesys_pair(self) -> Settings:
        if bool(self.genesys_client_id) != bool(self.genesys_client_secret):
            raise ValueError(
                "GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET go together: set both or neither"
            )
        return self

    @property
    def genesys_enabled(self) -> bool:
        return bool(self.genesys_client_id and self.genesys_client_secret)

    # --- end Genesys Cloud ------------------------------------------------------------

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        # AsyncWebClient joins with urljoin: without the slash, ".../api" would lose "/api".
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("slack_bot_token")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        # A blank line left in a .env template is as missing as no line at all.
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty: set the bot token (xoxb-...)")
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("is not a bot token: it starts with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("is not an app-level token: it starts with xapp-")
        return value

    @field_validator("admins")
    @classmethod
    def _user_ids(cls, value: str) -> str:
        bad = [a.strip() for a in value.split(",") if a.strip() and not _USER_ID.match(a.strip())]
        if bad:
            raise ValueError(
                f"{len(bad)} of the ids is not a Slack user id like U0123ABCD "
                "(the member id from a profile's ⋮ menu, not a name)"
            )
        return value

    @field_validator("admin_group")
    @classmethod
    def _group_id(cls, value: str | None) -> str | None:
        if value is not None and not _GROUP_ID.match(value.strip()):
            raise ValueError("must be a user group id like S0123ABCD")
        return value.strip() if value is not None else None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("approvals_channel", "alerts_channel")
    @classmethod
    def _channel_id(cls, value: str) -> str:
        value = value.strip()
        if not _CHANNEL_ID.match(value):
            raise ValueError("must be a channel id like C0123ABCD")
        return value

    # Rules between two settings are checked on the later field (validate_default), not
    # after the model: an "after" validator runs only once every field is valid, and every
    # problem is to be reported in one run.
    @field_validator("admin_group", mode="after")
    @classmethod
    def _someone_is_admin(cls, value: str | None, info: ValidationInfo) -> str | None:
        admins = info.data.get("admins")
        if admins is not None and not _ids(admins) and not value:
            raise PydanticCustomError(
                RULE, "LICENSEBOT_ADMINS is required unless LICENSEBOT_ADMIN_GROUP is set"
            )
        return value

    @field_validator("utilization_high", mode="after")
    @classmethod
    def _band(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("utilization_low")
        if low is not None and low > value:
            raise PydanticCustomError(
                RULE, "LICENSEBOT_UTILIZATION_LOW must not exceed LICENSEBOT_UTILIZATION_HIGH"
            )
        return value

    @model_validator(mode="after")
    def _finance_stage_complete(self) -> Settings:
        if (self.finance_group is None) != (self.finance_threshold is None):
            raise ValueError(
                "LICENSEBOT_FINANCE_GROUP and LICENSEBOT_FINANCE_THRESHOLD go together: set "
                "both (a user group id and a monthly amount) or neither"
            )
        return self

    @property
    def admin_ids(self) -> frozenset[str]:
        return _ids(self.admins)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def policy(self) -> Policy:
        return Policy(
            grace_days=self.grace_days,
            overage_max_percent=self.overage_max_percent,
            inactive_days=self.inactive_days,
            trial_days=self.trial_days,
            trial_reminder_day=self.trial_reminder_day,
            trial_max_users=self.trial_max_users,
            utilization_low=self.utilization_low,
            utilization_high=self.utilization_high,
            reminder_hours=self.reminder_hours,
            request_expire_days=self.request_expire_days,
            four_eyes=self.four_eyes,
            finance_threshold=self.finance_threshold if self.finance_group else None,
            expiry_warning_days=self.expiry_warning_days,
        )


class SettingsError(Exception):
    """Every setting at fault, one line each, naming the setting; never the value."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# Settings a command that only reads or writes the database does not need: when they are
# missing there, these stand in (they are never used to reach Slack).
SLACK_ONLY: dict[str, str] = {
    "slack_bot_token": "xoxb-not-set",
    "approvals_channel": "C0NOTSET",
    "alerts_channel": "C0NOTSET",
    "admins": "U0NOTSET",
}
# LICENSEBOT_* variables read elsewhere than Settings (so not unknown).
OTHER_KNOWN = frozenset(
    {
        "LICENSEBOT_LOG_FORMAT",  # read by bot/logs.py before the settings load
        "LICENSEBOT_SLOW_TESTS",  # the test suite's heavy variants
        "LICENSEBOT_TEST_POSTGRES",  # the test suite's PostgreSQL target
    }
)


def load_settings(*, database_only: bool = False, **overrides: object) -> Settings:
    """Settings from the environment and `.env` (and `overrides`). With `database_only`,
    the Slack settings may be missing (`jobs list`, `jobs run --dry-run`, `report`,
    `import`)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        if not database_only:
            raise SettingsError(describe_all(error)) from None
        stand_ins = {
            field: value
            for field, value in SLACK_ONLY.items()
            if _missing(error, field) and field not in overrides
        }
        if not stand_ins:
            raise SettingsError(describe_all(error)) from None
    try:
        return Settings(**{**stand_ins, **overrides})  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe_all(error)) from None


def _missing(error: ValidationError, field: str) -> bool:
    for problem in error.errors():
        loc = problem.get("loc") or ()
        if loc and loc[0] in (field, _env_name(field)) and problem["type"] == "missing":
            return True
        if field == "admins" and problem["type"] == RULE and "LICENSEBOT_ADMINS" in problem["msg"]:
            return True
    return False


def describe(error: ValidationError) -> str:
    """The first problem (kept for callers that show one line)."""
    return describe_all(error)[0]


def describe_all(error: ValidationError) -> list[str]:
    lines: list[str] = []
    for problem in error.errors():
        line = _describe_one(problem)
        if line not in lines:
            lines.append(line)
    return lines


def _describe_one(problem: Any) -> str:
    loc = problem.get("loc") or ()
    message = str(problem["msg"]).removeprefix("Value error, ")
    if not loc or problem["type"] == RULE:  # a rule: its message names the settings
        return f"invalid settings: {message}"
    name = _env_name(str(loc[0]))
    if problem["type"] == "missing":
        return f"setting {name} is missing: set it in the environment or .env"
    return f"setting {name} is invalid: {message}"


def known_names() -> frozenset[str]:
    """Every environment name a setting is read from (as new settings are added to the
    model, they are known here without a list to keep)."""
    names = {_env_name(field) for field in Settings.model_fields}
    return frozenset(names) | OTHER_KNOWN


def unknown_names(
    environ: dict[str, str] | None = None, env_file: str | Path | None = ".env"
) -> list[str]:
    """A warning line for each LICENSEBOT_* variable (environment or `.env`) that no
    setting reads, with the likeliest meant name: a misspelt setting is otherwise
    silently ignored."""
    seen = set(os.environ if environ is None else environ)
    if env_file is not None and Path(env_file).is_file():
        from dotenv import dotenv_values

        seen |= {name for name in dotenv_values(env_file) if name}
    known = known_names()
    warnings = []
    for name in sorted(n for n in seen if n.startswith("LICENSEBOT_") and n not in known):
        # Compared without the shared prefix, which would make every name look close.
        stems = {k.removeprefix("LICENSEBOT_"): k for k in known}
        close = difflib.get_close_matches(
            name.removeprefix("LICENSEBOT_"), sorted(stems), n=1, cutoff=0.75
        )
        hint = f" (did you mean {stems[close[0]]}?)" if close else ""
        warnings.append(f"warning: unknown setting {name} is ignored{hint}")
    return warnings


def _env_name(field: str) -> str:
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return field.upper()
