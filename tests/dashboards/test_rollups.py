"""The rollup tables equal a plain GROUP BY over the charges, computed here independently, after
random imports (sessions, repeats, credits), refunds and direct writes; also late, concurrent and
after a refresh that crashed."""
import json
import random
import threading
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from charging import cdr_import as importer
from charging.ledger import post_charges
from charging.models import CdrImport, Charge, ChargePoint
from dashboards import rollups, selectors
from dashboards.models import (
    ChargePointDay,
    ChargePointHour,
    ChargePointMonth,
    Dashboard,
    FailureDay,
    NetworkHour,
    RollupDirty,
    RollupPlacement,
    SegmentDay,
    SegmentMonth,
)
from operators.models import Fee, WalletTransaction
from payouts import services as payouts
from portal.errors import NotAllowed
from tests.charging.cdrs import cdr
from tests.concurrency import at_once
from tests.factories import ChargeFactory, ChargePointFactory, OperatorFactory, SiteFactory

MEASURES = rollups.MEASURES
# UTC windows around local midnight: the spring-forward day, the fall-back day and an ordinary one
WINDOWS = [datetime(2026, 3, 28, 20, tzinfo=UTC), datetime(2026, 10, 24, 20, tzinfo=UTC),
           datetime(2026, 6, 10, 20, tzinfo=UTC)]


def with_fees(operator):
    Fee.objects.create(operator=None, kind=Fee.Kind.REVENUE_PERCENTAGE, percentage=Decimal("3.50"),
                       valid_from=date(2010, 1, 1))
    Fee.objects.create(operator=None, kind=Fee.Kind.TRANSACTION_FIXED, amount=Decimal("0.25"), currency="EUR",
                       valid_from=date(2010, 1, 1))
    return operator


def run(operator, records):
    imp = CdrImport.objects.create(operator=operator, filename="t.json")
    return importer.run_import(cdr_import=imp, records=importer.parse_file(json.dumps(records)))


# --- the independent computation ---------------------------------------------------------------------
def expected(operator):
    """(days, hours, failures) from the charges and the ledger, in Python. Hours are cut at UTC hour
    boundaries (local hours in Europe/Copenhagen begin on them), the local hour taken per piece."""
    tz = timezone.get_default_timezone()
    fees = {int(ref.split(":")[1]): amount for ref, amount in WalletTransaction.objects.filter(
        operator=operator, kind="platform_fee", reference__startswith="charge:").values_list("reference", "amount")}
    days, hours, failures = {}, defaultdict(lambda: [0, 0]), defaultdict(int)
    for c in Charge.objects.filter(operator=operator):
        start = c.started_at.astimezone(tz)
        row = days.setdefault((c.charge_point_id, start.date()), dict.fromkeys(MEASURES, 0))
        session, failed, roaming = c.credit_of_id is None and c.state != "failed", c.state == "failed", c.type == "roaming"
        row["sessions"] += session
        row["roaming_sessions"] += session and roaming
        row["failed"] += failed and c.credit_of_id is None
        row["credits"] += c.credit_of_id is not None
        row["fees"] -= fees.get(c.pk, 0)
        if not failed:
            row["kwh"] += c.consumed_kwh
            row["revenue"] += c.price
            row["vat"] += c.vat_amount
            if roaming:
                row["roaming_kwh"] += c.consumed_kwh
                row["roaming_revenue"] += c.price
        if failed and c.credit_of_id is None:
            failures[(c.charge_point_id, start.date(), c.failure_reason)] += 1
        if session:
            hours[(c.charge_point_id, start.date(), start.hour)][1] += 1
            if c.stopped_at:
                a, b = c.started_at.replace(microsecond=0), c.stopped_at.replace(microsecond=0)
                row["duration_seconds"] += int((b - a).total_seconds())
                b = min(b, a + rollups.OCCUPANCY_CAP)
                while a < b:
                    cut = min(a.replace(minute=0, second=0) + timedelta(hours=1), b)
                    local = a.astimezone(tz)
                    hours[(c.charge_point_id, local.date(), local.hour)][0] += int((cut - a).total_seconds())
                    a = cut
    return days, {k: tuple(v) for k, v in hours.items()}, dict(failures)


