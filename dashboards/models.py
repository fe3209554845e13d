"""Dashboards (docs/dashboards.md): the rollup tables every dashboard reads, and the dashboards
themselves with their sharing (Private / Public link / Username & Password).

Two levels. Per charge point (`ChargePointDay`, `ChargePointMonth`, `ChargePointHour`,
`FailureDay`): exact from the charges. Per segment, that is site × AC/DC × public/private
(`SegmentDay`, `SegmentMonth`) and per network × AC/DC × public/private and hour (`NetworkHour`):
the charge point rows added up by where each charge point is now (`RollupPlacement`), so that a
year of 10 000 charge points is read as a few thousand rows. When a charge point moves (another
site, AC/DC or visibility, by any path), the next refresh moves its history between segments. Days are local days (settings.TIME_ZONE) of a
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

    # Plain integers (no CHECK ≥ 0): months and segments are kept by adding differences, and a
    # difference may be negative while it is applied.
    sessions = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    credits = models.IntegerField(default=0)
    kwh = models.DecimalField(max_digits=16, decimal_places=3, default=ZERO3)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=ZERO2)
    vat = models.DecimalField(max_digits=16, decimal_places=2, default=ZERO2)
    fees = models.DecimalField(max_digits=16, decimal_places=2, default=ZERO2)
    duration_seconds = models.BigIntegerField(default=0, help_text="Σ of the sessions' durations (with a stop).")
    roaming_sessions = models.IntegerField(default=0)
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
        # one charge point's history (a move between segments; the top failing charge points)
        indexes = [models.Index(fields=["charge_point", "day"], name="rollup_day_point")]

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
        indexes = [models.Index(fields=["charge_point", "month"], name="rollup_month_point")]

    def __str__(self):
        return f"{self.charge_point_id} in {self.month:%Y-%m}"


class Segment(models.Model):
    """Where a charge point counts: its site (`site_key`, 0 for none: a plain number, so that
    deleting a site leaves its history to be moved, not cascaded away), AC/DC and visibility."""

    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="+", db_index=False)
    site_key = models.BigIntegerField(default=0, help_text="The site's id, 0 for charge points without a site.")
    current_type = models.CharField(max_length=2)
    visibility = models.CharField(max_length=10)

    class Meta:
        abstract = True


class SegmentDay(Segment, Measures):
    """The `ChargePointDay` rows of one local day added up per segment, with the occupied seconds
    of the day's `ChargePointHour` rows."""

    day = models.DateField()
    occupied_seconds = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["operator", "day", "site_key", "current_type", "visibility"],
                                               name="rollup_segment_day_key")]
        indexes = [models.Index(fields=["operator", "site_key", "day"], name="rollup_segment_day_site")]

    def __str__(self):
        return f"site {self.site_key} {self.current_type} {self.visibility} on {self.day}"


class SegmentMonth(Segment, Measures):
    """The `SegmentDay` rows of a month added up."""

    month = models.DateField(help_text="The first day of the month.")
    occupied_seconds = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["operator", "month", "site_key", "current_type", "visibility"],
                                               name="rollup_segment_month_key")]
        indexes = [models.Index(fields=["operator", "site_key", "month"], name="rollup_segment_month_site")]

    def __str__(self):
        return f"site {self.site_key} {self.current_type} {self.visibility} in {self.month:%Y-%m}"


class NetworkHour(models.Model):
    """`ChargePointHour` added up over the whole network per AC/DC and visibility (the heatmap
    without a site filter: at most 4 × 24 rows a day)."""

    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="+", db_index=False)
    current_type = models.CharField(max_length=2)
    visibility = models.CharField(max_length=10)
    day = models.DateField()
    hour = models.PositiveSmallIntegerField()
    occupied_seconds = models.BigIntegerField(default=0)
    sessions_started = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["operator", "day", "hour", "current_type", "visibility"],
                                               name="rollup_network_hour_key")]

    def __str__(self):
        return f"{self.current_type} {self.visibility} on {self.day} {self.hour:02d}:00"


class RollupPlacement(Segment):
    """The segment a charge point's history is counted in now. A refresh compares it with the
    charge point and moves the history when they differ."""

    charge_point = models.OneToOneField("charging.ChargePoint", on_delete=models.CASCADE, related_name="+")
    # the first and the last local day with a session (None: none yet), kept with the day rows, so
    # that "active in a range" is decided per charge point from this one row, and only a charge
    # point with sessions before and after the range needs a look at its month and day rows
    first_session_day = models.DateField(null=True, blank=True)
    last_session_day = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["operator", "site_key"], name="rollup_placement_op")]

    def __str__(self):
        return f"{self.charge_point_id} in site {self.site_key}"


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
        # a site's charge points (the heatmap with a site filter) and a move between segments
        indexes = [models.Index(fields=["charge_point", "day"], name="rollup_hour_point")]

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


