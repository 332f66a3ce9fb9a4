"""SQLAlchemy statements compiled once to their driver's SQL, then run with new values.

Running a statement through SQLAlchemy costs, at every execution, its cache key (a walk of
the whole expression), the compiled-cache lookup, and on DBOS's engine a regular-expression
pass that renders the schema into the SQL (DBOS names its tables through a schema
placeholder, on SQLite too). For DBOS's statements on a send's hot path that was most of
their CPU (issue 7: 1.2-1.5 ms a transaction whose database work takes about 0.1 ms). A
:class:`DriverStatement` pays all of that once: it keeps the final SQL and the bind
processors of its parameters, and runs with ``Connection.exec_driver_sql``.

What reaches the driver is what SQLAlchemy would send: the same SQL (compiled by the same
dialect, the schema rendered as the engine renders it) and each value through its type's bind
processor. Two differences, both deliberate:

- on SQLite the SQL is compiled with named parameters (``:name``), which ``sqlite3`` takes
  as readily as the positional ``?`` SQLAlchemy uses there, so one dict of values serves
  every dialect;
- :meth:`DriverStatement.execute` and :meth:`DriverStatement.run` give rows as the driver
  gives them (fine for text and numbers); :meth:`DriverStatement.mappings` applies the
  result processors of the columns' types, as SQLAlchemy would (SQLite's JSON columns come
  back as text without them).

:meth:`DriverStatement.execute` also skips SQLAlchemy's execution and result objects: the
statement goes straight to a cursor of the connection's driver connection, in the
connection's transaction. A result object built from the cursor's description at every
execution cost more than the database's work on the claim's 31-column read (issue 7: 84
against 15 us on SQLite). What SQLAlchemy's execution does that matters here is kept: a
statement begins the connection's transaction as SQLAlchemy's autobegin would (so the
caller's ``commit()`` commits a write), and a driver error is handed to SQLAlchemy's own
handling, which raises it as SQLAlchemy's exception (``IntegrityError``, ...) and renews the
pool when the database connection died. Execution events do not fire for it.
:meth:`DriverStatement.run` executes through SQLAlchemy, for callers that need its
``CursorResult``.

An expanding ``IN`` parameter cannot be compiled ahead of its values: a statement with one
is compiled once per number of values (the ``expand`` argument). A column default computed
in Python (``default=`` / ``onupdate=`` a callable) is SQLAlchemy's to fill in at execution,
so a statement that would need one is refused at its first run: give the column's value instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, CursorResult, Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["DriverRows", "DriverStatement", "driver_dialect"]

_SQLITE_DEFAULT_SCHEMA = "main"
"""What SQLAlchemy renders for a table whose schema translates to None on SQLite."""


def driver_dialect(engine: Engine) -> Dialect:
    """The dialect to compile ``engine``'s statements with: its own, except that on SQLite
    the parameters are named."""
    dialect = engine.dialect
    if dialect.name != "sqlite":
        return dialect
    named: Dialect = type(dialect)(paramstyle="named")  # type: ignore[call-arg]
    # Set on a connected dialect; a fresh one needs it to render a None schema as the
    # engine does.
    named.default_schema_name = dialect.default_schema_name or _SQLITE_DEFAULT_SCHEMA
    return named


class DriverRows(NamedTuple):
    """What :meth:`DriverStatement.execute` gives: its rows as the driver gave them (none for
    a statement that returns none), and the driver's count of rows it touched."""

    rows: Sequence[Any]
    rowcount: int


class _Compiled(NamedTuple):
    sql: str
    processors: Mapping[str, Callable[[Any], Any]]
    """Bind processors by parameter name (only for the parameters whose type has one)."""
    constants: dict[str, Any]
    """The statement's own values: every parameter the caller does not give."""
    expanded: list[str]
    """The names the expanding parameter's values take, in order."""


