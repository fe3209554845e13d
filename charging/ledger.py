"""Operator income on the wallet ledger.

Each completed charge with a price posts two entries, each with its own unique reference:

* `charge:<id>:income` (kind charge_income): the price the driver paid, VAT included, credited;
* `charge:<id>:fee` (kind platform_fee): the platform fee debited: the revenue percentage of that
  price plus the fixed fee per transaction, both from the fee schedule in force at the charge's
  stop time (`operators.selectors.fees_in_force`), converted to the wallet's currency, rounded
  once, half-up, to the currency's minor unit.

A credit (negative price, `credit_of` set) posts a negative income entry and gives back the
percentage part of the fee (the fixed fee per transaction is not refunded).

The unique (operator, reference) constraint makes posting idempotent: `post_charges` inserts with
ON CONFLICT DO NOTHING, so a charge posts exactly once whoever posts it, however often; the CDR
import inserts charges and posts those its own INSERT created in one statement (see
`insert_and_post_sql`).
"""
from bisect import bisect_right
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from charging.bulk import insert_ignore, staged
from dashboards import rollups
from operators.models import Fee, WalletTransaction
from portal.money import minor_unit

# Units of each currency per 1 EUR, to convert fixed platform fees priced in another currency
# into the wallet's. Reference rates; a deployment overrides them with CHARGING_FX_RATES.
# (Also used for the price limit per kWh of the CDR import, so every currency of the countries
# an operator can be in is here.)
DEFAULT_FX_RATES = {"EUR": "1", "DKK": "7.46", "NOK": "11.70", "SEK": "11.20", "GBP": "0.86", "CHF": "0.94",
                    "PLN": "4.25", "CZK": "24.5", "HUF": "395", "RON": "5.00", "ISK": "145"}

LEDGER_FIELDS = ["operator", "created_at", "completed_at", "group", "kind", "state", "amount", "vat_amount",
                 "currency", "reference_type", "reference_id", "reference", "note"]
LEDGER_COLUMNS = [f if f != "operator" else "operator_id" for f in LEDGER_FIELDS]
ZERO = Decimal("0.00")
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2200, 1, 1)


class FxMissing(Exception):
    pass


def convert(amount: Decimal, from_currency: str, to_currency: str) -> Decimal:
    if from_currency == to_currency:
        return amount
    rates = {**DEFAULT_FX_RATES, **getattr(settings, "CHARGING_FX_RATES", {})}
    try:
        return amount / Decimal(rates[from_currency]) * Decimal(rates[to_currency])
    except KeyError:
        raise FxMissing(f"No exchange rate from {from_currency} to {to_currency}.") from None


