"""The rollup tables (`dashboards.models`), kept exact from the charges (docs/dashboards.md, "Rollups").

Definitions (one row per operator, charge point and local day; settings.TIME_ZONE):

* day: the local date of a charge's `started_at` (a credit counts on its own `started_at` day);
* sessions: charges that are not credits (`credit_of` null) and not failed; failed: failed charges
  that are not credits; credits: charges with `credit_of` set;
* kwh, revenue (Σ price, VAT included), vat: Σ over every charge of the row except failed ones,
  credits included (negative);
* fees: the platform fee as a positive cost: −Σ amount of the `platform_fee` ledger entries
  (`charge:<id>:fee`) of the row's charges, so a fee given back by a credit lowers it;
* duration_seconds: Σ (stopped_at − started_at) of the sessions with a stop, each taken between
  whole seconds (sub-second parts dropped, the same on every database);
* roaming_*: sessions, kwh and revenue of the charges of type roaming (same rules);
* ChargePointHour: per local hour, the seconds a session with a stop was plugged in (split across
  hours and days; a fall-back hour can hold 7 200 s, a spring-forward hour does not exist) and the
  sessions that started in it (Σ over a day = the day's sessions). A session's occupancy is
  counted for at most OCCUPANCY_CAP after its start (the longest session the CDR import accepts
  by default), so a day's hours depend on a bounded stretch of charges;
* FailureDay: failed charges per day and failure reason; ChargePointMonth: the month's days added up;
* SegmentDay / SegmentMonth: the charge point rows added up per segment (site × AC/DC ×
  visibility) of the charge point's `RollupPlacement`, with the day's occupied seconds; NetworkHour:
  the hours added up per AC/DC × visibility.

How they stay exact: every write of charges (or of their fee entries) calls `mark` / `mark_charges`
in its own transaction: a `RollupDirty` row per operator-day touched. After commit a Celery task
(`dashboards.tasks.refresh_rollups`) runs `refresh`, and readers call `ensure_fresh` first, so a
lost task only delays the work to the next read. `refresh` recomputes the dirty days from the
charges with one set-based statement per table, then deletes exactly the marks it read: a mark
made again meanwhile (PostgreSQL: `marked_at` moved on by the upsert) survives for the next refresh.
Months (per charge point and per segment) are kept by difference: the old days are taken off, the
recomputed ones added. Before that, `_reconcile` compares every charge point with its placement and
moves the history of those that moved (site, AC/DC, visibility: by a form, an import, a bulk
update or a deleted site alike) from the old segment to the new, by difference too.
"""
import secrets
import time as clock
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from dashboards.models import (
    ChargePointDay,
    ChargePointHour,
    ChargePointMonth,
    FailureDay,
    NetworkHour,
    RollupDirty,
    RollupPlacement,
    RollupVersion,
    SegmentDay,
    SegmentMonth,
)

OCCUPANCY_CAP = timedelta(hours=72)
LOCK_KEY = 0x524F4C4C  # "ROLL": the first key of the per-operator advisory lock
MEASURES = ["sessions", "failed", "credits", "kwh", "revenue", "vat", "fees", "duration_seconds",
            "roaming_sessions", "roaming_kwh", "roaming_revenue"]
CHUNK = 400  # days per statement on SQLite (bound parameters)


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _tz():
    return timezone.get_default_timezone()


def local_day(dt) -> date:
    return dt.astimezone(_tz()).date()


def _midnight(day):
    return datetime.combine(day, time.min, _tz())


# --- marking ---------------------------------------------------------------------------------------
def enqueue(operator_id: int) -> None:
    """Refresh after the current transaction commits. robust: a broker that is down must not turn
    a committed write into an error; the marks stay and the next read refreshes."""
    from dashboards import tasks

    transaction.on_commit(lambda: tasks.refresh_rollups.delay(operator_id), robust=True)


def mark(operator_id: int, days, *, enqueue_refresh=True) -> None:
    """Mark operator-days dirty inside the caller's transaction (call it in the transaction that
    writes the charges)."""
    days = sorted(set(days))  # sorted: concurrent writers lock the mark rows in the same order
    if not days:
        return
    table = RollupDirty._meta.db_table
    with connection.cursor() as cursor:
        if _pg():
            # An existing mark gets a later marked_at, so that a refresh that read it before this
            # transaction commits does not delete it (its DELETE compares marked_at).
            cursor.execute(f"""
                INSERT INTO {table} (operator_id, day, marked_at)
                SELECT %s, d, clock_timestamp() FROM unnest(%s::date[]) AS d
                ON CONFLICT (operator_id, day) DO UPDATE
                SET marked_at = GREATEST(EXCLUDED.marked_at, {table}.marked_at + interval '1 microsecond')
            """, [operator_id, days])
        else:  # SQLite: one writer at a time, a refresh never runs beside a write
            now = connection.ops.adapt_datetimefield_value(timezone.now())
            cursor.executemany(f"INSERT OR IGNORE INTO {table} (operator_id, day, marked_at) VALUES (%s, %s, %s)",
                               [(operator_id, day.isoformat(), now) for day in days])
    if enqueue_refresh:
        enqueue(operator_id)


