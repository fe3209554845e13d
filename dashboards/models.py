"""Dashboards (docs/dashboards.md): the rollup tables every dashboard reads, and the dashboards
themselves with their sharing (Private / Public link / Username & Password).

Rollups are per charge point, so that editing a charge point (its site, AC/DC, visibility) changes
no rollup row: the filters join the charge point. Days are local days (settings.TIME_ZONE) of a
charge's `started_at`; a credit counts on its own `started_at` day. They are kept exact by
`dashboards.rollups`: every write of charges marks its operator-days dirty in the same transaction
(`RollupDirty`), and a refresh (right after commit, by Celery, and before any dashboard read)
recomputes those days from the charges.
"""
from decimal import Decimal

from django.db import models

ZERO2, ZERO3 = Decimal("0.00"), Decimal("0.000")


class Measures(models.Model):
    """The figures of a rollup row. `sessions`: charges that are neither credits nor failed;
    `revenue` is Σ price (VAT included, credits included as negative amounts), `fees` the platform
    fees posted for those charges (fee refunds of credits included), in the wallet's currency."""

    sessions = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    credits = models.PositiveIntegerField(default=0)
    kwh = models.DecimalField(max_digits=16, decimal_places=3, default=ZERO3)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=ZERO2)
    vat = models.DecimalField(max_digits=16, decimal_places=2, default=ZERO2)
    fees = models.DecimalField(max_digits=16, decimal_places=2, default=ZERO2)
    duration_seconds = models.BigIntegerField(default=0, help_text="Σ of the sessions' durations (with a stop).")
    roaming_sessions = models.PositiveIntegerField(default=0)
    roaming_kwh = models.DecimalField(max_digits=16, decimal_places=3, default=ZERO3)
    roaming_revenue = models.DecimalField(max_digits=16, decimal_places=2, default=ZERO2)

    class Meta:
        abstract = True


class ChargePointDay(Measures):
    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="+", db_index=False)
    charge_point = models.ForeignKey("charging.ChargePoint", on_delete=models.CASCADE, related_name="+",
                                     db_index=False)
    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["operator", "day", "charge_point"], name="rollup_day_key")]

    def __str__(self):
        return f"{self.charge_point_id} on {self.day}"


class ChargePointMonth(Measures):
    """The days of a month added up (recomputed from `ChargePointDay` for every month a refresh touches)."""

    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="+", db_index=False)
    charge_point = models.ForeignKey("charging.ChargePoint", on_delete=models.CASCADE, related_name="+",
                                     db_index=False)
    month = models.DateField(help_text="The first day of the month.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["operator", "month", "charge_point"],
                                               name="rollup_month_key")]

    def __str__(self):
        return f"{self.charge_point_id} in {self.month:%Y-%m}"


class ChargePointHour(models.Model):
    """Occupancy per charge point and local hour: the seconds of that hour a session (not failed,
    not a credit) was plugged in, and the sessions that started in it."""

    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="+", db_index=False)
    charge_point = models.ForeignKey("charging.ChargePoint", on_delete=models.CASCADE, related_name="+",
                                     db_index=False)
    day = models.DateField()
    hour = models.PositiveSmallIntegerField()
    occupied_seconds = models.PositiveIntegerField(default=0)
    sessions_started = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["operator", "day", "charge_point", "hour"],
                                               name="rollup_hour_key")]

    def __str__(self):
        return f"{self.charge_point_id} on {self.day} {self.hour:02d}:00"


class FailureDay(models.Model):
    """Failed sessions per charge point, local day and failure reason."""

    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="+", db_index=False)
    charge_point = models.ForeignKey("charging.ChargePoint", on_delete=models.CASCADE, related_name="+",
                                     db_index=False)
    day = models.DateField()
    reason = models.CharField(max_length=100)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["operator", "day", "charge_point", "reason"],
                                               name="rollup_failure_key")]

    def __str__(self):
        return f"{self.failed} × {self.reason} on {self.day}"


class RollupDirty(models.Model):
    """An operator-day whose charges changed since its rollups were computed. Inserted in the
    transaction that writes the charges, deleted by the refresh that recomputes the day."""

    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["operator", "day"], name="rollup_dirty_key")]

    def __str__(self):
        return f"operator {self.operator_id} on {self.day}"