def stored(operator):
    days = {(r["charge_point_id"], r["day"]): {m: r[m] for m in MEASURES}
            for r in ChargePointDay.objects.filter(operator=operator).values()}
    hours = {(r.charge_point_id, r.day, r.hour): (r.occupied_seconds, r.sessions_started)
             for r in ChargePointHour.objects.filter(operator=operator)}
    failures = {(r.charge_point_id, r.day, r.reason): r.failed for r in FailureDay.objects.filter(operator=operator)}
    return days, hours, failures


def assert_exact(operator):
    days, hours, failures = stored(operator)
    want_days, want_hours, want_failures = expected(operator)
    assert days == want_days
    assert hours == want_hours
    assert failures == want_failures
    months = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    for (cp, day), row in days.items():
        for m in MEASURES:
            months[(cp, day.replace(day=1))][m] += row[m]
    assert {(r["charge_point_id"], r["month"]): {m: r[m] for m in MEASURES}
            for r in ChargePointMonth.objects.filter(operator=operator).values()} == dict(months)
    assert_segments(operator, days, hours)
    return days, hours


def assert_segments(operator, days, hours):
    """The segment and network tables are the charge point rows added up by where each charge
    point is now (its site, AC/DC and visibility today, whatever they were when it charged)."""
    where = {cp.pk: (cp.site_id or 0, cp.type, cp.visibility) for cp in ChargePoint.objects.filter(operator=operator)}
    values = [*MEASURES, "occupied_seconds"]
    seg_days = defaultdict(lambda: dict.fromkeys(values, 0))
    for (cp, day), row in days.items():
        for m in MEASURES:
            seg_days[(*where[cp], day)][m] += row[m]
    network = defaultdict(lambda: [0, 0])
    for (cp, day, hour), (occupied, started) in hours.items():
        seg_days[(*where[cp], day)]["occupied_seconds"] += occupied
        network[(where[cp][1], where[cp][2], day, hour)][0] += occupied
        network[(where[cp][1], where[cp][2], day, hour)][1] += started
    seg_months = defaultdict(lambda: dict.fromkeys(values, 0))
    for (site, kind, visibility, day), row in seg_days.items():
        for v in values:
            seg_months[(site, kind, visibility, day.replace(day=1))][v] += row[v]
    key = ("site_key", "current_type", "visibility")
    assert {(*(r[k] for k in key), r["day"]): {v: r[v] for v in values}
            for r in SegmentDay.objects.filter(operator=operator).values()} == dict(seg_days)
    assert {(*(r[k] for k in key), r["month"]): {v: r[v] for v in values}
            for r in SegmentMonth.objects.filter(operator=operator).values()} == dict(seg_months)
    assert {(r.current_type, r.visibility, r.day, r.hour): [r.occupied_seconds, r.sessions_started]
            for r in NetworkHour.objects.filter(operator=operator)} == dict(network)
    # every charge point placed where it is, with its first and last day with a session
    session_days = defaultdict(list)
    for (cp, day), row in days.items():
        if row["sessions"]:
            session_days[cp].append(day)
    assert {p.charge_point_id: (p.site_key, p.current_type, p.visibility, p.first_session_day, p.last_session_day)
            for p in RollupPlacement.objects.filter(operator=operator)} == {
        cp: (*where[cp], min(session_days[cp], default=None), max(session_days[cp], default=None)) for cp in where}
    # and the network dashboard's "active" count, for ranges around, inside and across the charges'
    all_days = sorted({day for (_, day) in days})
    if all_days:
        first, last = all_days[0], all_days[-1]
        for a, b in ((first, last), (first + timedelta(days=1), last - timedelta(days=1)), (first, first),
                     (last, last + timedelta(days=40)), (first - timedelta(days=60), first - timedelta(days=1)),
                     (first.replace(day=1), (first + timedelta(days=45)))):
            expected = len({cp for cp, ds in session_days.items() if any(a <= d <= b for d in ds)})
            assert selectors.active_points(Dashboard(operator=operator), a, b) == expected, (a, b)