def span_days(started_at, stopped_at=None):
    """The local days a charge touches: its start day and, for a session whose occupancy counts,
    every day up to its (capped) stop."""
    first = local_day(started_at)
    if stopped_at is None or stopped_at <= started_at:
        return [first]
    last = local_day(min(stopped_at, started_at + OCCUPANCY_CAP))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def mark_charges(operator_id: int, charges, *, enqueue_refresh=True) -> None:
    """`charges`: started_at of each charge, or (started_at, stopped_at) for a session (not failed,
    not a credit) whose occupancy spans the days up to its stop."""
    days = set()
    for item in charges:
        days.update(span_days(*item) if isinstance(item, tuple) else (local_day(item),))
    mark(operator_id, days, enqueue_refresh=enqueue_refresh)


# --- refreshing --------------------------------------------------------------------------------------
def _lock(operator_id):
    if _pg():  # refreshes of one operator one at a time (SQLite: one writer at a time anyway)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_KEY, operator_id])
            # JIT compiling these statements took ~0.6 s of a 1-day refresh (measured), more than running them
            cursor.execute("SET LOCAL jit = off")


def _marks(operator_id):
    return list(RollupDirty.objects.filter(operator_id=operator_id).order_by("day")
                .values_list("id", "day", "marked_at"))


