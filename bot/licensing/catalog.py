"""The licensing catalog: editions, seat types, add-on modules and prices, read from TOML."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from bot.licensing.errors import CatalogError, LicenseError
from bot.licensing.policy import PoolState

EDITION_ORDER = ("premium", "standard", "partner")


@dataclass(frozen=True)
class Edition:
    name: str
    label: str
    modules: frozenset[str]
    prices: dict[str, Decimal] = field(default_factory=dict)
    grace_days: int | None = None  # None: the policy's LICENSEBOT_GRACE_DAYS


@dataclass(frozen=True)
class Catalog:
    editions: dict[str, Edition]
    seat_types: dict[str, str]  # name -> label
    modules: dict[str, str]  # name -> label
    module_prices: dict[str, Decimal]
    # Genesys Cloud license definition ids: "<edition>.<seat type>" or "<module>" -> ids.
    genesys: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def edition(self, name: str) -> Edition:
        edition = self.editions.get(name.lower())
        if edition is None:
            raise LicenseError(f"unknown edition `{name}`: use {_one_of(self.editions)}")
        return edition

    def seat_type(self, name: str) -> str:
        key = name.lower()
        if key not in self.seat_types:
            raise LicenseError(f"unknown seat type `{name}`: use {_one_of(self.seat_types)}")
        return key

    def module(self, name: str) -> str:
        key = name.lower().lstrip("+")
        if key not in self.modules:
            shown = name.lstrip("+")
            raise LicenseError(f"unknown module `+{shown}`: use {_one_of(self.modules, '+')}")
        return key

    def is_item(self, name: str) -> bool:
        return name.lower() in self.seat_types or name.lower() in self.modules

    def check_modules(self, edition_name: str, modules: tuple[str, ...]) -> None:
        """Raise unless every module is available in the edition."""
        edition = self.edition(edition_name)
        for module in modules:
            if module not in edition.modules:
                # Editions are ordered richest first: name the first one that has it.
                having = [e.name for e in self.editions.values() if module in e.modules]
                upgrade = having[0] if having else "an edition that has it"
                raise LicenseError(
                    f"+{module} is not included in the {edition.name} edition: "
                    f"upgrade to {upgrade} or drop +{module}"
                )

    def seat_price(self, edition: str, item: str, own: Decimal | None) -> Decimal | None:
        """A seat's monthly price: the pool's own, else the catalog's list price."""
        if own is not None:
            return own
        if edition not in self.editions:
            return None
        return self.default_price(edition, item)

    def price_pool(self, pool: PoolState) -> PoolState:
        """The pool with its seat price worked out (PoolState.seat_price, .list_price)."""
        price = self.seat_price(pool.edition, pool.item, pool.price)
        return replace(pool, seat_price=price, list_price=price is not None and pool.price is None)

    def default_price(self, edition: str, item: str) -> Decimal | None:
        if item in self.modules:
            return self.module_prices.get(item)
        return self.editions[edition].prices.get(item)

    def edition_grace_days(self) -> tuple[tuple[str, int], ...]:
        """(edition, days) for each edition with a grace period of its own."""
        return tuple(
            (e.name, e.grace_days) for e in self.editions.values() if e.grace_days is not None
        )

    # --- Genesys Cloud mapping (SPEC 8) ------------------------------------------------

    def genesys_licenses(
        self, edition: str, seat_type: str, modules: tuple[str, ...] = ()
    ) -> tuple[str, ...]:
        """The license definition ids a seat and its modules stand for (may be empty:
        unmapped seats are kept in the ledger only)."""
        ids: list[str] = []
        for key in (f"{edition}.{seat_type}", *modules):
            for license_id in self.genesys.get(key, ()):
                if license_id not in ids:
                    ids.append(license_id)
        return tuple(ids)

    def genesys_unmapped(self) -> list[str]:
        """Every seat ("premium agent") and module ("+wfo") with no license id."""
        missing = [
            f"{e} {s}"
            for e in self.editions
            for s in self.seat_types
            if f"{e}.{s}" not in self.genesys
        ]
        offered = {m for e in self.editions.values() for m in e.modules}
        missing += [f"+{m}" for m in self.modules if m in offered and m not in self.genesys]
        return missing

    def genesys_mapped_ids(self) -> frozenset[str]:
        return frozenset(i for ids in self.genesys.values() for i in ids)

    def genesys_seat_for(
        self, held: set[str] | frozenset[str]
    ) -> tuple[str, str, tuple[str, ...]] | None:
        """The richest seat (and the modules of its edition) whose licenses are all held:
        what adopting a license found in Genesys records in the ledger."""
        best: tuple[int, str, str] | None = None
        for edition in self.editions:
            for seat_type in self.seat_types:
                ids = self.genesys.get(f"{edition}.{seat_type}")
                if ids and set(ids) <= held and (best is None or len(ids) > best[0]):
                    best = (len(ids), edition, seat_type)
        if best is None:
            return None
        _, edition, seat_type = best
        seat_ids = set(self.genesys[f"{edition}.{seat_type}"])
        modules = tuple(
            m
            for m in self.modules
            if m in self.editions[edition].modules
            and self.genesys.get(m)
            and set(self.genesys[m]) <= held
            and not set(self.genesys[m]) <= seat_ids
        )
        return edition, seat_type, modules


