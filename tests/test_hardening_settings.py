"""Issue 9 (settings and the command line): every problem in one run, shapes of ids and
tokens, misspelt names, database-only commands without Slack settings, dates in range."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, known_names, load_settings, unknown_names

BASE = {
    "SLACK_BOT_TOKEN": "xoxb-very-secret",
    "LICENSEBOT_APPROVALS_CHANNEL": "C0APPROVE",
    "LICENSEBOT_ALERTS_CHANNEL": "C0ALERTS",
    "LICENSEBOT_ADMINS": "U0ADMIN1,W0ADMIN2",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith(("SLACK_", "LICENSEBOT_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def problems(monkeypatch: pytest.MonkeyPatch, env: dict[str, str | None]) -> list[str]:
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    return caught.value.problems


def test_every_problem_is_reported_in_one_run(monkeypatch: pytest.MonkeyPatch) -> None:
    found = problems(
        monkeypatch,
        {
            "SLACK_BOT_TOKEN": "abc",
            "LICENSEBOT_ADMINS": "bob",
            "LICENSEBOT_ALERTS_CHANNEL": "#alerts",
            "LICENSEBOT_APPROVALS_CHANNEL": None,
            "LICENSEBOT_TIMEZONE": "Mars/Base",
            "LICENSEBOT_GRACE_DAYS": "soon",
        },
    )
    assert len(found) == 6, found
    for name in (
        "SLACK_BOT_TOKEN",
        "LICENSEBOT_ADMINS",
        "LICENSEBOT_ALERTS_CHANNEL",
        "LICENSEBOT_APPROVALS_CHANNEL",
        "LICENSEBOT_TIMEZONE",
        "LICENSEBOT_GRACE_DAYS",
    ):
        assert sum(name in line for line in found) == 1, (name, found)
    assert all("\n" not in line for line in found)
    assert not any("abc" in line or "soon" in line for line in found)


def test_rules_between_settings_are_reported_alongside_field_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = problems(
        monkeypatch,
        {
            **BASE,
            "LICENSEBOT_ADMINS": None,
            "LICENSEBOT_TIMEZONE": "Nowhere/Land",
            "LICENSEBOT_UTILIZATION_LOW": "0.9",
            "LICENSEBOT_UTILIZATION_HIGH": "0.5",
        },
    )
    assert any("LICENSEBOT_ADMIN_GROUP" in line for line in found)
    assert any("LICENSEBOT_TIMEZONE" in line for line in found)
    assert any("LICENSEBOT_UTILIZATION_LOW must not exceed" in line for line in found)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_BOT_TOKEN", "abc"),
        ("SLACK_BOT_TOKEN", "xapp-1-an-app-token"),
        ("SLACK_APP_TOKEN", "xoxb-a-bot-token"),
        ("LICENSEBOT_ADMINS", "bob"),
        ("LICENSEBOT_ADMINS", "U0ADMIN1,alice"),
        ("LICENSEBOT_ADMINS", "u0admin1"),
        ("LICENSEBOT_APPROVALS_CHANNEL", "general"),
        ("LICENSEBOT_ALERTS_CHANNEL", "X0ALERTS"),
        ("LICENSEBOT_ADMIN_GROUP", "admins"),
    ],
)
def test_ids_and_tokens_must_have_their_shape(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    [line] = problems(monkeypatch, {**BASE, name: value})
    assert name in line and value not in line


def test_well_shaped_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        **BASE,
        "SLACK_APP_TOKEN": "xapp-1-x",
        "LICENSEBOT_ADMIN_GROUP": "S0A",
        "LICENSEBOT_APPROVALS_CHANNEL": "G0PRIVATE",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(_env_file=None)
    assert settings.admin_ids == {"U0ADMIN1", "W0ADMIN2"}


def test_unknown_names_are_warned_about_with_a_guess(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("LICENSEBOT_TIMEZON=Europe/Berlin\n", encoding="utf-8")
    warnings = unknown_names(
        {
            "LICENSEBOT_GRACEDAYS": "7",
            "LICENSEBOT_GRACE_DAYS": "7",
            "LICENSEBOT_ZZZ": "1",
            "GENESYS_WHATEVER": "x",
            "PATH": "/bin",
        },
        env_file,
    )
    assert warnings == [
        "warning: unknown setting LICENSEBOT_GRACEDAYS is ignored "
        "(did you mean LICENSEBOT_GRACE_DAYS?)",
        "warning: unknown setting LICENSEBOT_TIMEZON is ignored "
        "(did you mean LICENSEBOT_TIMEZONE?)",
        "warning: unknown setting LICENSEBOT_ZZZ is ignored",
    ]


def test_known_names_come_from_the_settings_model() -> None:
    names = known_names()
    assert "LICENSEBOT_GRACE_DAYS" in names and "SLACK_BOT_TOKEN" in names
    for field in Settings.model_fields:  # a setting added to the model is known at once
        assert any(
            name.removeprefix("LICENSEBOT_").lower() == field or name.lower() == field
            for name in names
        ), field


# ------------------------------------------------------------------ the command line


def licensebot(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=full,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_database_only_commands_need_no_slack_settings(tmp_path: Path) -> None:
    env = {"LICENSEBOT_DATABASE": str(tmp_path / "only.db")}
    listed = licensebot(tmp_path, env, "jobs", "list")
    assert listed.returncode == 0, listed.stderr
    assert "limits" in listed.stdout
    dry = licensebot(tmp_path, env, "jobs", "run", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    report = licensebot(tmp_path, env, "report", "status")
    assert report.returncode == 0, report.stderr
    csv = tmp_path / "activity.csv"
    csv.write_text("email,last_active\nnobody@example.com,2026-11-01\n", encoding="utf-8")
    imported = licensebot(tmp_path, env, "import", "activity", str(csv))
    assert imported.returncode == 0, imported.stderr

    # Sending to Slack does need them: each missing one is named, one line each.
    real = licensebot(tmp_path, env, "jobs", "run")
    assert real.returncode == 2
    lines = real.stderr.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("licensebot: ") for line in lines)
    assert "SLACK_BOT_TOKEN" in lines[0]


def test_the_command_line_warns_about_a_misspelt_setting(tmp_path: Path) -> None:
    env = {"LICENSEBOT_DATABASE": str(tmp_path / "w.db"), "LICENSEBOT_TIMEZOEN": "UTC"}
    result = licensebot(tmp_path, env, "jobs", "list")
    assert result.returncode == 0, result.stderr
    assert (
        "licensebot: warning: unknown setting LICENSEBOT_TIMEZOEN is ignored "
        "(did you mean LICENSEBOT_TIMEZONE?)"
    ) in result.stderr.splitlines()


@pytest.mark.parametrize(
    "as_of", ["0001-01-02T00:00:00+00:00", "9999-12-31T23:00:00+00:00", "1999-12-31T12:00:00"]
)
def test_jobs_run_as_of_outside_the_window_is_one_line(tmp_path: Path, as_of: str) -> None:
    env = {
        "LICENSEBOT_DATABASE": str(tmp_path / "d.db"),
        "LICENSEBOT_TIMEZONE": "America/Los_Angeles",
    }
    result = licensebot(tmp_path, env, "jobs", "run", "--dry-run", "--as-of", as_of)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"licensebot: --as-of `{as_of}` is out of range: use a date from 2000-01-01 to 2100-12-31"
    ]
    assert "Traceback" not in result.stderr


def test_report_dates_outside_the_window_are_one_line(tmp_path: Path) -> None:
    env = {"LICENSEBOT_DATABASE": str(tmp_path / "r.db")}
    result = licensebot(tmp_path, env, "report", "audit", "--from", "0001-01-01")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "licensebot: --from is out of range: use a date from 2000-01-01 to 2100-12-31"
    ]