def _unmark(marks):
    """Delete the marks read, unless re-marked since (PostgreSQL: marked_at changed). Locked in day
    order first, as the writers lock them, so that a refresh and a writer never deadlock."""
    if not marks:
        return
    table = RollupDirty._meta.db_table
    ids = [m[0] for m in marks]
    with connection.cursor() as cursor:
        if _pg():
            cursor.execute(f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY day FOR UPDATE", [ids])
            cursor.execute(f"DELETE FROM {table} r USING unnest(%s::bigint[], %s::timestamptz[]) AS m(id, at) "
                           "WHERE r.id = m.id AND r.marked_at = m.at", [ids, [m[2] for m in marks]])
        else:
            RollupDirty.objects.filter(id__in=ids).delete()


def bump(operator_id: int) -> None:
    """The operator's rollups have changed (inside the transaction that changed them)."""
    table = RollupVersion._meta.db_table
    with connection.cursor() as cursor:
        # (a first version is random: an operator id used again, on SQLite, never meets old cache entries)
        cursor.execute(f"INSERT INTO {table} (operator_id, version) VALUES (%s, %s) "
                       f"ON CONFLICT (operator_id) DO UPDATE SET version = {table}.version + 1",
                       [operator_id, secrets.randbits(60)])


def refresh(operator_id: int) -> int:
    """Recompute the operator's dirty days; returns how many."""
    with transaction.atomic():
        _lock(operator_id)
        marks = _marks(operator_id)
        moved = _reconcile(operator_id)
        days = [m[1] for m in marks]
        size = max(len(days), 1) if _pg() else CHUNK  # PostgreSQL: all days in one statement per table
        for start in range(0, len(days), size):
            _recompute(operator_id, days[start:start + size])
        _unmark(marks)
        if days or moved:
            bump(operator_id)
    return len(days)


def ensure_fresh(operator_id: int) -> int:
    """Before reading rollups: refresh when anything is marked or a charge point has moved (two
    indexed EXISTS otherwise)."""
    if RollupDirty.objects.filter(operator_id=operator_id).exists() or _placement_stale(operator_id):
        return refresh(operator_id)
    return 0


def rebuild(operator_id: int | None = None) -> dict:
    """Recompute every rollup of one operator (or of all) from scratch: {operator_id: (days, seconds)}."""
    from charging.models import Charge
    from operators.models import Operator

    ids = [operator_id] if operator_id else list(Operator.objects.order_by("id").values_list("id", flat=True))
    done = {}
    for op in ids:
        started = clock.perf_counter()
        with transaction.atomic():
            _lock(op)
            marks = _marks(op)
            for model in (ChargePointDay, ChargePointMonth, ChargePointHour, FailureDay, SegmentDay, SegmentMonth,
                          NetworkHour, RollupPlacement):
                model.objects.filter(operator_id=op).delete()
            _reconcile(op, session_days=False)  # every charge point placed where it is now (no rows yet;
            # the first and last session days come with the recompute)
            if _pg():
                _recompute(op, None)
            else:  # SQLite: every day a charge touches, as dirty days
                days = set()
                for started_at, stopped_at in Charge.objects.filter(operator_id=op).values_list(
                        "started_at", "stopped_at").iterator():
                    days.update(span_days(started_at, stopped_at))
                days = sorted(days)
                for start in range(0, len(days), CHUNK):
                    _recompute(op, days[start:start + CHUNK])
            _unmark(marks)
            bump(op)
        done[op] = (ChargePointDay.objects.filter(operator_id=op).values("day").distinct().count(),
                    clock.perf_counter() - started)
    if _pg():  # fresh statistics: with none, the planner guessed 1 row and sorted where it should hash
        with connection.cursor() as cursor:
            for model in (ChargePointDay, ChargePointMonth, ChargePointHour, FailureDay, SegmentDay, SegmentMonth,
                          NetworkHour, RollupPlacement):
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    return done


# --- the statements ----------------------------------------------------------------------------------
def _ranges(days, before=timedelta(0)):
    """[(lo, hi)] of instants covering the local `days` (each extended `before` back), overlapping
    ones merged so that a join on them meets each charge once."""
    merged = []
    for day in sorted(days):
        lo, hi = _midnight(day) - before, _midnight(day + timedelta(days=1))
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return merged


def _param(value):
    """A bound value: as is for psycopg; SQLite gets dates as ISO text and datetimes as the naive
    UTC text Django stores (compared as text)."""
    if _pg():
        return value
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value.isoformat() if isinstance(value, date) else value


def _values(name, columns, rows, casts):
    """A CTE of literal rows: unnest of arrays on PostgreSQL, VALUES on SQLite."""
    if _pg():
        arrays = ", ".join(f"%s::{cast}[]" for cast in casts)
        columns_of = [[r[i] for r in rows] for i in range(len(columns))]
        return f"{name} AS (SELECT * FROM unnest({arrays}) AS x({', '.join(columns)}))", columns_of
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return (f"{name}({', '.join(columns)}) AS (VALUES {', '.join([row] * len(rows))})",
            [_param(v) for r in rows for v in r])


def _charges(operator_id, days):
    """(CTE sql, params) of `sc`: the charges of `days` with their local `day` (all the operator's
    charges when days is None: PostgreSQL's rebuild)."""
    if days is None:
        return ("sc AS (SELECT c.*, (c.started_at AT TIME ZONE %s)::date AS day FROM charging_charge c "
                "WHERE c.operator_id = %s)"), [settings.TIME_ZONE, operator_id]
    rows = [(_midnight(d), _midnight(d + timedelta(days=1)), d) for d in days]
    cte, params = _values("d", ["lo", "hi", "day"], rows, ["timestamptz", "timestamptz", "date"])
    return (f"{cte}, sc AS (SELECT c.*, d.day FROM d JOIN charging_charge c ON c.operator_id = %s "
            "AND c.started_at >= d.lo AND c.started_at < d.hi)"), [*params, operator_id]


SESSION = "(c.credit_of_id IS NULL AND c.state <> 'failed')"
COUNTED = "(c.state <> 'failed')"


def _sum_if(condition, value="1"):
    return f"SUM(CASE WHEN {condition} THEN {value} ELSE 0 END)"


def _recompute(operator_id, days):
    if days == []:
        return
    pg = _pg()
    scope, params = _charges(operator_id, days)
    seconds = ("EXTRACT(EPOCH FROM date_trunc('second', c.stopped_at) - date_trunc('second', c.started_at))::bigint"
               if pg else "(CAST(strftime('%%s', c.stopped_at) AS INTEGER) - CAST(strftime('%%s', c.started_at) AS INTEGER))")
    roaming = "c.type = 'roaming'"
    fee = "w.operator_id = c.operator_id AND w.reference = 'charge:' || c.id || ':fee' AND w.kind = 'platform_fee'"
    # PostgreSQL: LATERAL, so that each charge finds its fee entry by the unique (operator, reference)
    # index instead of hashing all the operator's ledger (0.7 s of a 1-day refresh); LIMIT 1 (the
    # reference is unique) keeps the planner from flattening it back into that hash join
    fee_join = (f"LEFT JOIN LATERAL (SELECT w.amount FROM operators_wallettransaction w WHERE {fee} LIMIT 1) w ON true"
                if pg and days is not None else f"LEFT JOIN operators_wallettransaction w ON {fee}")  # rebuild: hash
    with connection.cursor() as cursor:
        if days is not None:
            _months_add(cursor, operator_id, days, -1)  # the old days off the months
            for model in (ChargePointDay, FailureDay, ChargePointHour, SegmentDay, NetworkHour):
                cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE operator_id = %s AND {_in('day', days)}",
                               [operator_id, *map(_param, days)])
        cursor.execute(f"""
            WITH {scope}
            INSERT INTO {ChargePointDay._meta.db_table} (operator_id, charge_point_id, day, {", ".join(MEASURES)})
            SELECT c.operator_id, c.charge_point_id, c.day,
                   {_sum_if(SESSION)}, {_sum_if("c.credit_of_id IS NULL AND c.state = 'failed'")},
                   {_sum_if("c.credit_of_id IS NOT NULL")},
                   {_sum_if(COUNTED, "c.consumed_kwh")}, {_sum_if(COUNTED, "c.price")},
                   {_sum_if(COUNTED, "c.vat_amount")}, -SUM(COALESCE(w.amount, 0)),
                   {_sum_if(SESSION + " AND c.stopped_at IS NOT NULL", seconds)},
                   {_sum_if(SESSION + " AND " + roaming)}, {_sum_if(COUNTED + " AND " + roaming, "c.consumed_kwh")},
                   {_sum_if(COUNTED + " AND " + roaming, "c.price")}
            FROM sc c
            {fee_join}
            GROUP BY c.operator_id, c.charge_point_id, c.day
        """, params)
        cursor.execute(f"""
            WITH {scope}
            INSERT INTO {FailureDay._meta.db_table} (operator_id, charge_point_id, day, reason, failed)
            SELECT c.operator_id, c.charge_point_id, c.day, c.failure_reason, COUNT(*)
            FROM sc c WHERE c.credit_of_id IS NULL AND c.state = 'failed'
            GROUP BY c.operator_id, c.charge_point_id, c.day, c.failure_reason
        """, params)
        if pg:
            _hours_sql(cursor, operator_id, days, scope, params)
        else:
            _hours_python(operator_id, days)
        _segments(cursor, operator_id, days)
        _session_days(cursor, operator_id, days)
        if days is None:
            _months_all(cursor, operator_id)
        else:
            _months_add(cursor, operator_id, days, +1)  # the recomputed days onto the months
            _drop_empty_months(cursor, operator_id, days)


