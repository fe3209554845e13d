import time
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from charging.models import Charge, ChargePoint, Connector, CurrentType, Site
from dashboards import rollups

SITES = {
    "demo": [
        ("Vesterbro Parking", "Vesterbrogade 10", "1620", "København V", "55.672800", "12.554300"),
        ("Aarhus Havn", "Havnegade 4", "8000", "Aarhus C", "56.153900", "10.214500"),
        ("Odense Station", "Østre Stationsvej 27", "5000", "Odense C", "55.401900", "10.386700"),
        ("Roskilde Retail Park", "Københavnsvej 45", "4000", "Roskilde", "55.641600", "12.107600"),
    ],
    "nordlys": [
        ("Aker Brygge", "Stranden 3", "0250", "Oslo", "59.910500", "10.726700"),
        ("Bergen Sentrum", "Strandkaien 2", "5013", "Bergen", "60.394400", "5.324500"),
    ],
}
# site index, count, AC/DC, kW, brand, model
POINTS = {
    "demo": [(0, 8, CurrentType.AC, "22", "Zaptec", "Pro"), (1, 6, CurrentType.DC, "150", "Kempower", "S-Series"),
             (2, 6, CurrentType.AC, "11", "Easee", "Charge"), (3, 5, CurrentType.DC, "60", "Alpitronic", "HYC50")],
    "nordlys": [(0, 4, CurrentType.AC, "22", "Zaptec", "Go"), (1, 3, CurrentType.DC, "120", "ABB", "Terra 124")],
}
STATES = ["available"] * 6 + ["busy-charging", "busy-charging", "error", "maintenance"]


def seed(ctx):
    for slug, sites in SITES.items():
        operator = ctx["operators"][slug]
        site_objs = []
        for name, street, postcode, city, lat, lng in sites:
            site, _ = Site.objects.get_or_create(
                operator=operator, name=name,
                defaults=dict(street=street, postcode=postcode, city=city, country=operator.country,
                              latitude=Decimal(lat), longitude=Decimal(lng)),
            )
            site_objs.append(site)
        n = 0
        for site_index, count, kind, kw, brand, model in POINTS[slug]:
            for _ in range(count):
                n += 1
                evse = f"{operator.country}*{slug[:3].upper()}*E{n:05d}"
                ChargePoint.objects.get_or_create(
                    operator=operator, evse_id=evse,
                    defaults=dict(site=site_objs[site_index], name=f"{site_objs[site_index].name} #{n}",
                                  serial_number=f"{brand[:3].upper()}-{slug.upper()}-{n:05d}",
                                  brand_name=brand, model_name=model, type=kind, max_kw=Decimal(kw),
                                  state=STATES[n % len(STATES)]),
                )

    _connectors(ctx)
    _year_of_charges(ctx)
    _exports(ctx)
    if ctx["options"].get("scale") == "large":
        _large(ctx)


def _connectors(ctx):
    """One connector per demo charge point: Type 2 for AC, CCS for DC (at the point's power)."""
    points = ChargePoint.objects.filter(operator__in=ctx["operators"].values(), connectors__isnull=True)
    Connector.objects.bulk_create(
        Connector(operator_id=cp.operator_id, charge_point=cp, identifier="type2" if cp.type == "ac" else "ccs",
                  max_kw=cp.max_kw or Decimal("22"))
        for cp in points
    )