def assert_totals(rng, operator, points, sites):
    """The Charges list's totals (rollups + the dirty days live) equal a plain aggregate over the
    charges, for filters the rollups serve, whether refreshed or not."""
    from charging.selectors import charges
    from dashboards.totals import charge_totals, live_sums

    days = sorted({timezone.localdate(c.started_at) for c in Charge.objects.filter(operator=operator)})
    if not days:
        return
    for _ in range(6):
        filters = {}
        if rng.random() < 0.25:  # whole months, as a month's filter or export asks
            first = rng.choice(days).replace(day=1)
            last = (first + timedelta(days=rng.choice([32, 63]))).replace(day=1) - timedelta(days=1)
            filters["date_from"], filters["date_to"] = first, last
        elif rng.random() < 0.6:
            a = rng.choice(days) - timedelta(days=rng.choice([0, 1, 40]))
            filters["date_from"], filters["date_to"] = a, a + timedelta(days=rng.choice([0, 1, 3, 31, 70]))
        elif rng.random() < 0.5:
            filters["date_to"] = rng.choice(days)
        pick = rng.random()
        if pick < 0.3:
            filters["site"] = rng.choice(sites)
        elif pick < 0.5:
            filters["charge_point"] = rng.choice(points)
        qs = charges(operator=operator, filters=filters)
        assert charge_totals(operator, filters, qs) == live_sums(qs), filters


def move_some(rng, operator, points, sites):
    """Charge points moved the ways the portal can: a form's save, a bulk update, a deleted site."""
    for cp in rng.sample(points, rng.randint(0, len(points))):
        cp.refresh_from_db()
        how = rng.choice(["save", "update", "delete site"])
        if how == "save":
            cp.site = rng.choice([*sites, None])
            cp.type = rng.choice(["ac", "dc"])
            cp.save()
        elif how == "update":
            ChargePoint.objects.filter(pk=cp.pk).update(visibility=rng.choice(["public", "private"]),
                                                        site=rng.choice([*sites, None]))
        elif cp.site_id:
            site = cp.site
            sites.remove(site) if site in sites else None
            site.delete()  # its charge points: no site now


