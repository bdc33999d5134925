"""The repositories' SQLite SQL as PostgreSQL runs it (bot/store/pg.py), without a server."""

from __future__ import annotations

from bot.store.pg import _bind, _coerce, _translate, is_postgres_url, repair_url


def test_placeholders_become_numbered_outside_literals() -> None:
    text, names = _translate("SELECT * FROM t WHERE a = ? AND b = '?' AND c = ? LIMIT ?")
    assert text == "SELECT * FROM t WHERE a = $1 AND b = '?' AND c = $2 LIMIT $3"
    assert names == ()


def test_numbered_and_named_parameters() -> None:
    assert _translate("x < ?1 AND y <= ?2 AND z < ?1")[0] == "x < $1 AND y <= $2 AND z < $1"
    text, names = _translate("a >= :since AND a <= :until OR b >= :since AND c = 'x:y'")
    assert text == "a >= $1 AND a <= $2 OR b >= $1 AND c = 'x:y'"
    assert _bind(names, {"until": "U", "since": "S"}) == ["S", "U"]


def test_casts_and_doubled_quotes_survive() -> None:
    assert _translate("SELECT now()::text, 'it''s ?'")[0] == "SELECT now()::text, 'it''s ?'"


def test_sqlite_words_become_postgresql_ones() -> None:
    assert _translate("SELECT group_concat(m.module, ',') FROM m")[0] == (
        "SELECT string_agg(m.module, ',') FROM m"
    )
    assert _translate("GROUP BY +a.edition, +a.seat_type")[0] == "GROUP BY a.edition, a.seat_type"
    assert "attempts + 1" in _translate("SET attempts = attempts + 1")[0]
    assert "information_schema.tables" in _translate("SELECT name FROM sqlite_master")[0]


def test_values_fit_the_parameter_types_postgresql_inferred() -> None:
    assert _coerce(5, "text") == "5"
    assert _coerce("7", "int8") == 7
    assert _coerce(1, "bool") is True and _coerce("0", "bool") is False
    assert _coerce(None, "int8") is None


def test_urls() -> None:
    assert is_postgres_url("postgresql://u@h/db") and is_postgres_url("postgres:/u@h/db")
    assert not is_postgres_url("/var/lib/licensebot.db")
    assert repair_url("postgresql:/u@h:5432/db") == "postgresql://u@h:5432/db"
