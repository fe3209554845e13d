"""Billing: the platform's plan per charge point, support levels, installer settings, the seller's
details, and the invoices of the monthly close (docs/billing.md).

Issued invoices are immutable: `Invoice.save()` refuses changes to their money, parties and
number, `delete()` refuses, and on PostgreSQL triggers (migration 0002) refuse the same in the
database, so no code path — admin, shell, raw SQL — can change a document that has been sent.
"""
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from phonenumber_field.modelfields import PhoneNumberField

ZERO = Decimal("0.00")


class Plan(models.Model):
    """The price per charge point per month, with volume tiers (graduated: the first `up_to`
    charge points at the first tier's price, the next ones at the next tier's, …).

    Edited by platform staff in Django admin. A plan with no operator is the platform default;
    an operator's own plan takes precedence (like `operators.Fee`). The plan in force for a month
    is the latest `valid_from` not after the month's first day."""

    operator = models.ForeignKey("operators.Operator", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="plans", help_text="Empty: the platform default.")
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, help_text="ISO 4217; converted to the operator's currency.")
    valid_from = models.DateField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-valid_from", "id"]

    def __str__(self):
        return f"{self.name} ({self.currency}, from {self.valid_from})"


class PlanTier(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="tiers")
    up_to = models.PositiveIntegerField(null=True, blank=True,
                                        help_text="Last charge point of this tier; empty for the last tier.")
    unit_price = models.DecimalField("price per charge point per month", max_digits=12, decimal_places=4)

    class Meta:
        ordering = [models.F("up_to").asc(nulls_last=True)]
        constraints = [models.UniqueConstraint(fields=["plan", "up_to"], name="plan_tier_unique_up_to")]

    def __str__(self):
        return f"up to {self.up_to or '∞'}: {self.unit_price}"


class SupportLevel(models.Model):
    """Standard / Premium / Enterprise: what the agreement includes. Edited in Django admin."""

    name = models.CharField(max_length=50, unique=True)
    channels = models.CharField(max_length=200, help_text="e.g. Email, phone, Slack.")
    response_time = models.CharField(max_length=100, help_text="e.g. Next business day.")
    success_manager = models.BooleanField("dedicated success manager", default=False)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False, help_text="For operators without an assignment.")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                               name="support_level_one_default")]

    def __str__(self):
        return self.name


class OperatorSupport(models.Model):
    """The support level assigned to an operator (platform staff, Django admin)."""

    operator = models.OneToOneField("operators.Operator", on_delete=models.CASCADE, related_name="support")
    level = models.ForeignKey(SupportLevel, on_delete=models.PROTECT, related_name="+")
    since = models.DateField(null=True, blank=True)

    AUDIT_FIELDS = ("level", "since")

    class Meta:
        verbose_name = "operator support level"

    def __str__(self):
        return f"{self.operator}: {self.level}"


class InstallerSettings(models.Model):
    """The operator's installer (help centre: "Installer settings")."""

    operator = models.OneToOneField("operators.Operator", on_delete=models.CASCADE, related_name="installer")
    company = models.CharField("installer company", max_length=200, blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = PhoneNumberField(blank=True)
    street = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    notes = models.TextField(blank=True, max_length=2000)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    FIELDS = ("company", "contact_name", "email", "phone", "street", "postcode", "city", "country", "notes")

    class Meta:
        verbose_name_plural = "installer settings"

    def __str__(self):
        return self.company or "Installer settings"


class PlatformSeller(models.Model):
    """The company that issues the invoices. The newest row is used; its details are copied onto
    each invoice when it is issued, so editing it never changes an issued invoice."""

    name = models.CharField(max_length=200)
    vat_number = models.CharField("VAT number", max_length=32)
    street = models.CharField(max_length=200)
    postcode = models.CharField(max_length=20)
    city = models.CharField(max_length=100)
    country = models.CharField(max_length=2, default="DK")
    email = models.EmailField(blank=True)
    bank_name = models.CharField(max_length=100, blank=True)
    iban = models.CharField("IBAN", max_length=34)
    bic = models.CharField("BIC", max_length=11)
    payment_terms_days = models.PositiveSmallIntegerField(default=14)
    invoice_footer = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "platform seller"

    def __str__(self):
        return self.name

    SNAPSHOT_FIELDS = ("name", "vat_number", "street", "postcode", "city", "country", "email", "bank_name",
                       "iban", "bic", "invoice_footer")

    def snapshot(self) -> dict:
        return {f: getattr(self, f) for f in self.SNAPSHOT_FIELDS}


class ChargePointRemoval(models.Model):
    """A charge point that was deleted, kept for billing: charge points are deleted outright
    (charging keeps no soft delete), so the days it existed in its last month would otherwise
    be lost. Written by a post_delete signal (billing/signals.py)."""

    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="+")
    charge_point_id = models.BigIntegerField()
    name = models.CharField(max_length=200)
    evse_id = models.CharField(max_length=48, blank=True)
    created_at = models.DateTimeField()
    removed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["operator", "removed_at"])]

    def __str__(self):
        return self.name