# --- the property test --------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(6))
def test_rollups_equal_a_group_by_over_the_charges(seed, monkeypatch):
    rng = random.Random(seed)
    if seed % 2:  # every move a "bulk" one: the segments built again instead of moved by difference
        monkeypatch.setattr(rollups, "MANY_MOVES", 0)
    operator = with_fees(OperatorFactory())
    sites = [SiteFactory(operator=operator) for _ in range(3)]
    points = [ChargePointFactory(operator=operator, evse_id=f"DK*TST*E{n:05d}", site=rng.choice([*sites, None]))
              for n in range(rng.randint(2, 4))]

    def moment():
        return rng.choice(WINDOWS) + timedelta(seconds=rng.randrange(8 * 3600))

    sent, n = [], 0
    for _ in range(rng.randint(2, 4)):  # imports
        records = []
        for _ in range(rng.randint(4, 12)):
            n += 1
            kwh = round(rng.uniform(0.5, 40), 3)
            excl = round(kwh * 2.8, 2)
            records.append(cdr(f"S{seed}-{n}", rng.choice(points).evse_id, start=moment(),
                               minutes=rng.choice([0, 5, 59, 90, 300, 600]) + rng.random(), kwh=kwh, excl=excl,
                               incl=round(excl * 1.25, 2)))
        if sent:
            records += rng.sample(sent, min(2, len(sent)))  # sent again: skipped
            for session in rng.sample(sent, min(3, len(sent))):  # credit CDRs, on their own start day
                n += 1
                part = round(session["total_cost"]["incl_vat"] * rng.choice([0.1, 0.5, 1.2]), 2)  # 1.2: refused
                records.append(cdr(f"C{seed}-{n}", session["cdr_location"]["evse_id"], start=moment(), minutes=1,
                                   credit=True, credit_reference_id=session["id"], kwh=-1,
                                   total_cost={"excl_vat": -round(part / 1.25, 2), "incl_vat": -part}))
        rng.shuffle(records)
        run(operator, records)
        sent += [r for r in records if not r.get("credit")]
        assert_totals(rng, operator, points, sites)  # (the import's days still dirty)
        if rng.random() < 0.6:  # rolled up now: what comes next arrives late
            rollups.refresh(operator.pk)
            assert_totals(rng, operator, points, sites)
        if rng.random() < 0.5:  # charge points moved: their history with them (next refresh)
            move_some(rng, operator, points, sites)
            assert_totals(rng, operator, points, sites)
        if rng.random() < 0.3:
            rollups.ensure_fresh(operator.pk)
    for _ in range(3):  # refunds from the wallet page's service
        charge = rng.choice(list(Charge.objects.filter(operator=operator, credit_of__isnull=True)))
        left = payouts.refundable(charge)
        if left > 0:
            try:
                payouts.refund(operator=operator, actor=None, charge_id=charge.pk, token=f"refund-{seed}-{charge.pk}",
                               amount=str(min(left, Decimal(rng.randint(1, 60)))))
            except NotAllowed:
                pass  # e.g. the balance does not cover it
    direct = [ChargeFactory(operator=operator, charge_point=rng.choice(points), type="public", started_at=moment(),
                            state="failed", failure_reason=rng.choice(["Ground fault", "Cable not locked", ""]),
                            price=Decimal("0"), vat_amount=Decimal("0"), consumed_kwh=Decimal("0")) for _ in range(3)]
    start = moment()
    direct.append(ChargeFactory(operator=operator, charge_point=points[0], started_at=start, stopped_at=None,
                                state="charging"))
    start = moment()
    direct.append(ChargeFactory(operator=operator, charge_point=points[-1], type="sponsored", started_at=start,
                                stopped_at=start + timedelta(hours=rng.randint(1, 30), microseconds=rng.randrange(10**6))))
    post_charges(operator=operator, charges=direct)

    move_some(rng, operator, points, sites)
    assert_totals(rng, operator, points, sites)
    assert rollups.ensure_fresh(operator.pk) > 0
    assert not RollupDirty.objects.filter(operator=operator).exists()
    assert_totals(rng, operator, points, sites)
    days, _ = assert_exact(operator)
    ChargePoint.objects.filter(pk=points[0].pk).update(type="dc" if points[0].type == "ac" else "ac")
    assert rollups.ensure_fresh(operator.pk) == 0  # a move alone: no day recomputed, the history moved
    assert_exact(operator)
    assert Charge.objects.filter(operator=operator, credit_of__isnull=False).exists()
    assert any(row["fees"] < 0 or row["credits"] for row in days.values()) or seed  # fee refunds lower fees
    assert rollups.ensure_fresh(operator.pk) == 0  # nothing marked: nothing done


# --- time zones, by hand ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_dst_days_and_midnight_by_hand():
    operator = OperatorFactory()
    cp = ChargePointFactory(operator=operator)

    def session(start, stop):
        return ChargeFactory(operator=operator, charge_point=cp, started_at=start, stopped_at=stop)

    session(datetime(2026, 10, 25, 0, tzinfo=UTC), datetime(2026, 10, 25, 2, tzinfo=UTC))  # 02:00 CEST – 03:00 CET
    session(datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC))  # 01:30 – 03:30
    session(datetime(2026, 6, 10, 21, 30, tzinfo=UTC), datetime(2026, 6, 10, 22, 30, tzinfo=UTC))  # 23:30 – 00:30
    assert rollups.refresh(operator.pk) == 4  # the midnight session marks both its days
    hours = {(r.day, r.hour): r.occupied_seconds for r in ChargePointHour.objects.filter(operator=operator)}
    assert hours == {(date(2026, 10, 25), 2): 7200, (date(2026, 3, 29), 1): 1800, (date(2026, 3, 29), 3): 1800,
                     (date(2026, 6, 10), 23): 1800, (date(2026, 6, 11), 0): 1800}
    day = ChargePointDay.objects.get(operator=operator, day=date(2026, 6, 10))
    assert (day.sessions, day.duration_seconds) == (1, 3600)
    assert not ChargePointDay.objects.filter(operator=operator, day=date(2026, 6, 11)).exists()
    assert_exact(operator)