class FeeSchedule:
    """The fees in force per day for one operator: the same rule as
    `operators.selectors.fees_in_force` (per kind, the operator's own fee beats the platform
    default; the latest `valid_from` not after the day), with every fee loaded in one query and
    the result memoised per day, so an import of a year of CDRs costs one query, not 365."""

    def __init__(self, operator):
        self.operator = operator
        self._fees = list(Fee.objects.filter(Q(operator=operator) | Q(operator__isnull=True))
                          .order_by("kind", "-valid_from", "-id"))
        self._by_day = {}
        self._tz = timezone.get_current_timezone()
        self._days = self._starts = None

    def in_force(self, day) -> list:
        chosen = {}
        for fee in self._fees:
            if fee.valid_from > day:
                continue
            current = chosen.get(fee.kind)
            if current is None or (current.operator_id is None and fee.operator_id is not None):
                chosen[fee.kind] = fee
        return list(chosen.values())

    def at(self, moment):
        return self.at_day(moment.astimezone(self._tz).date())

    def at_day(self, day):
        try:
            return self._by_day[day]
        except KeyError:
            pass
        percentage, fixed, label = Decimal("0"), Decimal("0"), []
        for fee in sorted(self.in_force(day), key=lambda f: f.kind != Fee.Kind.REVENUE_PERCENTAGE):
            if fee.kind == Fee.Kind.REVENUE_PERCENTAGE:
                percentage = fee.percentage
                label.append(f"{fee.percentage.normalize():f} %")
            elif fee.kind == Fee.Kind.TRANSACTION_FIXED:
                fixed = convert(fee.amount, fee.currency, self.operator.currency)
                label.append(f"{fee.amount:.2f} {fee.currency}")
        self._by_day[day] = result = (percentage / Decimal(100), fixed, " + ".join(label),
                                      label[0] if percentage else "")
        return result

    def periods(self, moments) -> list[tuple]:
        """The periods that contain one of `moments`, among those in which the fees in force do
        not change (they change only on a fee's `valid_from` day, at local midnight):
        [(start, end, *at_day(...)), ...], start and end aware datetimes, None for an open end.
        Only those: like `at`, a fee that no moment falls under is never looked at (it may be
        priced in a currency without an exchange rate)."""
        if self._starts is None:
            # Fees valid from before FIRST_DAY are in force for any CDR (imports take 2000–2099)
            # and later than LAST_DAY for none: the periods need no dates outside that range.
            days = sorted({fee.valid_from for fee in self._fees if FIRST_DAY < fee.valid_from < LAST_DAY})
            self._days, self._starts = days, [self._midnight(day) for day in days]
        days, starts = self._days, self._starts
        result = []
        for n in sorted({bisect_right(starts, moment) for moment in moments}):  # n: starts passed
            result.append((starts[n - 1] if n else None, starts[n] if n < len(starts) else None,
                           *self.at_day(days[n - 1] if n else FIRST_DAY)))
        return result

    def _midnight(self, day):
        return datetime.combine(day, time.min, self._tz)


def postable(charge) -> bool:
    return charge.state == "completed" and charge.price != 0 and charge.stopped_at is not None


def entries_for(charge, *, operator, schedule: FeeSchedule) -> list[tuple]:
    """The ledger rows (LEDGER_FIELDS order) a charge posts: income, and the fee when there is one."""
    is_credit = charge.credit_of_id is not None or charge.price < 0
    return entry_rows(operator=operator, schedule=schedule, charge_id=charge.pk,
                      name=charge.external_id or str(charge.pk), price=charge.price, vat=charge.vat_amount,
                      at=charge.stopped_at, is_credit=is_credit)


def entry_rows(*, operator, schedule, charge_id, name, price, vat, at, is_credit) -> list[tuple]:
    currency = operator.currency
    unit = minor_unit(currency)
    rows = [(operator.pk, at, at, "charge", "charge_income", "complete",
             price.quantize(unit, ROUND_HALF_UP), vat.quantize(unit, ROUND_HALF_UP), currency, "CHARGE",
             str(charge_id), f"charge:{charge_id}:income",
             f"Credit of charge {name}" if is_credit else f"Charge {name}")]
    rate, fixed, label, pct_label = schedule.at(at)
    fee = (price * rate if is_credit else price * rate + fixed).quantize(unit, ROUND_HALF_UP)  # rounded once
    if fee:
        rows.append((operator.pk, at, at, "charge", "platform_fee", "complete", -fee, ZERO, currency, "CHARGE",
                     str(charge_id), f"charge:{charge_id}:fee",
                     f"Platform fee refund ({pct_label}) for {name}" if is_credit
                     else f"Platform fee {label} for {name}"))
    return rows


def post_charges(*, operator, charges, schedule: FeeSchedule | None = None) -> None:
    """Post the income and fee entries of `charges` (already saved). Safe to call again and from
    concurrent jobs: each entry is inserted with ON CONFLICT DO NOTHING on its unique reference,
    so it exists at most once."""
    schedule = schedule or FeeSchedule(operator)
    rows, started = [], []
    for charge in charges:
        if postable(charge):
            rows.extend(entries_for(charge, operator=operator, schedule=schedule))
            started.append(charge.started_at)
    with transaction.atomic():  # the fees of those days change: marked with the entries
        insert_ignore(WalletTransaction, LEDGER_COLUMNS, rows)
        rollups.mark_charges(operator.pk, started)