def _hours_sql(cursor, operator_id, days, scope, params):
    """PostgreSQL: each session cut at the local hours it spans (generate_series from the start of
    its local hour, one hour at a time), plus one start per session. Only the dirty days are kept:
    a session from the day before reaches into them (the scope starts OCCUPANCY_CAP earlier)."""
    tz = settings.TIME_ZONE
    if days is None:
        spans, span_params, only_days, day_params = ("s0 AS (SELECT * FROM charging_charge c WHERE c.operator_id = %s)",
                                                     [operator_id], "", [])
    else:
        rows = [(lo, hi) for lo, hi in _ranges(days, before=OCCUPANCY_CAP)]
        spans, span_params = _values("e", ["lo", "hi"], rows, ["timestamptz", "timestamptz"])
        spans += (", s0 AS (SELECT c.* FROM e JOIN charging_charge c ON c.operator_id = %s "
                  "AND c.started_at >= e.lo AND c.started_at < e.hi)")
        span_params.append(operator_id)
        only_days, day_params = "WHERE day = ANY(%s::date[])", [list(days)]
    cursor.execute(f"""
        WITH {scope}, {spans},
        s AS (
            SELECT c.operator_id, c.charge_point_id, date_trunc('second', c.started_at) AS a,
                   LEAST(date_trunc('second', c.stopped_at), date_trunc('second', c.started_at) + %s) AS b
            FROM s0 c WHERE {SESSION} AND c.stopped_at IS NOT NULL
        ), occupied AS (
            SELECT s.operator_id, s.charge_point_id, (h AT TIME ZONE %s)::date AS day,
                   EXTRACT(HOUR FROM h AT TIME ZONE %s)::int AS hour,
                   EXTRACT(EPOCH FROM LEAST(h + interval '1 hour', s.b) - GREATEST(h, s.a))::int AS seconds,
                   0 AS started
            -- from the instant a's local hour began: a less its local minutes and seconds (never
            -- ambiguous, unlike truncating the local time in a fall-back hour)
            FROM s CROSS JOIN LATERAL generate_series(
                s.a - ((s.a AT TIME ZONE %s) - date_trunc('hour', s.a AT TIME ZONE %s)), s.b, interval '1 hour') AS h
            WHERE h < s.b AND s.a < s.b  -- (a stop before the start, bad data, occupies nothing)
        )
        INSERT INTO {ChargePointHour._meta.db_table} (operator_id, charge_point_id, day, hour, occupied_seconds,
                                                      sessions_started)
        SELECT operator_id, charge_point_id, day, hour, SUM(seconds), SUM(started) FROM (
            SELECT * FROM occupied {only_days}
            UNION ALL
            SELECT c.operator_id, c.charge_point_id, c.day, EXTRACT(HOUR FROM c.started_at AT TIME ZONE %s)::int,
                   0, 1
            FROM sc c WHERE {SESSION}
        ) x
        GROUP BY operator_id, charge_point_id, day, hour
    """, [*params, *span_params, OCCUPANCY_CAP, tz, tz, tz, tz, *day_params, tz])


