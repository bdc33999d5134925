"""app_manifest.yml and bot.manifest.build_manifest against Slack's manifest schema.

Regenerate app_manifest.yml after changing bot/manifest.py with:

    .venv/bin/python tests/test_manifest.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.manifest import build_manifest, manifest_json

ROOT = Path(__file__).resolve().parents[1]
MANIFEST_FILE = ROOT / "app_manifest.yml"
# CI checks out ../shared beside the clone.
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "shared" / "slack" / "manifest.schema.json"

EXPECTED_SCOPES = [
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "users:read",
    "users:read.email",
    "usergroups:read",
    "files:write",
    "channels:history",
    "groups:history",
    "im:history",
]

HEADER = """\
# Slack app manifest for licensebot (Socket Mode).
# Generated from bot/manifest.py: `licensebot manifest` prints the same manifest as JSON
# (`licensebot manifest --url https://host` for HTTP mode). Do not edit by hand:
# tests/test_manifest.py checks this file equals build_manifest(); regenerate it with
# `.venv/bin/python tests/test_manifest.py`.
"""


def render_manifest_file() -> str:
    body = yaml.safe_dump(build_manifest(None), sort_keys=False, allow_unicode=True, width=88)
    return HEADER + body


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    if not SCHEMA_FILE.exists():
        pytest.fail(f"Slack manifest schema not found at {SCHEMA_FILE} (../shared missing?)")
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def assert_valid(validator: jsonschema.Draft7Validator, manifest: dict[str, Any]) -> None:
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors
    )


def load_manifest_file() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST_FILE.read_text())
    assert isinstance(data, dict)
    return data


def test_schema_rejects_a_broken_manifest(validator: jsonschema.Draft7Validator) -> None:
    # Guard against a vacuous schema: an unknown key and a bad command must fail.
    broken = build_manifest(None)
    broken["features"]["slash_commands"][0]["command"] = "license"
    broken["surprise"] = True
    assert len(list(validator.iter_errors(broken))) >= 2


def test_app_manifest_file_is_valid(validator: jsonschema.Draft7Validator) -> None:
    assert_valid(validator, load_manifest_file())


def test_http_manifest_is_valid(validator: jsonschema.Draft7Validator) -> None:
    assert_valid(validator, build_manifest("https://example.com"))


def test_app_manifest_file_equals_build_manifest() -> None:
    assert load_manifest_file() == build_manifest(None), (
        "app_manifest.yml is stale: run `.venv/bin/python tests/test_manifest.py`"
    )
    assert MANIFEST_FILE.read_text() == render_manifest_file()


def test_scopes_are_exactly_what_licensebot_needs() -> None:
    for manifest in (load_manifest_file(), build_manifest("https://example.com")):
        scopes = manifest["oauth_config"]["scopes"]
        assert scopes["bot"] == EXPECTED_SCOPES
        assert set(scopes) == {"bot"}  # no user scopes


def test_socket_mode_manifest() -> None:
    manifest = load_manifest_file()
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"] == {"is_enabled": True}
    assert "request_url" not in settings["event_subscriptions"]
    assert "url" not in manifest["features"]["slash_commands"][0]
    assert "/slack/events" not in json.dumps(manifest)


def test_http_manifest_points_every_request_url_at_slack_events() -> None:
    for url in ("https://example.com", "https://example.com/"):
        manifest = build_manifest(url)
        settings = manifest["settings"]
        assert settings["socket_mode_enabled"] is False
        expected = "https://example.com/slack/events"
        assert settings["interactivity"] == {"is_enabled": True, "request_url": expected}
        assert settings["event_subscriptions"]["request_url"] == expected
        assert manifest["features"]["slash_commands"][0]["url"] == expected


def test_features_and_events() -> None:
    manifest = build_manifest(None)
    assert manifest["display_information"]["name"] == "licensebot"
    features = manifest["features"]
    assert features["bot_user"]["display_name"] == "licensebot"
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["app_home"]["messages_tab_enabled"] is True
    [command] = features["slash_commands"]
    assert command["command"] == "/license"
    assert command["usage_hint"] and command["description"]
    # Mentions must reach the app as <@U123|name>, which the /license grammar parses.
    assert command["should_escape"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == [
        "app_home_opened",
        "message.channels",
        "message.groups",
        "user_change",  # SPEC 9: a deactivated holder
    ]


def test_manifest_json_round_trips() -> None:
    assert json.loads(manifest_json("https://example.com")) == build_manifest("https://example.com")
    assert manifest_json(None).startswith("{\n  ")


if __name__ == "__main__":
    MANIFEST_FILE.write_text(render_manifest_file())
    print(f"wrote {MANIFEST_FILE}")