def _year_of_charges(ctx):
    """A year of sessions on every demo charge point, posted to the ledger. Runs once."""
    from charging.bulk import copy_rows
    from charging.generator import FIELDS, sessions
    from charging.ledger import post_charges

    for slug, per_day in (("demo", 2.2), ("nordlys", 1.5)):
        operator = ctx["operators"][slug]
        prefix = f"DEMO-{slug.upper()}-"
        if Charge.objects.filter(operator=operator, external_id__startswith=prefix).exists():
            continue
        started = time.perf_counter()
        points = list(ChargePoint.objects.filter(operator=operator).values_list("id", "type", "max_kw"))
        copy_rows(Charge, FIELDS, sessions(operator=operator, points=points, days=365, per_point_per_day=per_day,
                                           seed=len(slug), id_prefix=prefix))
        charges = Charge.objects.filter(operator=operator, external_id__startswith=prefix).only(
            "id", "external_id", "state", "price", "vat_amount", "started_at", "stopped_at", "credit_of_id")
        post_charges(operator=operator, charges=charges.iterator(chunk_size=5000))
        rollups.rebuild(operator.pk)  # the COPY marked nothing: the whole year at once
        ctx["log"](f"  {operator.name}: {charges.count()} charges over a year, posted to the ledger "
                   f"({time.perf_counter() - started:.1f} s)")


def _exports(ctx):
    """Exports on the demo operator's Exports page: the last year of charges, ready to download,
    and an older wallet export whose file is no longer kept. Runs once."""
    from datetime import timedelta

    from charging import exports
    from charging.models import Export

    operator = ctx["operators"]["demo"]
    if Export.objects.filter(operator=operator).exists():
        return
    admin = ctx["users"]["admin@demo.example"]
    today = timezone.localdate()
    query = f"date_from={today - timedelta(days=365):%Y-%m-%d}&date_to={today:%Y-%m-%d}"
    form = exports.KINDS["charges"].form(operator, query)
    form.is_valid()
    export = Export.objects.create(operator=operator, requested_by=admin, kind="charges", query=query,
                                   description=exports.describe(form))
    exports.run(export.pk)
    Export.objects.create(operator=operator, requested_by=admin, kind="wallet", state=Export.State.EXPIRED,
                          created_at=timezone.now() - timedelta(days=12), finished_at=timezone.now() - timedelta(days=12),
                          expires_at=timezone.now() - timedelta(days=5), total=1480, processed=1480, size=152_311,
                          description="Kind: Charging income")


SCALE_POINTS, SCALE_CHARGES = 10_000, 1_000_000