def hour_pieces(started_at, stopped_at):
    """[(local day, hour, seconds)] of a session, the way `_hours_sql` cuts it (whole seconds)."""
    tz = _tz()
    a = started_at.replace(microsecond=0).astimezone(UTC)
    b = min(stopped_at.replace(microsecond=0).astimezone(UTC), a + OCCUPANCY_CAP)
    local = a.astimezone(tz)
    h = a - timedelta(minutes=local.minute, seconds=local.second)  # the instant a's local hour began
    pieces = []
    while h < b:
        local = h.astimezone(tz)
        seconds = int((min(h + timedelta(hours=1), b) - max(h, a)).total_seconds())
        if seconds > 0:
            pieces.append((local.date(), local.hour, seconds))
        h += timedelta(hours=1)
    return pieces


def _hours_python(operator_id, days):
    """SQLite (no time zones in SQL): the same cut in Python, for the dirty days only."""
    from django.db.models import Q

    from charging.models import Charge

    wanted, rows = set(days), {}
    ranges = Q()
    for lo, hi in _ranges(days, before=OCCUPANCY_CAP):
        ranges |= Q(started_at__gte=lo, started_at__lt=hi)
    sessions = (Charge.objects.filter(ranges, operator_id=operator_id, credit_of__isnull=True)
                .exclude(state="failed").values_list("charge_point_id", "started_at", "stopped_at"))
    for cp, started_at, stopped_at in sessions.iterator():
        start = started_at.astimezone(_tz())
        if start.date() in wanted:
            rows.setdefault((cp, start.date(), start.hour), [0, 0])[1] += 1
        if stopped_at is not None:
            for day, hour, seconds in hour_pieces(started_at, stopped_at):
                if day in wanted:
                    rows.setdefault((cp, day, hour), [0, 0])[0] += seconds
    ChargePointHour.objects.bulk_create(
        [ChargePointHour(operator_id=operator_id, charge_point_id=cp, day=day, hour=hour, occupied_seconds=o,
                         sessions_started=s) for (cp, day, hour), (o, s) in rows.items()], batch_size=1000)


def _in(column, values):
    return f"{column} IN ({', '.join(['%s'] * len(values))})"


def _month_of(column):
    return f"date_trunc('month', {column})::date" if _pg() else f"date({column}, 'start of month')"


def _add_into(cursor, model, keys, values, select, params):
    """INSERT the rows of `select` (keys, then values) into `model`'s table, adding the values to
    a row that has the same keys (an upsert on the table's unique key)."""
    table = model._meta.db_table
    columns = ", ".join([*keys, *values])
    adds = ", ".join(f"{v} = {table}.{v} + EXCLUDED.{v}" for v in values)
    cursor.execute(f"INSERT INTO {table} ({columns}) {select} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {adds}",
                   params)


SEGMENT_KEYS = ["operator_id", "site_key", "current_type", "visibility"]
SEGMENT_VALUES = [*MEASURES, "occupied_seconds"]
PLACEMENT = RollupPlacement._meta.db_table


def _days_sql(days, column="day"):
    """(condition, params) restricting to `days` (None: every day)."""
    return ("TRUE", []) if days is None else (_in(column, days), [_param(d) for d in days])


def _segments(cursor, operator_id, days):
    """SegmentDay and NetworkHour of `days` (None: every day; the caller has emptied them) from the
    charge point rows, each charge point counted in its placement."""
    where, day_params = _days_sql(days)
    zeros = ", ".join(f"0 AS {m}" for m in MEASURES)
    sums = ", ".join(f"SUM(x.{v})" for v in SEGMENT_VALUES)
    cursor.execute(f"""
        INSERT INTO {SegmentDay._meta.db_table} ({", ".join(SEGMENT_KEYS)}, day, {", ".join(SEGMENT_VALUES)})
        SELECT %s, p.site_key, p.current_type, p.visibility, x.day, {sums}
        FROM (SELECT charge_point_id, day, {", ".join(MEASURES)}, 0 AS occupied_seconds
              FROM {ChargePointDay._meta.db_table} WHERE operator_id = %s AND {where}
              UNION ALL
              SELECT charge_point_id, day, {zeros}, SUM(occupied_seconds)
              FROM {ChargePointHour._meta.db_table} WHERE operator_id = %s AND {where}
              GROUP BY charge_point_id, day) x
        JOIN {PLACEMENT} p ON p.charge_point_id = x.charge_point_id
        GROUP BY p.site_key, p.current_type, p.visibility, x.day
    """, [operator_id, operator_id, *day_params, operator_id, *day_params])
    cursor.execute(f"""
        INSERT INTO {NetworkHour._meta.db_table} (operator_id, current_type, visibility, day, hour, occupied_seconds,
                                                  sessions_started)
        SELECT %s, p.current_type, p.visibility, h.day, h.hour, SUM(h.occupied_seconds), SUM(h.sessions_started)
        FROM {ChargePointHour._meta.db_table} h JOIN {PLACEMENT} p ON p.charge_point_id = h.charge_point_id
        WHERE h.operator_id = %s AND {where.replace("day", "h.day")}
        GROUP BY p.current_type, p.visibility, h.day, h.hour
    """, [operator_id, operator_id, *day_params])


