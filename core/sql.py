"""Small helpers for the few hot paths written in plain SQL (portable between
PostgreSQL and SQLite).

Those paths run on a customer's clock (serving a list, regenerating one on demand, the
API's key check), where compiling ORM querysets cost more than running them. Table and
column names always come from the models' metadata; values are always passed as
parameters.

On PostgreSQL their statements are also prepared: `cursor()` binds parameters on the
server, so psycopg prepares a statement once it has run `prepare_threshold` times on a
connection (DATABASE_PREPARE_THRESHOLD, default 5) and PostgreSQL stops parsing and
planning it on every request (planning was most of the database's time for the serving
state). The ORM keeps Django's client-side binding, which never prepares.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar, overload

from django.db import connection
from django.db.models import Field, Model
from django.utils.dateparse import parse_datetime

M = TypeVar("M", bound=Model)


@contextmanager
def cursor() -> Iterator[Any]:
    """A cursor for a hot path's statements: Django's own (errors, logging, health
    checks, the current transaction), binding on the server on PostgreSQL."""
    if connection.vendor != "postgresql":
        with connection.cursor() as plain:
            yield plain
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        # The stubs leave out the private _prepare_cursor and psycopg's Cursor base (and
        # so its constructor) from ServerBindingCursor.
        wrapped = connection._prepare_cursor(  # type: ignore[attr-defined]
            ServerBindingCursor(connection.connection)  # type: ignore[call-arg]
        )
    with wrapped:
        yield wrapped


def fetch_instance(model: type[M], column: str, value: object) -> M | None:
    """The instance whose unique `column` equals `value` (or None), in one statement,
    converted as the ORM would (JSON, dates on SQLite, ...)."""
    reader = instance_reader(model)
    sql = _INSTANCE_SQL.format(
        columns=reader.columns("t"),
        table=connection.ops.quote_name(model._meta.db_table),
        column=connection.ops.quote_name(column),
    )
    with cursor() as c:
        c.execute(sql, [value])
        row = c.fetchone()
    return None if row is None else reader.build(row)


_INSTANCE_SQL = "SELECT {columns} FROM {table} t WHERE t.{column} = %s"


@dataclass(frozen=True)
class InstanceReader:
    """Turns the leading columns of a plain-SQL row into a model instance, with the
    converters the ORM would apply (JSON, dates on SQLite, ...)."""

    model: type[Model]
    fields: tuple[Any, ...]
    converters: tuple[tuple[int, Any, tuple[Any, ...]], ...]

    @property
    def width(self) -> int:
        return len(self.fields)

    def columns(self, alias: str) -> str:
        """The model's columns for a SELECT, from the table aliased `alias`."""
        return ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in self.fields)

    def build(self, row: Sequence[Any]) -> Any:
        values = list(row[: self.width])
        for i, expression, functions in self.converters:
            for convert in functions:
                values[i] = convert(values[i], expression, connection)
        return self.model.from_db(connection.alias, [f.attname for f in self.fields], values)


@cache
def instance_reader(model: type[Model]) -> InstanceReader:
    fields = tuple(model._meta.concrete_fields)
    table = model._meta.db_table
    converters = []
    for i, field in enumerate(fields):
        expression = field.get_col(table)
        functions = connection.ops.get_db_converters(expression) + expression.get_db_converters(
            connection
        )
        if functions:
            converters.append((i, expression, tuple(functions)))
    return InstanceReader(model=model, fields=fields, converters=tuple(converters))


def column(model: type[Model], field: str) -> str:
    """A model field's column name, quoted for this database."""
    found = model._meta.get_field("id" if field == "pk" else field)
    if not isinstance(found, Field) or found.column is None:
        raise LookupError(f"{model.__name__}.{field} is not a column")
    return connection.ops.quote_name(found.column)


def table(model: type[Model]) -> str:
    """A model's table name, quoted for this database."""
    return connection.ops.quote_name(model._meta.db_table)


def order_by(model: type[Model], ordering: Sequence[str]) -> str:
    """An ORM ordering ("-at", "-pk") as SQL (`"at" DESC, "id" DESC`): one definition of
    "the newest row" serves a queryset and a plain SQL read alike."""
    terms = []
    for name in ordering:
        descending = name.startswith("-")
        terms.append(column(model, name.lstrip("-")) + (" DESC" if descending else " ASC"))
    return ", ".join(terms)


def marks(count: int) -> str:
    """`%s, %s, ...` for an IN (...) list of `count` values."""
    return ", ".join(["%s"] * count)


def named_marks(prefix: str, values: Sequence[object]) -> str:
    """`%(c0)s, %(c1)s, ...`: named placeholders for an IN (...) list (see `named_values`)."""
    return ", ".join(f"%({prefix}{i})s" for i in range(len(values)))


def named_values(prefix: str, values: Iterable[Any]) -> dict[str, Any]:
    """The parameters that go with `named_marks(prefix, values)`."""
    return {f"{prefix}{i}": value for i, value in enumerate(values)}


def epoch_seconds(column: str) -> str:
    """A timestamp column as seconds since 1970 (float), computed by the database."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})::double precision"
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


def as_float(column: str) -> str:
    """A decimal column as a float, computed by the database."""
    if connection.vendor == "postgresql":
        return f"{column}::double precision"
    return f"CAST({column} AS REAL)"


@overload
def aware(value: None) -> None: ...
@overload
def aware(value: datetime | str) -> datetime: ...
def aware(value: datetime | str | None) -> datetime | None:
    """A timestamp as an aware datetime (SQLite hands back text for computed columns);
    NULL stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            raise ValueError("the database returned a timestamp in an unknown format")
        value = parsed
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value