def _one_of(names: Iterable[str], prefix: str = "") -> str:
    items = [f"{prefix}{n}" for n in names]
    return ", ".join(items[:-1]) + f" or {items[-1]}" if len(items) > 1 else items[0]


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and validate a catalog; `None` loads the one shipped in the package."""
    try:
        if path is None:
            text = resources.files("bot.licensing").joinpath("catalog.toml").read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CatalogError(f"cannot read catalog {path or '(shipped)'}: {error}") from error
    return parse_catalog(data)


def parse_catalog(data: dict[str, Any]) -> Catalog:
    try:
        seat_types = {k: str(v.get("label", k.title())) for k, v in data["seat_types"].items()}
        module_table = data["modules"]
        modules = {k: str(v.get("label", k)) for k, v in module_table.items()}
        module_prices = {k: _price(v["price"]) for k, v in module_table.items() if "price" in v}
        editions: dict[str, Edition] = {}
        for name, spec in data["editions"].items():
            available = frozenset(spec.get("modules", []))
            unknown = available - modules.keys()
            if unknown:
                raise CatalogError(f"edition {name} lists unknown modules: {sorted(unknown)}")
            prices = {k: _price(v) for k, v in spec.get("prices", {}).items()}
            if prices.keys() - seat_types.keys():
                raise CatalogError(f"edition {name} prices unknown seat types")
            grace = spec.get("grace_days")
            if grace is not None and (
                isinstance(grace, bool) or not isinstance(grace, int) or not 0 <= grace <= 3650
            ):
                raise CatalogError(f"edition {name} grace_days must be a whole number of days")
            editions[name] = Edition(
                name, str(spec.get("label", name.title())), available, prices, grace
            )
    except (KeyError, AttributeError, TypeError) as error:
        raise CatalogError(f"catalog is missing or has a malformed entry: {error}") from error
    for names in (seat_types, modules, editions):
        for name in names:
            if not name.isalnum() or name != name.lower():
                raise CatalogError(f"catalog name {name!r} must be lower-case letters and digits")
    if not editions or not seat_types:
        raise CatalogError("catalog needs at least one edition and one seat type")
    if seat_types.keys() & modules.keys():
        raise CatalogError("a name cannot be both a seat type and a module")
    ordered = dict(sorted(editions.items(), key=lambda kv: _edition_rank(kv[0])))
    genesys = _genesys_mapping(data.get("genesys", {}), ordered, seat_types, modules)
    return Catalog(ordered, seat_types, modules, module_prices, genesys)


def _genesys_mapping(
    table: object,
    editions: dict[str, Edition],
    seat_types: dict[str, str],
    modules: dict[str, str],
) -> dict[str, tuple[str, ...]]:
    """`[genesys.licenses]`: "<edition>.<seat type>" or "<module>" = ["<license id>", ...]."""
    if not isinstance(table, dict):
        raise CatalogError("[genesys] must be a table")
    licenses = table.get("licenses", {})
    if not isinstance(licenses, dict):
        raise CatalogError("[genesys.licenses] must be a table")
    mapping: dict[str, tuple[str, ...]] = {}
    for key, ids in licenses.items():
        edition, _, seat_type = str(key).partition(".")
        if seat_type:
            if edition not in editions or seat_type not in seat_types:
                raise CatalogError(f"[genesys.licenses] names an unknown seat {key!r}")
        elif key not in modules:
            raise CatalogError(f"[genesys.licenses] names an unknown module {key!r}")
        if isinstance(ids, str):
            ids = [ids]
        if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
            raise CatalogError(f"[genesys.licenses] {key} must be a list of license ids")
        if ids:
            mapping[str(key)] = tuple(ids)
    return mapping


def _edition_rank(name: str) -> tuple[int, str]:
    return (EDITION_ORDER.index(name) if name in EDITION_ORDER else len(EDITION_ORDER), name)


def _price(value: object) -> Decimal:
    try:
        price = Decimal(str(value))
    except InvalidOperation as error:
        raise CatalogError(f"price {value!r} is not a number") from error
    if price < 0:
        raise CatalogError(f"price {value!r} is negative")
    return price
