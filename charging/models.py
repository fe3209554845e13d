"""The operator's charging network, shaped after the partner API's Site and ChargePoint schemas
(field names and states as in `partner-api-v2024-01-18.openapi.yaml`)."""
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Replace, Upper
from django.utils import timezone


class Visibility(models.TextChoices):
    PRIVATE = "private", "Private"
    PUBLIC = "public", "Public"


class CurrentType(models.TextChoices):
    AC = "ac", "AC"
    DC = "dc", "DC"


def evse_key():
    """The EVSE id as two ids are compared (`portal.validators.evse_id_key`), in SQL: upper case,
    without the optional '*' separators."""
    return Replace(Upper("evse_id"), Value("*"), Value(""))


class Site(models.Model):
    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=200)
    street = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    AUDIT_FIELDS = ("name", "street", "postcode", "city", "country", "latitude", "longitude", "visibility", "note")

    class Meta:
        ordering = ["name", "id"]
        # the Sites list's order (a page is an index range, not a sort of every site)
        indexes = [models.Index(fields=["operator", "name", "id"], name="site_op_name")]

    def __str__(self):
        return self.name

    @property
    def address(self):
        return ", ".join(p for p in (self.street, f"{self.postcode} {self.city}".strip(), self.country) if p)


class ChargePoint(models.Model):
    class State(models.TextChoices):  # ChargePointState (lower-case forms)
        AVAILABLE = "available", "Available"
        BUSY = "busy", "Busy"
        BUSY_CHARGING = "busy-charging", "Busy (charging)"
        ERROR = "error", "Error"
        DISCONNECTED = "disconnected", "Disconnected"
        PASSIVE = "passive", "Passive"
        MAINTENANCE = "maintenance", "Maintenance"
        OTHER = "other", "Other"

    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="charge_points")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="charge_points")
    name = models.CharField(max_length=200)
    serial_number = models.CharField(max_length=100, blank=True)
    evse_id = models.CharField("EVSE id", max_length=48, blank=True)
    brand_name = models.CharField(max_length=100, blank=True)
    model_name = models.CharField(max_length=100, blank=True)
    type = models.CharField(max_length=2, choices=CurrentType.choices, default=CurrentType.AC)
    max_kw = models.DecimalField("max kW", max_digits=7, decimal_places=2, null=True, blank=True)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    state = models.CharField(max_length=20, choices=State.choices, default=State.AVAILABLE)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    AUDIT_FIELDS = ("name", "site", "serial_number", "evse_id", "brand_name", "model_name", "type", "max_kw",
                    "visibility", "state", "note")

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["operator", "site"]), models.Index(fields=["operator", "state"]),
                   # the Charge points list's order (a page is an index range: 7 ms → 0.1 ms at 10 000)
                   models.Index(fields=["operator", "name", "id"], name="charge_point_op_name"),
                   # the form's and CSV import's "already has this EVSE id" lookup (`evse_key`)
                   models.Index("operator", evse_key(), name="charge_point_evse_key")]
        constraints = [
            models.UniqueConstraint(
                fields=["operator", "evse_id"], condition=~Q(evse_id=""), name="charge_point_unique_evse"
            ),
            # The target of charges' (charge point, operator) foreign key (see Charge). id first:
            # the key's check then finds its row by id whatever the planner's statistics say.
            models.UniqueConstraint(fields=["id", "operator"], name="charge_point_operator_id"),
        ]

    def __str__(self):
        return self.name


class Connector(models.Model):
    """A plug of a charge point (partner API: ChargePointConnector: identifier + readable name)."""

    class Identifier(models.TextChoices):
        TYPE2 = "type2", "Type 2"
        CCS = "ccs", "CCS"
        CHADEMO = "chademo", "CHAdeMO"
        TYPE1 = "type1", "Type 1"
        SCHUKO = "schuko", "Schuko"
        OTHER = "other", "Other"

    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="+")
    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="connectors")
    identifier = models.CharField("type", max_length=16, choices=Identifier.choices)
    max_kw = models.DecimalField("power (kW)", max_digits=7, decimal_places=2)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.get_identifier_display()} {self.max_kw.normalize():f} kW"

    @property
    def name(self):
        return self.get_identifier_display()