def _months_add(cursor, operator_id, days, sign):
    """Add (sign +1) or take off (−1) the day rows of `days` to their months, per charge point and
    per segment."""
    where, day_params = _days_sql(days)
    month = _month_of("day")
    sums = ", ".join(f"{'-' if sign < 0 else ''}SUM({m})" for m in MEASURES)
    _add_into(cursor, ChargePointMonth, ["operator_id", "charge_point_id", "month"], MEASURES,
              f"SELECT operator_id, charge_point_id, {month}, {sums} FROM {ChargePointDay._meta.db_table} "
              f"WHERE operator_id = %s AND {where} GROUP BY operator_id, charge_point_id, {month}",
              [operator_id, *day_params])
    sums = ", ".join(f"{'-' if sign < 0 else ''}SUM({v})" for v in SEGMENT_VALUES)
    _add_into(cursor, SegmentMonth, [*SEGMENT_KEYS, "month"], SEGMENT_VALUES,
              f"SELECT {', '.join(SEGMENT_KEYS)}, {month}, {sums} FROM {SegmentDay._meta.db_table} "
              f"WHERE operator_id = %s AND {where} GROUP BY {', '.join(SEGMENT_KEYS)}, {month}",
              [operator_id, *day_params])


def _drop_empty_months(cursor, operator_id, days):
    """Month rows left with nothing in them (every charge of the month gone) are deleted, so that
    the tables hold a row exactly where there is something."""
    months = sorted({d.replace(day=1) for d in days})
    empty = "sessions = 0 AND failed = 0 AND credits = 0"
    for model, extra in ((ChargePointMonth, ""), (SegmentMonth, " AND occupied_seconds = 0")):
        cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE operator_id = %s AND {_in('month', months)} "
                       f"AND {empty}{extra}", [operator_id, *map(_param, months)])


def _months_all(cursor, operator_id, segments_only=False):
    """PostgreSQL's rebuild: every month from the day rows just written."""
    for model, source, keys, values in (
            *([] if segments_only else [(ChargePointMonth, ChargePointDay, ["operator_id", "charge_point_id"], MEASURES)]),
            (SegmentMonth, SegmentDay, SEGMENT_KEYS, SEGMENT_VALUES)):
        cursor.execute(f"""
            INSERT INTO {model._meta.db_table} ({", ".join(keys)}, month, {", ".join(values)})
            SELECT {", ".join(keys)}, {_month_of("day")}, {", ".join(f"SUM({v})" for v in values)}
            FROM {source._meta.db_table} WHERE operator_id = %s
            GROUP BY {", ".join(keys)}, {_month_of("day")}
        """, [operator_id])


def _session_days(cursor, operator_id, days=None, points=None):
    """Each placement's first and last day with a session, from the day rows, for the charge
    points whose first or last day may have changed: those with a session in `days` now, or whose
    first or last day is one of `days` (its sessions may be gone); every one when days is None,
    only `points` when given."""
    day_rows = ChargePointDay._meta.db_table
    if points is not None:
        which, params = _in("p.charge_point_id", points), list(points)
    elif days is None:
        which, params = "TRUE", []
    else:
        where, day_params = _days_sql(days)
        which = (f"({_in('p.first_session_day', days)} OR {_in('p.last_session_day', days)} OR p.charge_point_id IN "
                 f"(SELECT charge_point_id FROM {day_rows} WHERE operator_id = %s AND {where} AND sessions > 0))")
        params = [*day_params, *day_params, operator_id, *day_params]
    of_point = f"FROM {day_rows} d WHERE d.charge_point_id = {PLACEMENT}.charge_point_id AND d.sessions > 0"
    # (no alias on the updated table: SQLite's UPDATE takes none before 3.33)
    if points is not None:  # the ids themselves: no self-join, which the planner misjudged on new rows
        # (no statistics yet) into a nested loop of 35 s per 400 charge points
        where, where_params = _in("charge_point_id", points), list(points)
    else:
        where = (f"charge_point_id IN (SELECT p.charge_point_id FROM {PLACEMENT} p "
                 f"WHERE p.operator_id = %s AND {which})")
        where_params = [operator_id, *params]
    cursor.execute(f"""
        UPDATE {PLACEMENT} SET first_session_day = (SELECT MIN(d.day) {of_point}),
                               last_session_day = (SELECT MAX(d.day) {of_point})
        WHERE operator_id = %s AND {where}
    """, [operator_id, *where_params])


