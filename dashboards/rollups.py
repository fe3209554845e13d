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
* FailureDay: failed charges per day and failure reason; ChargePointMonth: the month's days added up.

How they stay exact: every write of charges (or of their fee entries) calls `mark` / `mark_charges`
in its own transaction: a `RollupDirty` row per operator-day touched. After commit a Celery task
(`dashboards.tasks.refresh_rollups`) runs `refresh`, and readers call `ensure_fresh` first, so a
lost task only delays the work to the next read. `refresh` recomputes the dirty days from the
charges with one set-based statement per table, then deletes exactly the marks it read: a mark
made again meanwhile (PostgreSQL: `marked_at` moved on by the upsert) survives for the next refresh.
"""
import time as clock
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from dashboards.models import ChargePointDay, ChargePointHour, ChargePointMonth, FailureDay, RollupDirty

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


def refresh(operator_id: int) -> int:
    """Recompute the operator's dirty days; returns how many."""
    with transaction.atomic():
        _lock(operator_id)
        marks = _marks(operator_id)
        days = [m[1] for m in marks]
        size = max(len(days), 1) if _pg() else CHUNK  # PostgreSQL: all days in one statement per table
        for start in range(0, len(days), size):
            _recompute(operator_id, days[start:start + size])
        _unmark(marks)
    return len(days)


def ensure_fresh(operator_id: int) -> int:
    """Before reading rollups: refresh when anything is marked (one indexed EXISTS otherwise)."""
    if RollupDirty.objects.filter(operator_id=operator_id).exists():
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
            for model in (ChargePointDay, ChargePointMonth, ChargePointHour, FailureDay):
                model.objects.filter(operator_id=op).delete()
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
        done[op] = (ChargePointDay.objects.filter(operator_id=op).values("day").distinct().count(),
                    clock.perf_counter() - started)
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
        for model in (ChargePointDay, FailureDay, ChargePointHour):
            if days is not None:
                cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE operator_id = %s AND day IN "
                               f"({', '.join(['%s'] * len(days))})", [operator_id, *map(_param, days)])
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
        _months(cursor, operator_id, days)


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


def _months(cursor, operator_id, days):
    """The months of `days` (all months when None) from the day rows just written."""
    table, measures = ChargePointMonth._meta.db_table, ", ".join(MEASURES)
    sums = ", ".join(f"SUM(r.{m})" for m in MEASURES)
    if days is None:
        cursor.execute(f"""
            INSERT INTO {table} (operator_id, charge_point_id, month, {measures})
            SELECT r.operator_id, r.charge_point_id, date_trunc('month', r.day)::date, {sums}
            FROM {ChargePointDay._meta.db_table} r WHERE r.operator_id = %s
            GROUP BY r.operator_id, r.charge_point_id, date_trunc('month', r.day)
        """, [operator_id])
        return
    months = sorted({d.replace(day=1) for d in days})
    cursor.execute(f"DELETE FROM {table} WHERE operator_id = %s AND month IN ({', '.join(['%s'] * len(months))})",
                   [operator_id, *map(_param, months)])
    rows = [(m, (m + timedelta(days=32)).replace(day=1)) for m in months]
    cte, params = _values("m", ["lo", "hi"], rows, ["date", "date"])
    cursor.execute(f"""
        WITH {cte}
        INSERT INTO {table} (operator_id, charge_point_id, month, {measures})
        SELECT r.operator_id, r.charge_point_id, m.lo, {sums}
        FROM m JOIN {ChargePointDay._meta.db_table} r ON r.operator_id = %s AND r.day >= m.lo AND r.day < m.hi
        GROUP BY r.operator_id, r.charge_point_id, m.lo
    """, [*params, operator_id])