def insert_and_post_sql(*, operator, model, fields: list[str], rows: list[tuple], schedule: FeeSchedule
                        ) -> list[tuple[int, str]]:
    """PostgreSQL: insert charges (`rows` in `fields` order), skipping those whose CDR id is
    already imported, and post the entries of the charges this statement inserted, computed by
    the database from the inserted rows (same amounts, rounding and notes as `entry_rows`;
    numeric round() is half away from zero, like ROUND_HALF_UP). The fee schedule comes from
    `schedule` as a short VALUES list of periods. Returns (id, external_id) of the inserted charges.

    One statement: COPY into a temporary table, then INSERT … ON CONFLICT DO NOTHING RETURNING
    feeds the ledger INSERT. That one is a plain INSERT (no ON CONFLICT): the charges were inserted
    by this very statement, so no one else can have posted their references yet. Were it ever to
    happen, the unique (operator, reference) constraint refuses the INSERT and the batch rolls
    back: a charge can fail to post, never post twice."""
    if not rows:
        return []
    currency = operator.currency
    places = -minor_unit(currency).as_tuple().exponent
    stop, price = fields.index("stopped_at"), fields.index("price")
    period_rows, params = [], []
    for start, end, rate, fixed, label, pct_label in schedule.periods(
            row[stop] for row in rows if row[price] and row[stop] is not None):
        period_rows.append("(coalesce(%s::timestamptz, '-infinity'), coalesce(%s::timestamptz, 'infinity'), "
                           "%s::numeric, %s::numeric, %s, %s)")
        params += [start, end, rate, fixed, label, pct_label]
    if not period_rows:  # nothing to post: a period no charge falls in
        period_rows.append("('infinity'::timestamptz, 'infinity'::timestamptz, 0::numeric, 0::numeric, '', '')")
    ledger_columns = ", ".join(f'"{f}"' for f in LEDGER_COLUMNS)
    with staged(model, fields, rows) as (cursor, temp, columns):
        cursor.execute(f"""
            WITH ins AS (
                INSERT INTO "{model._meta.db_table}" ({columns}) SELECT {columns} FROM "{temp}"
                ON CONFLICT DO NOTHING
                RETURNING id, external_id, price, vat_amount, stopped_at, state, credit_of_id
            ), c AS (
                SELECT ins.id, ins.price, ins.vat_amount, ins.stopped_at, ins.external_id,
                       (ins.credit_of_id IS NOT NULL OR ins.price < 0) AS is_credit,
                       f.rate, f.fixed, f.label, f.pct_label
                FROM ins
                JOIN (VALUES {", ".join(period_rows)}) AS f(starts, ends, rate, fixed, label, pct_label)
                  ON ins.stopped_at >= f.starts AND ins.stopped_at < f.ends
                WHERE ins.state = 'completed' AND ins.price <> 0
            ), e AS (
                SELECT c.*, round(c.price * c.rate + CASE WHEN c.is_credit THEN 0 ELSE c.fixed END, {places}) AS fee
                FROM c
            ), posted AS (
                INSERT INTO operators_wallettransaction ({ledger_columns})
                SELECT %s, stopped_at, stopped_at, 'charge', 'charge_income', 'complete', round(price, {places}),
                       round(vat_amount, {places}), %s, 'CHARGE', id::text, 'charge:' || id || ':income',
                       CASE WHEN is_credit THEN 'Credit of charge ' ELSE 'Charge ' END
                       || coalesce(nullif(external_id, ''), id::text)
                FROM e
                UNION ALL
                SELECT %s, stopped_at, stopped_at, 'charge', 'platform_fee', 'complete', -fee, 0, %s, 'CHARGE',
                       id::text, 'charge:' || id || ':fee',
                       CASE WHEN is_credit THEN 'Platform fee refund (' || pct_label || ') for '
                            ELSE 'Platform fee ' || label || ' for ' END
                       || coalesce(nullif(external_id, ''), id::text)
                FROM e WHERE fee <> 0
            )
            SELECT id, external_id FROM ins
        """, [*params, operator.pk, currency, operator.pk, currency])
        return cursor.fetchall()