def _segment_months_all(cursor, operator_id):
    _months_all(cursor, operator_id, segments_only=True)


# --- charge points that moved ------------------------------------------------------------------------
# More moved charge points than this at once (a bulk update): the segments are built again from
# the charge point rows rather than moved by difference (at 10 000 moved points: the difference,
# 400 at a time, took 198 s, measured)
MANY_MOVES = 1000
_STALE = f"""
    FROM charging_chargepoint cp LEFT JOIN {PLACEMENT} p ON p.charge_point_id = cp.id
    WHERE cp.operator_id = %s AND (p.id IS NULL OR p.site_key <> COALESCE(cp.site_id, 0)
                                   OR p.current_type <> cp.type OR p.visibility <> cp.visibility)"""


def _placement_stale(operator_id) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 {_STALE} LIMIT 1", [operator_id])
        return cursor.fetchone() is not None


def site_points(operator_id, site_id) -> tuple[list, bool]:
    """The ids of the site's charge points now, and whether the site's segments are out of date
    (a charge point there that is not placed there, or one placed there that has moved away), in
    one statement over the site's charge points only (the whole-operator check walks every charge
    point: 6 ms at 10 000)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT cp.id, (p.id IS NULL OR p.site_key <> cp.site_id)
                FROM charging_chargepoint cp LEFT JOIN {PLACEMENT} p ON p.charge_point_id = cp.id
                WHERE cp.operator_id = %s AND cp.site_id = %s
                UNION ALL
                SELECT NULL, TRUE FROM (SELECT 1 FROM {PLACEMENT} p JOIN charging_chargepoint cp ON cp.id = p.charge_point_id
                                        WHERE p.operator_id = %s AND p.site_key = %s
                                          AND COALESCE(cp.site_id, 0) <> p.site_key LIMIT 1) AS moved""",
            [operator_id, site_id, operator_id, site_id])
        rows = cursor.fetchall()
    return sorted(r[0] for r in rows if r[0] is not None), any(bool(r[1]) for r in rows)


def _site_placement_stale(operator_id, site_id) -> bool:
    return site_points(operator_id, site_id)[1]


