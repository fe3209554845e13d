"""Payouts: money leaving the wallet for the operator's bank account, and the Bookkeeper's
wallet actions (deposit, withdraw, refund). See docs/payouts.md.

A payout is *decided* once — a row under a unique key, written in the same transaction as its
ledger debit — before any bank file exists. Export, the bank's result and a return only move it
along its states:

    pending ──export──> exported ──bank: accepted──> paid
                              └──bank: rejected──> failed ──money back on the wallet──> returned
    (a paid payout the bank later returns goes paid → failed → returned the same way)

A monthly payout the close could not make (no default IBAN, balance at or below the fee, a hold)
is kept as `skipped` with the reason, so the Payouts page says why; a re-run of that month's close
looks at it again.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

from portal.money import mask_iban


class PayoutBatch(models.Model):
    """One ISO 20022 pain.001 credit-transfer file of pending payouts in one currency. The XML
    is built once, validated against its XSD, and stored: a re-export serves the same bytes."""

    class Scheme(models.TextChoices):
        SEPA = "sepa", "SEPA credit transfer (pain.001.001.09)"
        GENERIC = "generic", "Credit transfer, non-SEPA (pain.001.001.09)"

    currency = models.CharField(max_length=3)
    scheme = models.CharField(max_length=10, choices=Scheme.choices)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    count = models.PositiveIntegerField()
    total = models.DecimalField(max_digits=16, decimal_places=2)
    xml = models.BinaryField(editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "payout batches"

    def __str__(self):
        return self.msg_id

    @property
    def msg_id(self) -> str:
        """The file's MsgId (and PmtInfId): unique per batch, at most 35 characters."""
        return f"CPO-PAYOUTS-{self.pk:08d}"

    @property
    def filename(self) -> str:
        return f"{self.msg_id}.xml"


class Payout(models.Model):
    class Kind(models.TextChoices):
        MONTHLY = "monthly", "Monthly payout"
        WITHDRAWAL = "withdrawal", "Withdrawal"

    class State(models.TextChoices):
        SKIPPED = "skipped", "Not paid out"
        PENDING = "pending", "Pending"
        EXPORTED = "exported", "Exported"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        RETURNED = "returned", "Returned"

    class SkipReason(models.TextChoices):
        NO_ACCOUNT = "no_account", "No default bank account: add one under Bank accounts."
        LOW_BALANCE = "low_balance", "The balance was at or below the payout fee."
        HOLD = "hold", "Payouts are on hold for this operator (set by the platform)."
        INVALID_ACCOUNT = "invalid_account", "The default bank account's IBAN or BIC is not valid."
        INVOICE_DUE = "invoice_due", "An invoice is still due: the balance is kept to settle it."
        NO_RATE = "no_rate", "The payout fee cannot be converted to the wallet's currency (no exchange rate)."

    operator = models.ForeignKey("operators.Operator", on_delete=models.PROTECT, related_name="payouts")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MONTHLY)
    period = models.DateField(null=True, blank=True, help_text="The month closed (first day); monthly only.")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="Paid out to the bank account.")
    fee = models.DecimalField(max_digits=14, decimal_places=2, help_text="Payout fee, debited from the wallet.")
    state = models.CharField(max_length=10, choices=State.choices)
    skip_reason = models.CharField(max_length=20, choices=SkipReason.choices, blank=True)
    hold_note = models.CharField(max_length=200, blank=True)
    bank_account = models.ForeignKey("operators.BankAccount", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    holder_name = models.CharField(max_length=140, blank=True)
    iban = models.CharField("IBAN", max_length=34, blank=True)
    bic = models.CharField("BIC", max_length=11, blank=True)
    invoice = models.ForeignKey("billing.Invoice", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="payouts", help_text="The invoice of the close it follows.")
    statement = models.JSONField(default=dict, blank=True)
    batch = models.ForeignKey(PayoutBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="payouts")
    reason_code = models.CharField(max_length=4, blank=True, help_text="The bank's reason code, e.g. AC06.")
    reason_text = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    exported_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The exactly-once key: one monthly payout per operator, month and currency.
            models.UniqueConstraint(fields=["operator", "period", "currency"], condition=Q(kind="monthly"),
                                    name="payout_one_per_operator_month"),
            models.CheckConstraint(name="payout_amounts_not_negative", condition=Q(amount__gte=0, fee__gte=0)),
            models.CheckConstraint(name="payout_monthly_has_period",
                                   condition=Q(kind="withdrawal") | Q(period__isnull=False)),
            # Only a payout that was decided goes into a file.
            models.CheckConstraint(name="payout_batch_only_when_decided",
                                   condition=Q(batch__isnull=True) | ~Q(state__in=["skipped", "pending"])),
        ]
        indexes = [models.Index(fields=["state", "currency"], name="payout_state_currency")]

    def __str__(self):
        return self.reference

    @property
    def reference(self) -> str:
        """The EndToEndId in the bank file, and the payout's name everywhere."""
        return f"PAYOUT-{self.pk}"

    @property
    def masked_iban(self):
        return mask_iban(self.iban) if self.iban else ""

    @property
    def is_decided(self):
        return self.state != self.State.SKIPPED

    @property
    def can_export(self):
        return self.state == self.State.PENDING and self.batch_id is None


class WalletAction(models.Model):
    """A Bookkeeper's deposit, withdrawal or refund. The client token of the form is unique per
    operator: a double submit finds the first action and posts nothing more."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        WITHDRAW = "withdraw", "Withdraw"
        REFUND = "refund", "Refund"

    class State(models.TextChoices):
        # A deposit is only the operator's word that money was sent: it is credited when platform
        # staff confirm it arrived on the platform's account (found in review: crediting at once
        # let a Bookkeeper create money and withdraw it). Withdrawals and refunds are done at once.
        PENDING = "pending", "Awaiting confirmation"
        DONE = "done", "Done"
        REJECTED = "rejected", "Not received"

    operator = models.ForeignKey("operators.Operator", on_delete=models.PROTECT, related_name="wallet_actions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DONE)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", help_text="Staff who confirmed or rejected a deposit.")
    decision_note = models.CharField(max_length=200, blank=True)
    token = models.CharField(max_length=64)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    bank_reference = models.CharField(max_length=140, blank=True)
    note = models.CharField(max_length=255, blank=True)
    charge = models.ForeignKey("charging.Charge", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    credit = models.ForeignKey("charging.Charge", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               help_text="The credit (negative charge) a refund created.")
    payout = models.ForeignKey(Payout, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    balance_after = models.DecimalField(max_digits=14, decimal_places=2)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["operator", "token"], name="wallet_action_unique_token"),
            models.CheckConstraint(name="wallet_action_amount_positive", condition=Q(amount__gt=0)),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} {self.currency}"
