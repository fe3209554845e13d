"""Fast inserts that skip rows a unique constraint already holds.

On PostgreSQL: COPY (psycopg 3) into a temporary table (`staged`), then one
`INSERT … SELECT … ON CONFLICT DO NOTHING`, so concurrent writers of the same rows never raise
and never duplicate (the second waits for the first's unique key, then skips it). The CDR import
builds its own statement on `staged` (`charging.ledger.insert_and_post_sql`).
Elsewhere (SQLite in development): `bulk_create(ignore_conflicts=True)`.
"""
from contextlib import contextmanager

from django.db import connection, transaction


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def insert_ignore(model, fields: list[str], rows: list[tuple]) -> None:
    """Insert `rows` (tuples in `fields` order) into `model`'s table, skipping conflicts."""
    if not rows:
        return
    if not is_postgresql():
        model.objects.bulk_create((model(**dict(zip(fields, row, strict=False))) for row in rows), batch_size=500,
                                  ignore_conflicts=True)
        return
    with staged(model, fields, rows) as (cursor, temp, columns):
        cursor.execute(f'INSERT INTO "{model._meta.db_table}" ({columns}) SELECT {columns} FROM "{temp}" '
                       "ON CONFLICT DO NOTHING")


@contextmanager
def staged(model, fields: list[str], rows: list[tuple]):
    """PostgreSQL: COPY `rows` into a temporary table with `model`'s columns `fields`, for one
    set-based statement to insert from. Yields (cursor, temporary table name, quoted column list)."""
    meta = model._meta
    table = meta.db_table
    columns = ", ".join(f'"{meta.get_field(f).column}"' for f in fields)
    temp = f"_bulk_{table}"
    # ON COMMIT DROP: in autocommit the table would be gone before the COPY; one transaction
    # (a savepoint inside the caller's) holds the table for the statement that reads it.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{temp}"')
        cursor.execute(f'CREATE TEMP TABLE "{temp}" ON COMMIT DROP AS SELECT {columns} FROM "{table}" WITH NO DATA')
        _copy_binary(cursor, temp, columns, rows)
        yield cursor, temp, columns
        cursor.execute(f'DROP TABLE "{temp}"')


def copy_rows(model, fields: list[str], rows) -> None:
    """Plain COPY of many rows (demo and scale data: no conflicts expected). `rows` may be a
    generator. Falls back to bulk_create off PostgreSQL."""
    if not is_postgresql():
        batch = []
        for row in rows:
            batch.append(model(**dict(zip(fields, row, strict=False))))
            if len(batch) >= 2000:
                model.objects.bulk_create(batch)
                batch = []
        model.objects.bulk_create(batch)
        return
    meta = model._meta
    columns = ", ".join(f'"{meta.get_field(f).column}"' for f in fields)
    with connection.cursor() as cursor:
        _copy_binary(cursor, meta.db_table, columns, rows)


def _copy_binary(cursor, table, columns, rows):
    """COPY in PostgreSQL's binary format: psycopg's C dumpers skip the text formatting of
    numbers and timestamps (about twice as fast as text COPY here)."""
    raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
    raw.execute(f'SELECT {columns} FROM "{table}" LIMIT 0')
    types = [column.type_code for column in raw.description]
    with raw.copy(f'COPY "{table}" ({columns}) FROM STDIN (FORMAT BINARY)') as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)
