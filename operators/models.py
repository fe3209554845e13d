from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from portal.money import format_iban, mask_iban


class Operator(models.Model):
    """A Charge Point Operator: the tenant. Company fields are used on invoices."""

    name = models.CharField("company name", max_length=200)
    slug = models.SlugField(unique=True, help_text="Used in addresses: /o/<slug>/")
    country = models.CharField(max_length=2, help_text="ISO 3166 country code, e.g. DK.")
    currency = models.CharField(max_length=3, help_text="ISO 4217 currency of the wallet.")
    vat_number = models.CharField("VAT number", max_length=32, blank=True)
    contact_email = models.EmailField(blank=True)
    finance_email = models.EmailField(blank=True)
    street = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    ean = models.CharField("EAN number", max_length=13, blank=True, help_text="GLN-13, optional.")
    po_number = models.CharField("PO number", max_length=64, blank=True)
    einvoice_by_email = models.BooleanField(
        "attach the e-invoice to invoice emails", default=False,
        help_text="The Peppol BIS 3.0 XML travels with the PDF in each invoice and credit note email.")
    payout_hold = models.BooleanField(
        default=False, help_text="Platform staff only: the monthly close makes no payout while set.")
    payout_hold_note = models.CharField(max_length=200, blank=True,
                                        help_text="Why payouts are on hold (shown to the operator).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    SETTINGS_FIELDS = (
        "name", "vat_number", "contact_email", "finance_email",
        "street", "postcode", "city", "country", "ean", "po_number",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Fee(models.Model):
    """A platform fee that applies to the operator's financial transactions.

    Edited only by platform staff (Django admin); shown read-only to operators. A fee with no
    operator is the platform default; an operator-specific fee of the same kind takes precedence.
    The fee in force at a moment is the latest `valid_from` not after it.
    """

    class Kind(models.TextChoices):
        REVENUE_PERCENTAGE = "revenue_percentage", "Percentage of charging revenue"
        TRANSACTION_FIXED = "transaction_fixed", "Fixed fee per charging transaction"
        PAYOUT_FIXED = "payout_fixed", "Payout fee"
        CHARGE_POINT_MONTHLY = "charge_point_monthly", "Monthly fee per charge point"

    operator = models.ForeignKey(
        Operator, null=True, blank=True, on_delete=models.CASCADE, related_name="fees",
        help_text="Empty: the platform default for every operator.",
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    percentage = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, help_text="For percentage fees."
    )
    amount = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="For fixed fees."
    )
    currency = models.CharField(max_length=3, blank=True, help_text="For fixed fees.")
    valid_from = models.DateField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["kind", "-valid_from"]
        constraints = [
            models.CheckConstraint(
                name="fee_has_value",
                condition=(
                    Q(kind="revenue_percentage", percentage__isnull=False)
                    | (~Q(kind="revenue_percentage") & Q(amount__isnull=False) & ~Q(currency=""))
                ),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.display_value}"

    @property
    def display_value(self):
        # Also shown (as the admin's page title) for a fee whose form was just refused, whose
        # value may be missing.
        if self.kind == self.Kind.REVENUE_PERCENTAGE:
            return "—" if self.percentage is None else f"{self.percentage.normalize():f} %"
        return "—" if self.amount is None else f"{self.amount:.2f} {self.currency}".strip()


class WalletTransactionQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Wallet transactions are append-only: post a correction instead.")

    def delete(self):
        raise PermissionError("Wallet transactions are append-only: post a correction instead.")


class WalletTransaction(models.Model):
    """One entry of the operator's append-only wallet ledger (partner API: WalletTransaction).

    `amount` is signed, in the operator's currency: positive credits the operator, negative
    debits. The balance is the sum of completed entries; nothing is edited, corrections are new
    entries. `reference` is unique per operator, so a job posting the same thing twice is refused
    by the database.
    """

    class Group(models.TextChoices):  # WalletTransactionGroup
        DEPOSIT = "deposit", "Deposit"
        WITHDRAW = "withdraw", "Withdraw"
        CHARGE = "charge", "Charge"
        OTHER = "other", "Other"

    class State(models.TextChoices):  # WalletTransactionState
        COMPLETE = "complete", "Complete"
        PENDING = "pending", "Pending"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        CHARGE_INCOME = "charge_income", "Charging income"
        PLATFORM_FEE = "platform_fee", "Platform fee"
        INVOICE_SETTLEMENT = "invoice_settlement", "Invoice settlement"
        PAYOUT = "payout", "Payout"
        PAYOUT_FEE = "payout_fee", "Payout fee"
        PAYOUT_RETURN = "payout_return", "Payout returned"
        DEPOSIT = "deposit", "Deposit"
        ADJUSTMENT = "adjustment", "Adjustment"

    # Indexed through the unique (operator, reference) and (operator, created_at) indexes: every
    # read is per operator, and fewer indexes keep bulk posting fast (see docs/charging.md).
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="wallet_transactions",
                                 db_index=False)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    group = models.CharField(max_length=10, choices=Group.choices)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.COMPLETE)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    vat_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3)
    reference_type = models.CharField(max_length=32, blank=True)  # WalletTransactionReferenceType
    reference_id = models.CharField(max_length=64, blank=True)
    reference = models.CharField(max_length=128, help_text="Unique per operator: idempotency key.")
    note = models.CharField(max_length=255, blank=True)

    objects = WalletTransactionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["operator", "reference"], name="wallet_tx_unique_reference"),
        ]
        indexes = [models.Index(fields=["operator", "created_at"], name="wallet_tx_operator_created")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} {self.currency}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Wallet transactions are append-only: post a correction instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Wallet transactions are append-only: post a correction instead.")


class BankAccount(models.Model):
    """Where payouts go. IBAN only; never edited once added (remove and add another)."""

    operator = models.ForeignKey(Operator, on_delete=models.CASCADE, related_name="bank_accounts")
    holder_name = models.CharField("account holder", max_length=140)
    iban = models.CharField("IBAN", max_length=34, help_text="Stored normalised: no spaces, upper case.")
    bic = models.CharField("BIC", max_length=11)
    is_default = models.BooleanField("default for payouts", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    AUDIT_FIELDS = ("holder_name", "iban", "bic", "is_default")
    AUDIT_MASKED_FIELDS = {"iban": mask_iban}

    class Meta:
        ordering = ["-is_default", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["operator", "iban"], name="bank_account_unique_iban"),
            models.UniqueConstraint(
                fields=["operator"], condition=Q(is_default=True), name="bank_account_one_default"
            ),
        ]

    def __str__(self):
        return f"{self.holder_name} {self.masked_iban}"

    @property
    def masked_iban(self):
        return mask_iban(self.iban)

    @property
    def formatted_iban(self):
        return format_iban(self.iban)