class Charge(models.Model):
    """A charging session (partner API: Charge). `price` is what the driver paid, VAT included;
    `vat_amount` is the VAT part of it. A credit (OCPI `credit: true`) is a charge of its own with
    negative amounts and `credit_of` pointing at the session it corrects."""

    class Type(models.TextChoices):
        PUBLIC = "public", "Public"
        OPERATOR = "operator", "Operator"
        ROAMING = "roaming", "Roaming"
        SPONSORED = "sponsored", "Sponsored"

    class State(models.TextChoices):  # ChargeStateDto, plus "failed" (partner API: failedAt)
        CHARGING = "charging", "Charging"
        STOPPED = "stopped", "Stopped"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        OTHER = "other", "Other"

    # No single-column indexes: the composite indexes below start with these columns. No
    # single-column foreign keys either: on PostgreSQL one composite foreign key (charge point,
    # operator) -> charge point (id, operator) makes sure a charge's charge point belongs to the
    # charge's operator (and so that both exist), with one check per inserted row instead of two
    # (migrations 0003 and 0004). Deletion rules (CASCADE, PROTECT) are Django's, as before.
    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="charges",
                                 db_index=False, db_constraint=False)
    charge_point = models.ForeignKey(ChargePoint, on_delete=models.PROTECT, related_name="charges", db_index=False,
                                     db_constraint=False)
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.PUBLIC)
    state = models.CharField(max_length=10, choices=State.choices, default=State.COMPLETED)
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    consumed_kwh = models.DecimalField("consumed kWh", max_digits=12, decimal_places=3, default=Decimal("0"))
    price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"),
                                help_text="Paid by the driver, VAT included.")
    vat_amount = models.DecimalField("VAT amount", max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3)
    external_id = models.CharField(max_length=64, blank=True,
                                   help_text="Partner or roaming id (OCPI CDR id); unique per operator.")
    credit_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="credits",
                                  db_index=False)
    failure_reason = models.CharField(max_length=100, blank=True)
    cdr_import = models.ForeignKey("CdrImport", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   db_index=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["operator", "-started_at", "-id"], name="charge_op_started"),
            # a charge point's charges in the list's order (also a site's: one range per charge point)
            # (with the operator: read from the index alone)
            models.Index(fields=["charge_point", "-started_at", "-id"], include=["operator"],
                         name="charge_cp_started_id"),
            # partial: most charges are not credits, so it stays small. (No index on cdr_import:
            # imports are never deleted, and one more index per imported row costs throughput.)
            models.Index(fields=["credit_of"], condition=Q(credit_of__isnull=False), name="charge_credit_of"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["operator", "external_id"], condition=~Q(external_id=""),
                                    name="charge_unique_external_id"),
        ]

    def __str__(self):
        return f"Charge {self.external_id or self.pk}"

    @property
    def price_excl_vat(self):
        return self.price - self.vat_amount

    @property
    def duration(self):
        return (self.stopped_at - self.started_at) if self.stopped_at else None


class CdrImport(models.Model):
    """One upload of an OCPI CDR file and its progress (updated by the import task per batch)."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Importing"
        DONE = "done", "Finished"
        FAILED = "failed", "Failed"

    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="cdr_imports")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    filename = models.CharField(max_length=255)
    file = models.FileField(upload_to="cdr-imports/", blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0, help_text="Already imported earlier (same CDR id).")
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{index, id, reason}], the first 1000.")
    message = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.filename

    @property
    def percent(self):
        return 100 if not self.total else int(self.processed * 100 / self.total)

    @property
    def finished(self):
        return self.state in (self.State.DONE, self.State.FAILED)


class Export(models.Model):
    """A CSV export too large to make during the request (charging/exports.py), prepared by a
    Celery job with its progress, downloaded by the member who asked for it, kept for
    `CHARGING_EXPORT_KEEP_DAYS` days."""

    class Kind(models.TextChoices):
        CHARGES = "charges", "Charges"
        WALLET = "wallet", "Wallet transactions"

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting"
        RUNNING = "running", "Preparing"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    query = models.CharField(max_length=2000, blank=True, help_text="The list's filters, as in its address.")
    description = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0, help_text="Rows expected (counted when asked for).")
    processed = models.PositiveIntegerField(default=0)
    size = models.PositiveBigIntegerField(default=0)
    file = models.FileField(upload_to="exports/", blank=True)
    message = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=16, blank=True, help_text="The token of the job's current claim.")
    created_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of the job.")
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["operator", "requested_by", "-created_at"], name="export_member_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} export {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def percent(self):
        if self.state == self.State.DONE:
            return 100
        return 0 if not self.total else min(99, int(self.processed * 100 / self.total))

    @property
    def finished(self):
        return self.state in (self.State.DONE, self.State.FAILED, self.State.EXPIRED)
