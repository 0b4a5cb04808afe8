"""Column types that behave the same on SQLite and PostgreSQL: exact decimals, UTC datetimes, JSON.

SQLite has neither a decimal nor a timezone-aware type, so each type here decides how the value is
stored per dialect and always hands back the same Python value on both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


def canonical_decimal(value: Decimal) -> Decimal:
    """The shortest exact form: 35.1000 -> 35.1, 40.0000 -> 40 (never 4E+1)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


class ExactDecimal(TypeDecorator[Decimal]):
    """A fixed-point number: NUMERIC(p, s) on PostgreSQL, an integer count of 10^-s on SQLite.

    The scaled integer keeps SQLite exact *and* ordered (SQL comparisons still work), and avoids
    SQLAlchemy's "SQLite does not support Decimal natively" warning. A value with more than `scale`
    decimal places or out of range raises instead of being rounded silently. Values are returned in
    `canonical_decimal` form, so both dialects give identical Decimals.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 8, scale: int = 4) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise TypeError(f"expected Decimal or int, got {type(value).__name__}")
        number = Decimal(value)
        if not number.is_finite():
            raise ValueError(f"{number} cannot be stored")
        if abs(number) >= Decimal(10) ** (self.precision - self.scale):
            raise ValueError(f"{number} does not fit NUMERIC({self.precision}, {self.scale})")
        fixed = number.quantize(Decimal(1).scaleb(-self.scale))
        if fixed != number:
            raise ValueError(f"{number} has more than {self.scale} decimal places")
        return int(fixed.scaleb(self.scale)) if dialect.name == "sqlite" else fixed

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        number = Decimal(value).scaleb(-self.scale) if dialect.name == "sqlite" else Decimal(value)
        return canonical_decimal(number)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime in, a UTC datetime out; naive datetimes are refused.

    PostgreSQL stores ``timestamptz``; SQLite stores the UTC wall-clock time as text.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.utcoffset() is None:
            raise ValueError("naive datetime: pass a timezone-aware one (e.g. datetime.now(UTC))")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JSONData(TypeDecorator[Any]):
    """JSON that round-trips Decimals: written as numbers, read back as Decimals.

    Like `flows.results.json_default`, an integral Decimal is written as an integer (and read back
    as an `int`); any other Decimal as a number whose shortest float form is exactly that decimal,
    read back as that Decimal. A Decimal that a JSON number cannot carry exactly raises. Plain
    JSON (not JSONB) on PostgreSQL: it keeps the key order, e.g. scenes in the set's order.
    """

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else to_json(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else from_json(value)


def to_json(value: Any) -> Any:
    """`value` with Decimals as exact JSON numbers and tuples as lists; refuses anything else."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, Decimal):
        integral = value.to_integral_value()
        if value == integral:
            return int(integral)
        number = float(value)
        if not math.isfinite(number) or Decimal(repr(number)) != value:
            raise ValueError(f"{value} cannot be stored exactly as a JSON number")
        return number
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not valid JSON")
        return value
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be str, got {type(key).__name__}")
            result[key] = to_json(item)
        return result
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def from_json(value: Any) -> Any:
    """Parsed JSON with every non-integral number as the Decimal it was written from."""
    if isinstance(value, float):
        # repr gives the shortest text that parses back to this float: the digits that were stored.
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {key: from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_json(item) for item in value]
    return value