class RollupVersion(models.Model):
    """A number that changes whenever an operator's rollup rows do (every refresh and rebuild, in
    their transaction): what the list totals read from the rollups is cached under it
    (dashboards/totals.py), so a cached figure is never one the rows no longer give."""

    operator = models.OneToOneField("operators.Operator", on_delete=models.CASCADE, primary_key=True,
                                    related_name="+")
    version = models.BigIntegerField(default=0)

    def __str__(self):
        return f"operator {self.operator_id}: rollups version {self.version}"


class Dashboard(models.Model):
    """A dashboard of one kind, its filters and time range, and how it is shared.

    What a shared link shows is this row as saved: kind, filters, range. The token of a public link
    is stored only as its SHA-256 (`token_hash`); the link is shown once, when it is made.
    `share_version` goes up whenever the visibility, the password or the token changes: every
    password session opened before carries an older version and ends."""

    class Kind(models.TextChoices):
        NETWORK = "network", "Network / Charge points"
        REVENUE = "revenue", "Revenue"
        INVOICES = "invoices", "Invoices"
        ROAMING = "roaming", "Roaming"
        FAILED = "failed_sessions", "Failed sessions"
        UTILIZATION = "utilization", "Utilization"

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private"
        PUBLIC = "public", "Public"
        PASSWORD = "password", "Username & Password"

    class Range(models.TextChoices):
        LAST_DAYS = "last_days", "Last N days"
        BETWEEN = "between", "Between two dates"

    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="dashboards")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # filters: a deleted site must never widen what a shared link shows, so a site in use is protected
    site = models.ForeignKey("charging.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    current_type = models.CharField("AC/DC", max_length=2, blank=True,
                                    choices=[("", "AC and DC"), ("ac", "AC"), ("dc", "DC")])
    charge_point_visibility = models.CharField("public/private charge points", max_length=10, blank=True,
                                               choices=[("", "Public and private"), ("public", "Public"),
                                                        ("private", "Private")])
    range_kind = models.CharField("time range", max_length=10, choices=Range.choices, default=Range.LAST_DAYS)
    last_days = models.PositiveIntegerField("last N days", null=True, blank=True, default=365)
    date_from = models.DateField(null=True, blank=True)
    date_to = models.DateField(null=True, blank=True)

    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE)
    expire_at = models.DateTimeField("expire at", null=True, blank=True)
    token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    token_hint = models.CharField(max_length=8, blank=True)
    share_username = models.CharField("username", max_length=150, blank=True)
    share_password = models.CharField("password", max_length=128, blank=True)
    share_version = models.PositiveIntegerField(default=1)
    locked_at = models.DateTimeField(null=True, blank=True,
                                     help_text="Set after 50 wrong passwords in an hour: the link answers not available.")

    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_viewed_at = models.DateTimeField(null=True, blank=True)

    AUDIT_FIELDS = ("name", "kind", "site", "current_type", "charge_point_visibility", "range_kind", "last_days",
                    "date_from", "date_to", "visibility", "expire_at", "share_username", "share_password",
                    "token_hint", "locked_at")
    AUDIT_SECRET_FIELDS = ("share_password",)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["operator", "name"])]

    def __str__(self):
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.visibility != self.Visibility.PRIVATE and bool(self.token_hash)

    def is_expired(self, now) -> bool:
        return self.expire_at is not None and self.expire_at <= now


class DashboardAccess(models.Model):
    """The access log of a shared dashboard. `address` is anonymised for display (IPv4 /24,
    IPv6 /48); `address_key` is a keyed hash of the full address, used only to count tries."""

    class Outcome(models.TextChoices):
        VIEWED = "viewed", "Viewed"
        SIGNED_IN = "signed_in", "Signed in"
        WRONG_PASSWORD = "wrong_password", "Wrong password"
        LOCKED_OUT = "locked_out", "Address locked out"
        LINK_LOCKED = "link_locked", "Link locked"
        RATE_LIMITED = "rate_limited", "Too many requests"
        DOWNLOADED = "downloaded", "Downloaded CSV"

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="accesses")
    at = models.DateTimeField()
    address = models.CharField(max_length=64)
    address_key = models.CharField(max_length=64)
    browser = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["dashboard", "-at"]),
                   models.Index(fields=["dashboard", "address_key", "outcome", "at"])]

    def __str__(self):
        return f"{self.get_outcome_display()} at {self.at:%Y-%m-%d %H:%M}"