class InvoiceSeries(models.Model):
    """Gapless counter per series (INV, CN). The row is incremented (UPDATE … RETURNING, which
    locks it until commit) inside the issuing transaction: a rolled-back issue gives its number back, two
    concurrent issuers wait for each other. The number never resets; the year in the printed
    number is the issue year (INV-2026-000123, then INV-2027-000124)."""

    code = models.CharField(max_length=8, unique=True)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "invoice series"

    def __str__(self):
        return f"{self.code} (last {self.last_number})"


class InvoiceQuerySet(models.QuerySet):
    def delete(self):
        if self.filter(number__isnull=False).exists():
            raise PermissionError("Issued invoices are never deleted: issue a credit note.")
        return super().delete()

    def update(self, **kwargs):
        frozen = set(kwargs) & set(Invoice.FROZEN_FIELDS)
        if frozen and self.filter(number__isnull=False).exists():
            raise PermissionError(f"Issued invoices cannot change ({', '.join(sorted(frozen))}).")
        return super().update(**kwargs)


class Invoice(models.Model):
    """An invoice (series INV) or a credit note (series CN, `credit_of` the invoice it cancels,
    negative amounts). Amounts are in the operator's (wallet's) currency."""

    class Series(models.TextChoices):
        INVOICE = "INV", "Invoice"
        CREDIT_NOTE = "CN", "Credit note"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        PAID = "paid", "Paid"
        CREDITED = "credited", "Credited"

    operator = models.ForeignKey("operators.Operator", on_delete=models.PROTECT, related_name="invoices")
    series = models.CharField(max_length=3, choices=Series.choices, default=Series.INVOICE)
    period = models.DateField(help_text="First day of the month invoiced.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    number = models.CharField(max_length=32, null=True, blank=True, unique=True)
    sequence = models.PositiveIntegerField(null=True, blank=True)
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    net = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    vat = models.DecimalField("VAT", max_digits=14, decimal_places=2, default=ZERO)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    vat_category = models.CharField(max_length=2, help_text="EN 16931 (UNCL5305): S, AE, O.")
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2, default=ZERO)
    vat_note = models.CharField(max_length=255, blank=True)
    seller = models.JSONField(default=dict, help_text="The seller as it was when issued.")
    buyer = models.JSONField(default=dict, help_text="The buyer as it was when issued.")
    details = models.JSONField(default=dict, help_text="What the lines cover (charge points counted, …).")
    credit_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes")
    reason = models.CharField(max_length=255, blank=True, help_text="For credit notes.")
    paid_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    pdf = models.BinaryField(null=True, blank=True, editable=False)
    einvoice = models.BinaryField("e-invoice", null=True, blank=True, editable=False,
                                  help_text="Peppol BIS 3.0 UBL 2.1, its PDF embedded; stored on first use.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = InvoiceQuerySet.as_manager()

    # Never change once the invoice has a number (also enforced by PostgreSQL triggers).
    FROZEN_FIELDS = ("operator", "series", "period", "number", "sequence", "issue_date", "due_date", "issued_at",
                     "currency", "net", "vat", "total", "vat_category", "vat_rate", "vat_note", "seller", "buyer",
                     "details", "credit_of", "reason")

    class Meta:
        ordering = ["-period", "-id"]
        # Issuing a credit note is not "viewing" an invoice: staff need this permission for the
        # admin action (superusers have it).
        permissions = [("credit_invoice", "Can issue credit notes")]
        constraints = [
            # Exactly one document of the month per operator: its invoice, or its credit note when
            # more was credited than invoiced (credit notes of an invoice: as many as staff issue).
            models.UniqueConstraint(fields=["operator", "period"],
                                    condition=Q(series="INV") | Q(series="CN", credit_of__isnull=True),
                                    name="invoice_one_per_operator_month"),
            models.UniqueConstraint(fields=["series", "sequence"], name="invoice_unique_sequence"),
            models.CheckConstraint(name="invoice_numbered_when_issued",
                                   condition=Q(status="draft") | Q(number__isnull=False)),
        ]
        indexes = [models.Index(fields=["operator", "status", "period"])]

    def __str__(self):
        return self.number or f"Draft {self.get_series_display().lower()} {self.period:%Y-%m}"

    def save(self, *args, **kwargs):
        # (Not a CHECK constraint: SQLite compares decimals as floats, so 0.1 + 0.2 != 0.3 there.)
        if self.total != self.net + self.vat:
            raise ValueError(f"Total {self.total} is not net {self.net} + VAT {self.vat}.")
        if not self._state.adding and self.pk and not getattr(self, "_draft_in_db", False):
            stored = Invoice.objects.filter(pk=self.pk).values(*self.FROZEN_FIELDS).first()
            if stored and stored["number"] is not None:
                changed = [f for f in self.FROZEN_FIELDS
                           if stored[f] != getattr(self, f if f not in ("operator", "credit_of") else f + "_id")]
                if changed:
                    raise PermissionError(f"Issued invoices cannot change ({', '.join(changed)}).")
        super().save(*args, **kwargs)
        self._draft_in_db = self.number is None  # known to be a draft in the database: no re-check needed

    def delete(self, *args, **kwargs):
        if self.number is not None or Invoice.objects.filter(pk=self.pk, number__isnull=False).exists():
            raise PermissionError("Issued invoices are never deleted: issue a credit note.")
        return super().delete(*args, **kwargs)

    @property
    def is_credit_note(self):
        return self.series == self.Series.CREDIT_NOTE

    @property
    def is_due(self):
        return self.status == self.Status.ISSUED

    @property
    def fx_note(self) -> str:
        """The exchange rate the subscription was converted at, as issued (snapshot in `details`):
        empty when the plan was priced in the invoice's currency."""
        plan = (self.details or {}).get("plan") or {}
        if not plan.get("exchange_rate"):
            return ""
        return (f"Plan priced in {plan['priced_in']}, converted at 1 {plan['priced_in']} = "
                f"{plan['exchange_rate']} {self.currency}.")


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        SUBSCRIPTION = "subscription", "Subscription"
        PLATFORM_FEE = "platform_fee", "Platform fees"
        CREDIT = "credit", "Credit"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.CharField(max_length=255)
    quantity = models.DecimalField(max_digits=14, decimal_places=4)
    unit = models.CharField(max_length=40, blank=True)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)
    net = models.DecimalField(max_digits=14, decimal_places=2)
    vat_category = models.CharField(max_length=2)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    covers = models.JSONField(default=dict, blank=True, help_text="What this line bills: counts, sums, filters.")

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_unique_position")]

    def __str__(self):
        return self.description


class InvoiceEntry(models.Model):
    """Links a ledger entry to the invoice that bills it. One-to-one on the entry, so an entry is
    billed at most once. Invariant (tested): a settled invoice's total is minus the sum of its
    linked entries (the per-charge fee debits plus one settlement entry)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="entries")
    transaction = models.OneToOneField("operators.WalletTransaction", on_delete=models.PROTECT,
                                       related_name="invoice_entry")

    class Meta:
        verbose_name_plural = "invoice entries"

    def __str__(self):
        return f"{self.invoice_id} ← {self.transaction_id}"


class CloseRun(models.Model):
    """One run of the monthly close for one operator and month: what happened, for the report
    and for staff (the close itself is keyed by the invoice's unique (operator, period))."""

    class Outcome(models.TextChoices):
        ISSUED = "issued", "Issued"
        SETTLED = "settled", "Settled"
        DUE = "due", "Issued, balance too low: due"
        UNCHANGED = "unchanged", "Already closed"
        EMPTY = "empty", "Nothing to invoice"
        FAILED = "failed", "Failed"

    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="+")
    period = models.DateField()
    started_at = models.DateTimeField()
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"{self.operator} {self.period:%Y-%m}: {self.outcome}"