# --- late arrival, crash, rebuild ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_late_cdr_changes_a_day_already_rolled_up(operator):
    with_fees(operator)
    ChargePointFactory(operator=operator, evse_id="DK*TST*E00001")
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    run(operator, [cdr("A1", "DK*TST*E00001", start=start)])
    rollups.refresh(operator.pk)
    assert ChargePointDay.objects.get(operator=operator).sessions == 1
    run(operator, [cdr("A2", "DK*TST*E00001", start=start + timedelta(hours=3)),
                   cdr("A3", "DK*TST*E00001", credit=True, credit_reference_id="A1", start=start, minutes=1,
                       total_cost={"excl_vat": -8, "incl_vat": -10}, kwh=-2)])
    assert list(RollupDirty.objects.filter(operator=operator).values_list("day", flat=True)) == [date(2026, 3, 2)]
    assert rollups.ensure_fresh(operator.pk) == 1
    row = ChargePointDay.objects.get(operator=operator)
    assert (row.sessions, row.credits, row.revenue) == (2, 1, Decimal("190.00"))
    assert_exact(operator)


@pytest.mark.django_db
def test_a_refresh_that_fails_midway_leaves_the_marks(operator, monkeypatch):
    cp = ChargePointFactory(operator=operator)
    ChargeFactory(operator=operator, charge_point=cp)
    rollups.refresh(operator.pk)
    ChargeFactory(operator=operator, charge_point=cp)

    def crash(*args):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(rollups, "_drop_empty_months", crash)  # after every other statement
    with pytest.raises(RuntimeError):
        rollups.refresh(operator.pk)
    assert RollupDirty.objects.filter(operator=operator).count() == 1
    assert ChargePointDay.objects.get(operator=operator).sessions == 1  # rolled back: still the old figures
    monkeypatch.undo()
    assert rollups.refresh(operator.pk) == 1
    assert ChargePointDay.objects.get(operator=operator).sessions == 2
    assert_exact(operator)


@pytest.mark.django_db
def test_rebuild_rollups_command(operator):
    cp = ChargePointFactory(operator=operator)
    other = ChargePointFactory()
    for hours in (30, 60, 500):
        ChargeFactory(operator=operator, charge_point=cp, started_at=timezone.now() - timedelta(hours=hours),
                      stopped_at=timezone.now() - timedelta(hours=hours - 2))
    ChargeFactory(operator=other.operator, charge_point=other)
    rollups.refresh(operator.pk)
    ChargePointDay.objects.filter(operator=operator).update(sessions=99)  # drifted somehow
    ChargePointDay.objects.create(operator=operator, charge_point=cp, day=date(2020, 1, 1), sessions=1)  # no charges
    out = StringIO()
    call_command("rebuild_rollups", "--operator", operator.slug, stdout=out)
    assert f"{operator.slug}: 3 days rebuilt in" in out.getvalue()
    assert "Rollups rebuilt: 3 operator-days." in out.getvalue()
    assert_exact(operator)
    assert not RollupDirty.objects.filter(operator=operator).exists()
    assert RollupDirty.objects.filter(operator=other.operator).exists()  # another operator: untouched
    call_command("rebuild_rollups", stdout=StringIO())
    assert_exact(other.operator)
    with pytest.raises(CommandError, match="No operator"):
        call_command("rebuild_rollups", "--operator", "nope")


# --- concurrency (PostgreSQL) -----------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_parallel_imports_of_the_same_operator_day_with_refreshes_beside(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    from portal.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", True)  # each import's refresh runs at its end
    monkeypatch.setattr(importer, "BATCH_SIZE", 4)  # several batches, by two writer threads each
    operator = with_fees(OperatorFactory())
    points = [ChargePointFactory(operator=operator, evse_id=f"DK*TST*E{n:05d}") for n in range(2)]
    day = datetime(2026, 10, 24, 21, tzinfo=UTC)  # local midnight-crossing sessions into the DST day
    files = [[cdr(f"{name}{i}", points[i % 2].evse_id, start=day + timedelta(minutes=7 * i), minutes=95)
              for i in range(40)] for name in ("P", "Q")]
    done, order = threading.Event(), iter(range(3))
    lock = threading.Lock()

    def work():
        with lock:
            me = next(order)
        if me < 2:
            result = run(operator, files[me])
            return result.imported
        refreshed = 0
        while not done.is_set():  # a refresh beside the writers, again and again
            refreshed += rollups.refresh(operator.pk)
        return -1

    def stop_when_imported():
        try:
            while Charge.objects.filter(operator=operator).count() < 80:
                threading.Event().wait(0.05)
        finally:
            done.set()
            connection.close()

    watcher = threading.Thread(target=stop_when_imported)
    watcher.start()
    try:
        results = at_once(work, times=3)
    finally:
        done.set()
        watcher.join()
    assert sorted(results) == [-1, 40, 40]
    rollups.ensure_fresh(operator.pk)
    days, _ = assert_exact(operator)
    assert sum(row["sessions"] for row in days.values()) == 80


