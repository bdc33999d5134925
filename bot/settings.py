"""Settings from the environment or `.env` (SPEC 4). Secrets stay SecretStr: never printed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.licensing.policy import Policy

_REQUIRED: Any = ...


def _setting(env: str, default: Any = _REQUIRED, **constraints: Any) -> Any:
    # The environment name is the contract; the field name (env name without the
    # LICENSEBOT_ prefix, lower-cased) lets code and tests build settings directly.
    field = env.removeprefix("LICENSEBOT_").lower()
    return Field(default, validation_alias=AliasChoices(env, field), **constraints)


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
    admin_group: str | None = _setting("LICENSEBOT_ADMIN_GROUP", None)
    timezone: str = _setting("LICENSEBOT_TIMEZONE", "UTC")
    grace_days: int = _setting("LICENSEBOT_GRACE_DAYS", 30, ge=0, le=3650)
    overage_max_percent: int = _setting("LICENSEBOT_OVERAGE_MAX_PERCENT", 10, ge=0, le=1000)
    inactive_days: int = _setting("LICENSEBOT_INACTIVE_DAYS", 30, ge=1, le=3650)
    trial_days: int = _setting("LICENSEBOT_TRIAL_DAYS", 14, ge=1, le=365)
    trial_reminder_day: int = _setting("LICENSEBOT_TRIAL_REMINDER_DAY", 12, ge=1, le=365)
    trial_max_users: int = _setting("LICENSEBOT_TRIAL_MAX_USERS", 50, ge=0)
    utilization_low: float = _setting("LICENSEBOT_UTILIZATION_LOW", 0.80, ge=0, le=1)
    utilization_high: float = _setting("LICENSEBOT_UTILIZATION_HIGH", 0.95, ge=0, le=1)
    reminder_hours: int = _setting("LICENSEBOT_REMINDER_HOURS", 24, ge=1, le=24 * 365)
    request_expire_days: int = _setting("LICENSEBOT_REQUEST_EXPIRE_DAYS", 14, ge=1, le=3650)
    catalog: Path | None = _setting("LICENSEBOT_CATALOG", None)
    four_eyes: bool = _setting("LICENSEBOT_FOUR_EYES", True)
    finance_group: str | None = _setting("LICENSEBOT_FINANCE_GROUP", None)
    finance_threshold: Decimal | None = _setting("LICENSEBOT_FINANCE_THRESHOLD", None, ge=0)
    reclaim_on_deactivation: bool = _setting("LICENSEBOT_RECLAIM_ON_DEACTIVATION", False)
    expiry_warning_days: int = _setting("LICENSEBOT_EXPIRY_WARNING_DAYS", 3, ge=0, le=365)
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
        return value

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
        if not value or not value.isalnum():
            raise ValueError("must be a channel id like C0123ABCD")
        return value

    @model_validator(mode="after")
    def _someone_is_admin(self) -> Settings:
        if not self.admin_ids and not self.admin_group:
            raise ValueError("LICENSEBOT_ADMINS is required unless LICENSEBOT_ADMIN_GROUP is set")
        if self.utilization_low > self.utilization_high:
            raise ValueError(
                "LICENSEBOT_UTILIZATION_LOW must not exceed LICENSEBOT_UTILIZATION_HIGH"
            )
        return self

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
        return frozenset(a.strip() for a in self.admins.split(",") if a.strip())

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
    """One line naming the setting at fault; never the value."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe(error)) from None


def describe(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = first.get("loc") or ()
    if not loc:  # a model-level rule: its message names the settings
        return f"invalid settings: {first['msg'].removeprefix('Value error, ')}"
    name = _env_name(str(loc[0]))
    if first["type"] == "missing":
        return f"setting {name} is missing: set it in the environment or .env"
    return f"setting {name} is invalid: {first['msg'].removeprefix('Value error, ')}"


def _env_name(field: str) -> str:
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return field.upper()
