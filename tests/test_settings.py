"""Settings (SPEC 4): one clear line naming the setting at fault, never a secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.licensing.policy import Policy
from bot.settings import Settings, SettingsError, load_settings

SECRET = "xoxb-very-secret"
SIGNING = "signing-very-secret-123"
APP = "xapp-very-secret-456"
BASE = {
    "SLACK_BOT_TOKEN": SECRET,
    "SLACK_SIGNING_SECRET": SIGNING,
    "SLACK_APP_TOKEN": APP,
    "LICENSEBOT_APPROVALS_CHANNEL": "C0APPROVE",
    "LICENSEBOT_ALERTS_CHANNEL": "C0ALERTS",
    "LICENSEBOT_ADMINS": "U0ADMIN1,U0ADMIN2",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """Nothing from the machine: no SLACK_/LICENSEBOT_ variables, no .env in the cwd."""
    for name in list(os.environ):
        if name.upper().startswith(("SLACK_", "LICENSEBOT_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def load(monkeypatch, env: dict[str, str | None]) -> Settings:
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return load_settings(_env_file=None)


def failure(monkeypatch, env: dict[str, str | None]) -> str:
    with pytest.raises(SettingsError) as caught:
        load(monkeypatch, env)
    message = str(caught.value)
    assert "\n" not in message, "the error must be one line"
    for secret in (SECRET, SIGNING, APP):
        assert secret not in message
    return message


def test_complete_settings_load(monkeypatch):
    settings = load(monkeypatch, BASE)
    assert settings.slack_bot_token.get_secret_value() == SECRET
    assert settings.approvals_channel == "C0APPROVE"
    assert settings.alerts_channel == "C0ALERTS"
    assert settings.admin_ids == {"U0ADMIN1", "U0ADMIN2"}


def test_defaults_match_the_spec_table(monkeypatch):
    settings = load(monkeypatch, {**BASE, "SLACK_SIGNING_SECRET": None, "SLACK_APP_TOKEN": None})
    assert settings.slack_signing_secret is None
    assert settings.slack_app_token is None
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database == Path("licensebot.db")
    assert settings.admin_group is None
    assert settings.timezone == "UTC"
    assert settings.catalog is None
    assert (
        settings.grace_days,
        settings.overage_max_percent,
        settings.inactive_days,
        settings.trial_days,
        settings.trial_reminder_day,
        settings.trial_max_users,
        settings.utilization_low,
        settings.utilization_high,
        settings.reminder_hours,
        settings.request_expire_days,
    ) == (30, 10, 30, 14, 12, 50, 0.80, 0.95, 24, 14)
    assert settings.policy == Policy()


def test_environment_values_reach_the_policy(monkeypatch):
    settings = load(
        monkeypatch,
        {
            **BASE,
            "LICENSEBOT_GRACE_DAYS": "45",
            "LICENSEBOT_TRIAL_MAX_USERS": "25",
            "LICENSEBOT_UTILIZATION_HIGH": "0.9",
            "LICENSEBOT_DATABASE": "/tmp/x.db",
            "LICENSEBOT_TIMEZONE": "Europe/Berlin",
        },
    )
    assert settings.policy.grace_days == 45
    assert settings.policy.trial_max_users == 25
    assert settings.policy.utilization_high == 0.9
    assert settings.database == Path("/tmp/x.db")
    assert str(settings.tz) == "Europe/Berlin"


def test_missing_bot_token_names_it(monkeypatch):
    message = failure(monkeypatch, {**BASE, "SLACK_BOT_TOKEN": None})
    assert "SLACK_BOT_TOKEN" in message
    assert "missing" in message


def test_empty_bot_token_is_missing(monkeypatch):
    # `SLACK_BOT_TOKEN=` (a .env template left blank) must stop the program at start.
    message = failure(monkeypatch, {**BASE, "SLACK_BOT_TOKEN": ""})
    assert "SLACK_BOT_TOKEN" in message


@pytest.mark.parametrize("name", ["LICENSEBOT_APPROVALS_CHANNEL", "LICENSEBOT_ALERTS_CHANNEL"])
def test_missing_channel_names_it(monkeypatch, name):
    message = failure(monkeypatch, {**BASE, name: None})
    assert name in message
    assert "missing" in message


def test_bad_channel_id_names_it(monkeypatch):
    message = failure(monkeypatch, {**BASE, "LICENSEBOT_ALERTS_CHANNEL": "#alerts"})
    assert "LICENSEBOT_ALERTS_CHANNEL" in message


def test_no_admins_names_both_settings(monkeypatch):
    message = failure(monkeypatch, {**BASE, "LICENSEBOT_ADMINS": None})
    assert "LICENSEBOT_ADMINS" in message
    assert "LICENSEBOT_ADMIN_GROUP" in message


def test_blank_admin_list_counts_as_none(monkeypatch):
    message = failure(monkeypatch, {**BASE, "LICENSEBOT_ADMINS": " , "})
    assert "LICENSEBOT_ADMINS" in message


def test_admin_group_alone_is_fine(monkeypatch):
    settings = load(
        monkeypatch, {**BASE, "LICENSEBOT_ADMINS": None, "LICENSEBOT_ADMIN_GROUP": "S0ADMINS"}
    )
    assert settings.admin_group == "S0ADMINS"
    assert settings.admin_ids == frozenset()


def test_invalid_int_names_the_variable_not_the_value(monkeypatch):
    message = failure(monkeypatch, {**BASE, "LICENSEBOT_GRACE_DAYS": "abc"})
    assert "LICENSEBOT_GRACE_DAYS" in message
    assert "abc" not in message


def test_out_of_range_int_names_the_variable(monkeypatch):
    message = failure(monkeypatch, {**BASE, "LICENSEBOT_INACTIVE_DAYS": "0"})
    assert "LICENSEBOT_INACTIVE_DAYS" in message


def test_low_above_high_names_both(monkeypatch):
    message = failure(
        monkeypatch,
        {**BASE, "LICENSEBOT_UTILIZATION_LOW": "0.9", "LICENSEBOT_UTILIZATION_HIGH": "0.8"},
    )
    assert "LICENSEBOT_UTILIZATION_LOW" in message
    assert "LICENSEBOT_UTILIZATION_HIGH" in message


def test_unknown_timezone_rejected(monkeypatch):
    message = failure(monkeypatch, {**BASE, "LICENSEBOT_TIMEZONE": "Mars/Olympus_Mons"})
    assert "LICENSEBOT_TIMEZONE" in message


def test_api_url_gets_a_trailing_slash(monkeypatch):
    settings = load(monkeypatch, {**BASE, "SLACK_API_URL": "http://127.0.0.1:9/api"})
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"


def test_api_url_with_a_slash_is_unchanged(monkeypatch):
    settings = load(monkeypatch, {**BASE, "SLACK_API_URL": "http://127.0.0.1:9/api/"})
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"


def test_api_url_must_be_http(monkeypatch):
    message = failure(monkeypatch, {**BASE, "SLACK_API_URL": "ftp://example.com/api"})
    assert "SLACK_API_URL" in message


def test_secrets_are_not_in_repr_or_str(monkeypatch):
    settings = load(monkeypatch, BASE)
    for text in (repr(settings), str(settings), str(settings.model_dump())):
        assert SECRET not in text
        assert SIGNING not in text
        assert APP not in text


@pytest.mark.parametrize(
    "broken",
    [
        {"LICENSEBOT_ALERTS_CHANNEL": None},
        {"LICENSEBOT_ADMINS": None},
        {"LICENSEBOT_GRACE_DAYS": "abc"},
        {"LICENSEBOT_TIMEZONE": "Nowhere/Land"},
        {"SLACK_API_URL": "not a url"},
        {"LICENSEBOT_UTILIZATION_LOW": "2"},
    ],
)
def test_secret_never_in_an_error(monkeypatch, broken):
    message = failure(monkeypatch, {**BASE, **broken})
    assert SECRET not in message


def test_secret_passed_as_an_override_stays_hidden(monkeypatch):
    with pytest.raises(SettingsError) as caught:
        load_settings(
            _env_file=None,
            slack_bot_token=SECRET,
            approvals_channel="C1",
            alerts_channel="C2",
            admins="U1",
            grace_days=SECRET,
        )
    assert "LICENSEBOT_GRACE_DAYS" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_dotenv_file_is_read_from_the_working_directory(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text(
        "\n".join(f"{k}={v}" for k, v in BASE.items()) + "\nLICENSEBOT_GRACE_DAYS=7\n",
        encoding="utf-8",
    )
    settings = load_settings()
    assert settings.grace_days == 7
    assert settings.slack_bot_token.get_secret_value() == SECRET


def test_serve_without_settings_exits_with_one_line_per_missing_setting(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)},
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    # Every missing setting in one run, one line each (SPEC 4), the token first.
    assert len(lines) == 4, result.stderr
    assert all(line.startswith("licensebot: ") for line in lines)
    assert "SLACK_BOT_TOKEN" in lines[0]
    for name in ("LICENSEBOT_APPROVALS_CHANNEL", "LICENSEBOT_ALERTS_CHANNEL", "LICENSEBOT_ADMINS"):
        assert any(name in line for line in lines), name
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_lifecycle_settings_defaults_and_values(monkeypatch):
    settings = load(monkeypatch, BASE)
    assert settings.four_eyes is True and settings.reclaim_on_deactivation is False
    assert settings.finance_group is None and settings.finance_threshold is None
    assert settings.expiry_warning_days == 3
    assert settings.policy.finance_threshold is None and settings.policy.four_eyes is True
    settings = load(
        monkeypatch,
        {
            **BASE,
            "LICENSEBOT_FOUR_EYES": "false",
            "LICENSEBOT_FINANCE_GROUP": "S0FINANCE",
            "LICENSEBOT_FINANCE_THRESHOLD": "1500.50",
            "LICENSEBOT_RECLAIM_ON_DEACTIVATION": "true",
            "LICENSEBOT_EXPIRY_WARNING_DAYS": "7",
        },
    )
    assert settings.policy.four_eyes is False and settings.reclaim_on_deactivation is True
    assert str(settings.policy.finance_threshold) == "1500.50"
    assert settings.policy.expiry_warning_days == 7


def test_finance_settings_go_together(monkeypatch):
    message = failure(monkeypatch, {**BASE, "LICENSEBOT_FINANCE_THRESHOLD": "100"})
    assert "LICENSEBOT_FINANCE_GROUP and LICENSEBOT_FINANCE_THRESHOLD go together" in message
    message = failure(
        monkeypatch,
        {**BASE, "LICENSEBOT_FINANCE_GROUP": "S0F", "LICENSEBOT_FINANCE_THRESHOLD": "lots"},
    )
    assert "LICENSEBOT_FINANCE_THRESHOLD" in message