@pytest.mark.django_db
def test_totals_of_whole_months_count_each_charge_once(operator):
    """(Found by bench/exports.py: a range of whole months also summed every day row of the year.)"""
    from charging.selectors import charges
    from dashboards.totals import charge_totals, live_sums

    point = ChargePointFactory(operator=operator)
    for day in (date(2026, 9, 15), date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 2)):
        at = timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=12))
        ChargeFactory(operator=operator, charge_point=point, started_at=at, stopped_at=at + timedelta(hours=1))
    rollups.refresh(operator.pk)
    for start, end, rows in ((date(2026, 10, 1), date(2026, 10, 31), 2), (date(2026, 9, 1), date(2026, 10, 31), 3)):
        qs = charges(operator=operator, filters={"date_from": start, "date_to": end})
        totals = charge_totals(operator, {"date_from": start, "date_to": end}, qs)
        assert totals["count"] == rows and totals == live_sums(qs)


@pytest.mark.django_db
@pytest.mark.parametrize("refreshed", [True, False])
def test_totals_of_a_site_and_a_charge_point_at_another_site_are_empty(operator, refreshed):
    """(Review finding: the rollups of the charge point were summed whatever the site filter.)"""
    from charging.selectors import charges
    from dashboards.totals import charge_totals, live_sums

    a, b = SiteFactory(operator=operator), SiteFactory(operator=operator)
    at_b = ChargePointFactory(operator=operator, site=b)
    start = timezone.now() - timedelta(days=40)
    ChargeFactory(operator=operator, charge_point=at_b, started_at=start, stopped_at=start + timedelta(hours=1))
    if refreshed:
        rollups.refresh(operator.pk)
    for site, rows in ((a, 0), (b, 1)):
        filters = {"site": site, "charge_point": at_b}
        qs = charges(operator=operator, filters=filters)
        assert qs.count() == rows and charge_totals(operator, filters, qs) == live_sums(qs)


def test_cached_totals_follow_every_refresh_a_move_and_a_rebuild(operator):
    """The totals' rollup part is cached under the rollups' version (dashboards/totals.py): each
    refresh that changes rows, a moved charge point and a rebuild give a new version, so the
    totals always equal a plain aggregate, with nothing dirty in between."""
    from charging.selectors import charges
    from dashboards.models import RollupVersion
    from dashboards.totals import charge_totals, live_sums

    a, b = SiteFactory(operator=operator), SiteFactory(operator=operator)
    point = ChargePointFactory(operator=operator, site=a)
    start = timezone.now() - timedelta(days=60)

    def check():
        for filters in ({}, {"site": a}, {"site": b}):
            qs = charges(operator=operator, filters=filters)
            assert charge_totals(operator, filters, qs) == live_sums(qs), filters

    ChargeFactory(operator=operator, charge_point=point, started_at=start, stopped_at=start + timedelta(hours=1))
    rollups.refresh(operator.pk)
    check()
    first = RollupVersion.objects.get(operator=operator).version
    ChargeFactory(operator=operator, charge_point=point, started_at=start + timedelta(days=1),
                  stopped_at=start + timedelta(days=1, hours=1))
    rollups.refresh(operator.pk)  # nothing dirty now, as before: only the version tells the two apart
    check()
    point.site = b
    point.save()
    rollups.refresh(operator.pk)  # a move alone
    check()
    rollups.rebuild(operator.pk)
    check()
    assert RollupVersion.objects.get(operator=operator).version == first + 3
    rollups.refresh(operator.pk)  # nothing to do: the version stays (the cache stays useful)
    assert RollupVersion.objects.get(operator=operator).version == first + 3