def _large(ctx):
    """`seed_demo --scale large`: operator "scale" with 10 000 charge points and 1 000 000 charges of
    the past year, each posted to the ledger (2 000 000 entries), by COPY. admin@demo.example is its
    Admin. Runs once."""
    from charging.bulk import copy_rows
    from charging.generator import FIELDS, sessions
    from charging.ledger import FeeSchedule, entries_for
    from members.models import Membership
    from operators.models import Operator, WalletTransaction

    if connection.vendor != "postgresql":
        raise SystemExit("seed_demo --scale large needs PostgreSQL (set DATABASE_URL).")
    operator, _ = Operator.objects.get_or_create(slug="scale", defaults=dict(
        name="Scale Test CPO A/S", country="DK", currency="DKK", vat_number="DK13585628",
        contact_email="ops@scale.example", finance_email="finance@scale.example",
        street="Skalavej 1", postcode="2100", city="København Ø"))
    Membership.objects.get_or_create(operator=operator, user=ctx["users"]["admin@demo.example"],
                                     defaults={"role": "admin"})
    ctx.setdefault("logins", []).append(("admin@demo.example", "also Admin of Scale Test CPO A/S (large data)"))
    if Charge.objects.filter(operator=operator).count() >= SCALE_CHARGES:
        return
    log, t0, now = ctx["log"], time.perf_counter(), timezone.now()
    sites = Site.objects.bulk_create(
        Site(operator=operator, name=f"Scale site {i:04d}", city="København", country="DK") for i in range(500))
    kinds = [(CurrentType.AC, Decimal("22")), (CurrentType.DC, Decimal("150"))]
    copy_rows(ChargePoint, ["operator_id", "site_id", "name", "serial_number", "evse_id", "brand_name", "model_name",
                            "type", "max_kw", "visibility", "state", "note", "created_at", "updated_at"],
              ((operator.pk, sites[i % 500].pk, f"Scale #{i:05d}", f"SCL-{i:05d}", f"DK*SCL*E{i:06d}",
                "Zaptec" if i % 4 else "Kempower", "Pro" if i % 4 else "S-Series", *kinds[0 if i % 4 else 1],
                "public", STATES[i % len(STATES)], "", now, now)
               for i in range(SCALE_POINTS)))
    points = list(ChargePoint.objects.filter(operator=operator).values_list("id", "type", "max_kw"))
    log(f"  scale: {len(points)} charge points ({time.perf_counter() - t0:.1f} s)")

    # Sessions: exactly SCALE_CHARGES, ids taken from the sequence up front so that the ledger
    # entries can name them without reading them back.
    # A margin (weekends are quieter), newest day first, cut at exactly 1 000 000: the year's
    # oldest days are the ones trimmed.
    per_day = SCALE_CHARGES / len(points) / 365 * 1.15
    rows = sessions(operator=operator, points=points, days=365, per_point_per_day=per_day, seed=7, newest_first=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('charging_charge', 'id'))")
        first_id = cursor.fetchone()[0]
        cursor.execute("SELECT setval(pg_get_serial_sequence('charging_charge', 'id'), %s)",
                       [first_id + SCALE_CHARGES])
    schedule = FeeSchedule(operator)

    # The ledger gets one income and one fee entry per day (the sums of what each charge would
    # post, each fee rounded per charge as post_charges does): per-charge entries would add two
    # million rows, which the 2-minute budget does not allow on this hardware.
    class Row:  # what entries_for reads from a charge
        __slots__ = ("pk", "external_id", "price", "vat_amount", "stopped_at", "credit_of_id", "state")

    daily = {}

    def flush(chunk):
        for r in chunk:
            if r[4] == "completed" and r[8]:
                c = Row()
                c.pk, c.external_id, c.price, c.vat_amount, c.stopped_at, c.credit_of_id, c.state = (
                    r[0], "", r[8], r[9], r[6], None, "completed")
                day = timezone.localdate(r[6])
                sums = daily.setdefault(day, [Decimal("0"), Decimal("0"), Decimal("0"), r[6]])
                for entry in entries_for(c, operator=operator, schedule=schedule):
                    sums[0 if entry[4] == "charge_income" else 1] += entry[6]
                    sums[2] += entry[7]
                sums[3] = max(sums[3], r[6])
        copy_rows(Charge, ["id", *FIELDS], chunk)

    chunk, n = [], 0
    for row in rows:
        if n == SCALE_CHARGES:
            break
        chunk.append((first_id + n, *row[:10], "", *row[11:]))  # no external id: not roaming
        n += 1
        if len(chunk) == 100_000:
            flush(chunk)
            chunk = []
    if chunk:
        flush(chunk)
    ledger = []
    for day, (income, fee, vat, at) in sorted(daily.items()):
        ledger.append(WalletTransaction(operator=operator, created_at=at, completed_at=at, group="charge",
                                        kind="charge_income", amount=income, vat_amount=vat, currency="DKK",
                                        reference=f"scale:income:{day}", note=f"Charging income {day}"))
        ledger.append(WalletTransaction(operator=operator, created_at=at, completed_at=at, group="charge",
                                        kind="platform_fee", amount=fee, currency="DKK",
                                        reference=f"scale:fee:{day}", note=f"Platform fees {day}"))
    WalletTransaction.objects.bulk_create(ledger, ignore_conflicts=True)
    log(f"  scale: {n} charges, {len(ledger)} daily ledger entries ({time.perf_counter() - t0:.1f} s)")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE charging_charge; ANALYZE operators_wallettransaction; ANALYZE charging_chargepoint")
    t1 = time.perf_counter()
    rollups.rebuild(operator.pk)  # (its fees are 0: the ledger has daily entries, not one per charge)
    log(f"  scale: rollups rebuilt ({time.perf_counter() - t1:.1f} s)")