class DriverStatement:
    """One statement, compiled to driver SQL on first use (per number of values of its
    expanding parameter, if it has one)."""

    def __init__(self, statement: ClauseElement, dialect: Dialect, *,
                 schema_translate_map: Mapping[str | None, str | None] | None = None,
                 column_keys: Sequence[str] | None = None) -> None:
        self._statement = statement
        self._dialect = dialect
        self._schema_translate_map = dict(schema_translate_map or {})
        self._column_keys = list(column_keys) if column_keys is not None else None
        self._compiled: dict[int, _Compiled] = {}
        columns = getattr(statement, "exported_columns", None) or []
        self._results = [(column.key, column.type.dialect_impl(dialect).result_processor(
            dialect, None)) for column in columns]
        """Each column of its rows, in order: its name and its type's result processor."""

    def run(self, connection: Connection, values: Mapping[str, Any], *,
            expand: tuple[str, Sequence[Any]] | None = None) -> CursorResult[Any]:
        """Execute with ``values`` through SQLAlchemy (its events fire, its result object is
        built); ``expand``: the expanding parameter's name and values.

        Every call must give the same names in ``values`` (the rest are the statement's
        constants, fixed at its first run)."""
        return connection.exec_driver_sql(*self._sql_and_parameters(values, expand))

    def execute(self, connection: Connection, values: Mapping[str, Any], *,
                expand: tuple[str, Sequence[Any]] | None = None) -> DriverRows:
        """:meth:`run` on a cursor of the driver, without SQLAlchemy's execution (see the
        module's docstring); the rows are all fetched."""
        sql, parameters = self._sql_and_parameters(values, expand)
        if not connection.in_transaction():
            connection.begin()  # SQLAlchemy's autobegin, which its execution would have done
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, parameters)
            rows = cursor.fetchall() if cursor.description is not None else []
            return DriverRows(rows, cursor.rowcount)
        except Exception as error:
            # Raises the error as SQLAlchemy would have: wrapped in its exception class, the
            # connection invalidated (and the pool renewed) if the database connection died.
            connection._handle_dbapi_exception(error, sql, parameters, cursor, None)
        finally:
            cursor.close()

    def mappings(self, connection: Connection, values: Mapping[str, Any], *,
                 expand: tuple[str, Sequence[Any]] | None = None) -> list[dict[str, Any]]:
        """:meth:`execute`'s rows as dicts by column name, each value as its type reads
        it."""
        rows = self.execute(connection, values, expand=expand).rows
        return [{name: self._read(index, value)
                 for index, ((name, _), value) in enumerate(zip(self._results, row,
                                                                strict=True))}
                for row in rows]

    def scalar(self, connection: Connection, values: Mapping[str, Any]) -> Any:
        """:meth:`execute`'s first column of its first row (None without one), as its type
        reads it."""
        rows = self.execute(connection, values).rows
        return self._read(0, rows[0][0]) if rows else None

    def _sql_and_parameters(self, values: Mapping[str, Any],
                            expand: tuple[str, Sequence[Any]] | None
                            ) -> tuple[str, dict[str, Any]]:
        """The driver SQL for ``expand``'s number of values, and the parameters to run it
        with: the constants, ``values`` and the expanded values, each through its type's
        bind processor."""
        count = len(expand[1]) if expand is not None else -1
        compiled = self._compiled.get(count)
        if compiled is None:
            compiled = self._compiled[count] = self._compile(values, expand)
        params = {**compiled.constants, **values}
        if expand is not None:
            params.update(zip(compiled.expanded, expand[1], strict=True))
        for name, process in compiled.processors.items():
            params[name] = process(params[name])
        return compiled.sql, params

    def _read(self, index: int, value: Any) -> Any:
        """``value`` of the row's column ``index``, through its type's result processor."""
        process = self._results[index][1] if index < len(self._results) else None
        return process(value) if process is not None else value

    def _compile(self, values: Mapping[str, Any], expand: tuple[str, Sequence[Any]] | None
                 ) -> _Compiled:
        compiled = cast(SQLCompiler, self._statement.compile(
            dialect=self._dialect, column_keys=self._column_keys,
            schema_translate_map=self._schema_translate_map or None,
            render_schema_translate=bool(self._schema_translate_map)))
        if compiled.insert_prefetch or compiled.update_prefetch:
            columns = [column.key for column in (*compiled.insert_prefetch,
                                                 *compiled.update_prefetch)]
            raise ValueError(f"columns {columns} take a default computed in Python, which "
                             "only SQLAlchemy's own execution fills in: give their values")
        given: dict[str, Any] = dict(values)
        if expand is not None:
            given[expand[0]] = list(expand[1])
        # The statement as SQLAlchemy renders it at execution for these values: expanding
        # parameters (ours, and constant lists such as DBOS's application-name filter)
        # rendered as ``name_1``, ``name_2``, ...
        state = compiled.construct_expanded_state(given)
        expanded = list(state.parameter_expansion.get(expand[0], [])) if expand else []
        callers = set(values) | set(expanded)
        # The state names the processors of the expanded values only.
        processors = {name: process for bind, name in compiled.bind_names.items()
                      if not bind.expanding and (process := bind.type.dialect_impl(
                          self._dialect).bind_processor(self._dialect)) is not None}
        processors.update(state.processors)
        return _Compiled(
            sql=state.statement, processors=processors,
            constants={name: value for name, value in state.parameters.items()
                       if name not in callers},
            expanded=expanded)
