"""A JSON codec for frozen payload dataclasses, driven by their fields and type hints.

    data = to_json(payload)              # a dict of JSON values, for the outbox's data column
    payload = from_json(LimitsAlert, data)

Supported field types: str, int, float, bool, Decimal (as exact text), date and datetime
(ISO 8601), StrEnum/Enum (their values), `X | None`, `tuple[X, ...]`, `list[X]`,
`dict[str, X]`, and nested dataclasses. A field whose value is None and whose default is
None is left out (as the dicts written before the payloads were typed did), and a key
missing from stored data (or null there) takes the field's default: rows queued by older
code decode.
A field with `metadata={"stored": False}` is never written nor read (it is filled in at
delivery, e.g. a request card's live impact). Pure, sync, stdlib only.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union

T = TypeVar("T")

NOT_STORED: Mapping[str, Any] = {"stored": False}


class PayloadError(ValueError):
    """Stored data that does not fit its payload class."""


def to_json(payload: object) -> dict[str, Any]:
    """The payload as a dict of JSON values."""
    if not dataclasses.is_dataclass(payload) or isinstance(payload, type):
        raise TypeError(f"not a payload dataclass: {payload!r}")
    out: dict[str, Any] = {}
    for f in _stored_fields(type(payload)):
        value = getattr(payload, f.name)
        if value is None and f.default is None:
            continue
        out[f.name] = _encode(value)
    return out


def from_json(cls: type[T], data: Mapping[str, Any]) -> T:
    """An instance of the dataclass `cls` from stored data (extra keys are ignored)."""
    if not isinstance(data, Mapping):
        raise PayloadError(f"{cls.__name__}: expected an object, got {data!r}")
    target: type = cls
    hints = _hints(target)
    kwargs: dict[str, Any] = {}
    for f in _stored_fields(target):
        if f.name in data and (data[f.name] is not None or not _has_default(f)):
            try:
                kwargs[f.name] = _decode(hints[f.name], data[f.name])
            except (TypeError, ValueError, ArithmeticError) as error:
                raise PayloadError(f"{cls.__name__}.{f.name}: {error}") from None
        elif not _has_default(f):
            raise PayloadError(f"{cls.__name__}: {f.name!r} is missing")
    return cls(**kwargs)


def _has_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


@cache
def _stored_fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    return tuple(f for f in dataclasses.fields(cls) if f.init and f.metadata.get("stored", True))


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)) and not isinstance(value, Enum):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(value)
    if isinstance(value, (tuple, list)):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    raise TypeError(f"cannot store {type(value).__name__} in a payload")


def _decode(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        if len(args) != 1:
            raise TypeError(f"unsupported union {tp}")
        return _decode(args[0], value)
    if value is None:
        raise ValueError("null where a value is needed")
    if tp is Any:
        return value
    if origin in (tuple, list):
        item_args = typing.get_args(tp)
        item = item_args[0] if item_args else Any
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected a list, got {value!r}")
        if origin is tuple:
            return tuple(_decode(item, v) for v in value)
        return [_decode(item, v) for v in value]
    if origin is dict or origin is Mapping:
        key_type, value_type = typing.get_args(tp) or (str, Any)
        if not isinstance(value, Mapping):
            raise TypeError(f"expected an object, got {value!r}")
        return {_decode(key_type, k): _decode(value_type, v) for k, v in value.items()}
    if isinstance(tp, type):
        if issubclass(tp, Enum):
            return tp(value)
        if tp is bool:
            if not isinstance(value, bool):
                raise TypeError(f"expected true or false, got {value!r}")
            return value
        if tp is int:
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise TypeError(f"expected an integer, got {value!r}")
            return int(value)
        if tp is float:
            if isinstance(value, bool):
                raise TypeError(f"expected a number, got {value!r}")
            return float(value)
        if tp is str:
            return value if isinstance(value, str) else str(value)
        if tp is Decimal:
            return Decimal(str(value))
        if tp is datetime:
            return value if isinstance(value, datetime) else datetime.fromisoformat(value)
        if tp is date:
            if isinstance(value, datetime):
                return value.date()
            return value if isinstance(value, date) else date.fromisoformat(value)
        if dataclasses.is_dataclass(tp):
            return from_json(tp, value)
    raise TypeError(f"unsupported payload field type {tp!r}")