def _reconcile(operator_id, session_days=True):
    """Place every charge point where it is now: a new one (no placement) gets one, and its rows,
    if any, are added to its segment; one that moved has its rows taken off the old segment and
    added to the new. Runs under the operator's refresh lock."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT cp.id, p.id IS NOT NULL, p.site_key, p.current_type, p.visibility, "
                       f"COALESCE(cp.site_id, 0), cp.type, cp.visibility {_STALE}", [operator_id])
        moved = [(r[0], int(bool(r[1])), r[2] or 0, r[3] or "", r[4] or "", r[5], r[6], r[7])
                 for r in cursor.fetchall()]
        if not moved:
            return 0
        many = len(moved) > MANY_MOVES
        if not many:
            for start in range(0, len(moved), CHUNK):
                _move(cursor, operator_id, moved[start:start + CHUNK])
            if any(m[1] for m in moved):  # (new placements only add: nothing can be left empty)
                _drop_emptied(cursor, operator_id)
        placed = [m for m in moved if m[1]]
        cursor.executemany(f"UPDATE {PLACEMENT} SET site_key = %s, current_type = %s, visibility = %s "
                           "WHERE charge_point_id = %s", [(m[5], m[6], m[7], m[0]) for m in placed])
        new = [m[0] for m in moved if not m[1]]
        cursor.executemany(f"INSERT INTO {PLACEMENT} (operator_id, charge_point_id, site_key, current_type, visibility) "
                           "VALUES (%s, %s, %s, %s, %s)", [(operator_id, m[0], m[5], m[6], m[7])
                                                            for m in moved if not m[1]])
        for start in range(0, len(new) if session_days else 0, CHUNK):  # (rows of their own, after an upgrade)
            _session_days(cursor, operator_id, points=new[start:start + CHUNK])
        if many:  # a bulk move: the segments built again from the charge point rows, at once
            for model in (SegmentDay, SegmentMonth, NetworkHour):
                cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE operator_id = %s", [operator_id])
            _segments(cursor, operator_id, None)
            _segment_months_all(cursor, operator_id)
            if _pg():  # every row new: fresh statistics, or the planner guesses
                for model in (SegmentDay, SegmentMonth, NetworkHour, RollupPlacement):
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
    return len(moved)


def _move(cursor, operator_id, moved):
    """The deltas of charge points moving: −rows at the old key (when placed), +rows at the new."""
    cte, cte_params = _values("mv", ["id", "placed", "os", "ot", "ov", "ns", "nt", "nv"], moved,
                              ["bigint", "int", "bigint", "text", "text", "bigint", "text", "text"])
    zeros = ", ".join(f"0 AS {m}" for m in MEASURES)
    neg = ", ".join(f"-src.{v} AS {v}" for v in SEGMENT_VALUES)
    pos = ", ".join(f"src.{v}" for v in SEGMENT_VALUES)
    sums = ", ".join(f"SUM(x.{v})" for v in SEGMENT_VALUES)
    cp_day, cp_hour, cp_month = (m._meta.db_table for m in (ChargePointDay, ChargePointHour, ChargePointMonth))
    for model, period, rows in (
            (SegmentDay, "day", f"""SELECT charge_point_id, day AS period, {", ".join(MEASURES)}, 0 AS occupied_seconds
                                    FROM {cp_day} WHERE charge_point_id IN (SELECT id FROM mv)
                                    UNION ALL
                                    SELECT charge_point_id, day, {zeros}, SUM(occupied_seconds) FROM {cp_hour}
                                    WHERE charge_point_id IN (SELECT id FROM mv) GROUP BY charge_point_id, day"""),
            (SegmentMonth, "month", f"""SELECT charge_point_id, month AS period, {", ".join(MEASURES)},
                                        0 AS occupied_seconds FROM {cp_month} WHERE charge_point_id IN (SELECT id FROM mv)
                                        UNION ALL
                                        SELECT charge_point_id, {_month_of("day")}, {zeros}, SUM(occupied_seconds)
                                        FROM {cp_hour} WHERE charge_point_id IN (SELECT id FROM mv)
                                        GROUP BY charge_point_id, {_month_of("day")}""")):
        _add_into(cursor, model, [*SEGMENT_KEYS, period], SEGMENT_VALUES, f"""
            WITH {cte}, src AS ({rows})
            SELECT %s, x.s, x.t, x.v, x.period, {sums} FROM (
                SELECT mv.os AS s, mv.ot AS t, mv.ov AS v, src.period, {neg} FROM src JOIN mv ON mv.id = src.charge_point_id
                WHERE mv.placed = 1
                UNION ALL
                SELECT mv.ns, mv.nt, mv.nv, src.period, {pos} FROM src JOIN mv ON mv.id = src.charge_point_id
            ) x WHERE TRUE GROUP BY x.s, x.t, x.v, x.period""", [*cte_params, operator_id])
    _add_into(cursor, NetworkHour, ["operator_id", "current_type", "visibility", "day", "hour"],
              ["occupied_seconds", "sessions_started"], f"""
        WITH {cte}
        SELECT %s, x.t, x.v, x.day, x.hour, SUM(x.o), SUM(x.n) FROM (
            SELECT mv.ot AS t, mv.ov AS v, h.day, h.hour, -h.occupied_seconds AS o, -h.sessions_started AS n
            FROM {cp_hour} h JOIN mv ON mv.id = h.charge_point_id WHERE mv.placed = 1
            UNION ALL
            SELECT mv.nt, mv.nv, h.day, h.hour, h.occupied_seconds, h.sessions_started
            FROM {cp_hour} h JOIN mv ON mv.id = h.charge_point_id
        ) x WHERE TRUE GROUP BY x.t, x.v, x.day, x.hour""", [*cte_params, operator_id])


def _drop_emptied(cursor, operator_id):
    """What moves leave empty (all its rows went elsewhere) is deleted: once per reconcile, not
    per chunk of moves (each is a scan of the operator's segment rows)."""
    cursor.execute(f"DELETE FROM {SegmentDay._meta.db_table} WHERE operator_id = %s AND sessions = 0 AND failed = 0 "
                   "AND credits = 0 AND occupied_seconds = 0", [operator_id])
    cursor.execute(f"DELETE FROM {SegmentMonth._meta.db_table} WHERE operator_id = %s AND sessions = 0 AND failed = 0 "
                   "AND credits = 0 AND occupied_seconds = 0", [operator_id])
    cursor.execute(f"DELETE FROM {NetworkHour._meta.db_table} WHERE operator_id = %s AND occupied_seconds = 0 "
                   "AND sessions_started = 0", [operator_id])
