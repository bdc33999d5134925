"""The catalog (SPEC 1.6): shipped data, a custom file, and malformed files refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.licensing.catalog import load_catalog
from bot.licensing.commands import SetPool
from bot.licensing.errors import CatalogError, LicenseError
from bot.licensing.parsing import parse_command

ALL_MODULES = {"wfo", "qm", "insights", "analytics", "chat", "social"}

CUSTOM = """
[seat_types.agent]
label = "Agent"

[seat_types.bot]
label = "Virtual agent"

[modules.voice]
label = "Voice"
price = 12.50

[modules.chat]
label = "Chat"

[editions.gold]
label = "Gold"
modules = ["voice", "chat"]
prices = { agent = 200, bot = 10 }

[editions.bronze]
modules = []
"""


def write(tmp_path, text: str):
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_catalog_has_the_genesys_editions():
    catalog = load_catalog()
    assert list(catalog.editions) == ["premium", "standard", "partner"]
    assert set(catalog.seat_types) == {"agent", "supervisor", "executive"}
    assert set(catalog.modules) == ALL_MODULES


def test_shipped_module_availability():
    catalog = load_catalog()
    assert catalog.editions["premium"].modules == ALL_MODULES
    assert catalog.editions["standard"].modules == {"qm", "chat"}
    assert catalog.editions["partner"].modules == {"chat"}


def test_shipped_labels_and_prices():
    catalog = load_catalog()
    assert catalog.modules["wfo"] == "Workforce Optimization"
    assert catalog.seat_types["executive"] == "Executive"
    assert catalog.default_price("premium", "agent") == Decimal("150")
    assert catalog.default_price("premium", "wfo") == Decimal("35")


def test_shipped_catalog_refuses_modules_outside_the_edition():
    catalog = load_catalog()
    catalog.check_modules("premium", tuple(ALL_MODULES))
    catalog.check_modules("standard", ("qm", "chat"))
    with pytest.raises(LicenseError) as caught:
        catalog.check_modules("partner", ("chat", "wfo"))
    assert str(caught.value) == (
        "+wfo is not included in the partner edition: upgrade to premium or drop +wfo"
    )


def test_custom_catalog_from_a_path(tmp_path):
    catalog = load_catalog(write(tmp_path, CUSTOM))
    assert list(catalog.editions) == ["bronze", "gold"]
    assert catalog.editions["gold"].label == "Gold"
    assert catalog.editions["bronze"].label == "Bronze"
    assert catalog.editions["gold"].modules == {"voice", "chat"}
    assert catalog.editions["bronze"].modules == frozenset()
    assert catalog.seat_types == {"agent": "Agent", "bot": "Virtual agent"}
    assert catalog.default_price("gold", "bot") == Decimal("10")
    assert catalog.default_price("gold", "voice") == Decimal("12.50")
    assert catalog.default_price("gold", "chat") is None
    assert catalog.default_price("bronze", "agent") is None


def test_custom_catalog_drives_the_parser(tmp_path):
    catalog = load_catalog(write(tmp_path, CUSTOM))
    assert parse_command("pool set gold voice 7", catalog) == SetPool("gold", "voice", 7)
    with pytest.raises(LicenseError) as caught:
        parse_command("request a@b.co agent bronze +voice", catalog)
    assert "+voice is not included in the bronze edition" in str(caught.value)
    assert "upgrade to gold" in str(caught.value)
    with pytest.raises(LicenseError) as caught:
        parse_command("request a@b.co agent premium", catalog)
    assert "unknown edition `premium`" in str(caught.value)


def test_custom_catalog_accepts_a_string_path(tmp_path):
    catalog = load_catalog(str(write(tmp_path, CUSTOM)))
    assert "gold" in catalog.editions


def test_unknown_module_in_an_edition(tmp_path):
    text = CUSTOM.replace('modules = ["voice", "chat"]', 'modules = ["voice", "fax"]')
    with pytest.raises(CatalogError) as caught:
        load_catalog(write(tmp_path, text))
    assert "gold" in str(caught.value)
    assert "fax" in str(caught.value)


def test_bad_toml(tmp_path):
    with pytest.raises(CatalogError) as caught:
        load_catalog(write(tmp_path, "[editions.gold\nmodules = ["))
    assert "cannot read catalog" in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path / "nope.toml")
    assert "nope.toml" in str(caught.value)


@pytest.mark.parametrize("section", ["seat_types", "modules", "editions"])
def test_missing_section(tmp_path, section):
    kept = [block for block in CUSTOM.split("\n\n") if not block.strip().startswith(f"[{section}.")]
    with pytest.raises(CatalogError) as caught:
        load_catalog(write(tmp_path, "\n\n".join(kept)))
    assert "missing" in str(caught.value)
    assert section in str(caught.value)


def test_negative_module_price(tmp_path):
    with pytest.raises(CatalogError) as caught:
        load_catalog(write(tmp_path, CUSTOM.replace("price = 12.50", "price = -1")))
    assert "negative" in str(caught.value)


def test_negative_seat_price(tmp_path):
    with pytest.raises(CatalogError) as caught:
        load_catalog(write(tmp_path, CUSTOM.replace("agent = 200", "agent = -200")))
    assert "negative" in str(caught.value)


def test_price_that_is_not_a_number(tmp_path):
    with pytest.raises(CatalogError) as caught:
        load_catalog(write(tmp_path, CUSTOM.replace("price = 12.50", 'price = "cheap"')))
    assert "not a number" in str(caught.value)


def test_price_for_an_unknown_seat_type(tmp_path):
    with pytest.raises(CatalogError) as caught:
        load_catalog(write(tmp_path, CUSTOM.replace("bot = 10", "robot = 10")))
    assert "gold" in str(caught.value)


def test_names_must_be_lower_case_letters_and_digits(tmp_path):
    with pytest.raises(CatalogError) as caught:
        load_catalog(write(tmp_path, CUSTOM.replace("[editions.bronze]", "[editions.Bronze]")))
    assert "Bronze" in str(caught.value)


def test_a_name_cannot_be_both_seat_type_and_module(tmp_path):
    text = CUSTOM + '\n[modules.bot]\nlabel = "Bot add-on"\n'
    with pytest.raises(CatalogError) as caught:
        load_catalog(write(tmp_path, text))
    assert "both a seat type and a module" in str(caught.value)


def test_section_of_the_wrong_shape(tmp_path):
    text = 'seat_types = ["agent"]\n[modules.chat]\n[editions.gold]\nmodules = ["chat"]\n'
    with pytest.raises(CatalogError) as caught:
        load_catalog(write(tmp_path, text))
    assert "malformed" in str(caught.value)
