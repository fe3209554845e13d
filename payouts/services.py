"""Every payout and wallet-action write. See docs/payouts.md for the states and the invariants.

Exactly once: each decision is one transaction that locks the operator row first (the same lock
the monthly close takes), finds or creates the row under its unique key — (operator, period,
currency) for a monthly payout, (operator, token) for a wallet action — and posts the ledger
entries under unique references (`payout:<id>`, `payout:<id>:fee`, `payout:<id>:return`,
`deposit:<action id>`). A re-run, a second worker, or a restart after a crash finds what was
decided and posts nothing more; a crash inside the transaction leaves nothing at all.
"""
import logging
import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from charging.ledger import LEDGER_FIELDS, FeeSchedule, FxMissing, convert
from charging.models import Charge
from dashboards import rollups
from operators.models import BankAccount, Fee, Operator, WalletTransaction
from operators.validators import parse_bic, parse_iban
from payouts.models import Payout, WalletAction
from portal import audit
from portal.errors import DomainError, NotAllowed
from portal.money import format_money, minor_unit, quantize
from portal.validators import bounded_decimal, single_line_text

log = logging.getLogger(__name__)
ZERO = Decimal("0.00")
Kind, Group = WalletTransaction.Kind, WalletTransaction.Group
# Ledger kinds each line of a payout statement sums; everything else is "other".
STATEMENT_KINDS = {"income": [Kind.CHARGE_INCOME], "fees": [Kind.PLATFORM_FEE],
                   "invoice_settled": [Kind.INVOICE_SETTLEMENT], "deposits": [Kind.DEPOSIT],
                   "returned": [Kind.PAYOUT_RETURN], "withdrawals": [Kind.PAYOUT, Kind.PAYOUT_FEE]}


class PayoutError(DomainError):
    pass


# --- reads used by the decisions ------------------------------------------------------------------
def balance_at(operator, at=None) -> Decimal:
    """The balance from the completed ledger entries created up to `at` (all of them if None)."""
    qs = WalletTransaction.objects.filter(operator=operator, state=WalletTransaction.State.COMPLETE)
    if at is not None:
        qs = qs.filter(created_at__lte=at)
    # quantized: SQLite sums decimals as floats (0E-11, 20114.9100000003)
    return quantize(qs.aggregate(s=Sum("amount"))["s"] or ZERO, operator.currency)


def payable_balance(operator, at=None) -> Decimal:
    """What may leave the wallet at `at`: the balance up to `at`, but never more than the balance
    of every entry — an entry dated after `at` (a CDR imported with a future stop time) that
    debits must not let a payout take the wallet below zero."""
    up_to = balance_at(operator, at)
    return min(up_to, balance_at(operator)) if at is not None else up_to


class NoRate(PayoutError):
    pass


def payout_fee(operator, at=None) -> Decimal:
    """The payout fee in force at `at`, in the wallet's currency (0 when the schedule has none).
    NoRate when the fee's currency has no exchange rate to the wallet's."""
    day = timezone.localdate(at) if at else timezone.localdate()
    for fee in FeeSchedule(operator).in_force(day):
        if fee.kind == Fee.Kind.PAYOUT_FIXED:
            try:
                return quantize(convert(fee.amount, fee.currency, operator.currency), operator.currency)
            except FxMissing as exc:
                raise NoRate(f"{Payout.SkipReason.NO_RATE.label} {exc}") from None
    return ZERO


def default_account(operator) -> BankAccount | None:
    return BankAccount.objects.filter(operator=operator, is_default=True).first()


def account_problem(account) -> str:
    """Why the bank file cannot carry this account (schwifty's checks), or ""."""
    try:
        parse_iban(account.iban)
        parse_bic(account.bic)
    except ValidationError as exc:
        return exc.messages[0]
    return ""


def _statement(operator, *, at, balance, fee, amount) -> dict:
    """What the payout pays out, line by line: the ledger since the previous payout up to `at`.
    `other` (deposits, withdrawals, returns, adjustments, late imports) is what makes the lines
    add up to the balance exactly, so the statement always reconciles."""
    previous = (Payout.objects.filter(operator=operator, created_at__lt=at).exclude(state=Payout.State.SKIPPED)
                .order_by("-created_at", "-id").first())
    since = previous.created_at if previous else None
    opening = balance_at(operator, since) if since else ZERO
    window = WalletTransaction.objects.filter(operator=operator, state=WalletTransaction.State.COMPLETE,
                                              created_at__lte=at)
    if since:
        window = window.filter(created_at__gt=since)
    totals = window.aggregate(**{key: Sum("amount", filter=Q(kind__in=kinds)) for key, kinds in STATEMENT_KINDS.items()})
    sums = {key: quantize(totals[key] or ZERO, operator.currency) for key in STATEMENT_KINDS}
    other = balance - opening - sum(sums.values(), ZERO)
    return {"since": since.isoformat() if since else None, "until": at.isoformat(),
            "opening_balance": str(opening), **{k: str(v) for k, v in sums.items()}, "other": str(other),
            "balance": str(balance), "payout_fee": str(-fee), "amount": str(-amount),
            "closing_balance": str(balance - fee - amount)}


def _post(operator, *, at, kind, group, amount, reference, note, reference_type="PAYOUT", reference_id=""):
    return WalletTransaction.objects.create(
        operator=operator, created_at=at, completed_at=at, group=group, kind=kind, amount=amount,
        currency=operator.currency, reference_type=reference_type, reference_id=reference_id,
        reference=reference, note=note[:255])


def _post_payout(payout, at):
    operator = payout.operator
    _post(operator, at=at, kind=Kind.PAYOUT, group=Group.WITHDRAW, amount=-payout.amount,
          reference=f"payout:{payout.pk}", reference_id=str(payout.pk),
          note=f"{payout.reference} to {payout.masked_iban}")
    if payout.fee:
        _post(operator, at=at, kind=Kind.PAYOUT_FEE, group=Group.WITHDRAW, amount=-payout.fee,
              reference=f"payout:{payout.pk}:fee", reference_id=str(payout.pk),
              note=f"Payout fee for {payout.reference}")


# --- the monthly payout (called by the close) ---------------------------------------------------
def _skip_reason(operator, account, balance, fee):
    from billing.models import Invoice

    if operator.payout_hold:
        return Payout.SkipReason.HOLD
    if Invoice.objects.filter(operator=operator, status=Invoice.Status.ISSUED).exists():
        return Payout.SkipReason.INVOICE_DUE
    if account is None:
        return Payout.SkipReason.NO_ACCOUNT
    if account_problem(account):
        return Payout.SkipReason.INVALID_ACCOUNT
    if balance <= fee:
        return Payout.SkipReason.LOW_BALANCE
    return ""


@transaction.atomic
def monthly_payout(*, operator: Operator, period, invoice=None, at=None) -> Payout:
    """Pay out the balance left after the month's invoice was settled, less the payout fee, to
    the default bank account — or record why not. Returns the payout (found or decided now)."""
    operator = Operator.objects.select_for_update().get(pk=operator.pk)
    existing = (Payout.objects.select_for_update()
                .filter(operator=operator, kind=Payout.Kind.MONTHLY, period=period, currency=operator.currency)
                .first())
    if existing is not None and existing.state != Payout.State.SKIPPED:
        existing._resumed = True
        return existing
    at = at or timezone.now()
    account = default_account(operator)
    balance = balance_at(operator, at)
    try:
        fee = payout_fee(operator, at)
    except NoRate:
        fee, reason = ZERO, Payout.SkipReason.NO_RATE
    else:
        reason = _skip_reason(operator, account, payable_balance(operator, at), fee)
    payout = existing or Payout(operator=operator, kind=Payout.Kind.MONTHLY, period=period,
                                currency=operator.currency)
    payout.invoice = invoice or payout.invoice
    payout.created_at = at
    payout.hold_note = operator.payout_hold_note if reason == Payout.SkipReason.HOLD else ""
    payout.bank_account, payout.holder_name, payout.iban, payout.bic = (
        (account, account.holder_name, account.iban, account.bic) if account else (None, "", "", ""))
    if reason:
        payout.state, payout.skip_reason, payout.amount, payout.fee = Payout.State.SKIPPED, reason, ZERO, ZERO
        payout.statement = _statement(operator, at=at, balance=balance, fee=ZERO, amount=ZERO)
        payout.save()
        payout._resumed = False
        return payout
    amount = payable_balance(operator, at) - fee
    payout.state, payout.skip_reason, payout.amount, payout.fee = Payout.State.PENDING, "", amount, fee
    payout.statement = _statement(operator, at=at, balance=balance, fee=fee, amount=amount)
    payout.save()
    _post_payout(payout, at)
    audit.record(operator=operator, actor=None, action="created", item=payout, verb="payout.decided",
                 changes=audit.diff({}, {"period": period.isoformat(), "amount": str(amount), "fee": str(fee),
                                         "currency": operator.currency, "iban": payout.masked_iban}))
    payout._resumed = False
    return payout


# --- money input --------------------------------------------------------------------------------
AMOUNT_TEXT = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?", re.ASCII)


def parse_amount(value, currency: str, *, field="amount") -> Decimal:
    """A positive amount with at most the currency's minor digits, or a NotAllowed that says why."""
    text = value.strip() if isinstance(value, str) else value
    if text in (None, ""):
        raise NotAllowed("Enter an amount.", field=field)
    if isinstance(text, str):
        text = text.replace(" ", "").replace("\u202f", "")
        # Written amounts only: 1e5, +5, 1_000 or "5\t" are numbers to Python, not to a Bookkeeper.
        if not AMOUNT_TEXT.fullmatch(text):
            raise NotAllowed("This is not a number: use the digits 0-9 and a decimal point, e.g. 1250.50.",
                             field=field)
    try:
        number = bounded_decimal(text, limit_digits=12)
    except ValidationError as exc:
        raise NotAllowed(exc.messages[0], field=field) from None
    digits = -minor_unit(currency).as_tuple().exponent
    if number.as_tuple().exponent < -digits and number != number.quantize(minor_unit(currency)):
        raise NotAllowed(f"{currency} amounts have at most {digits} decimals." if digits else
                         f"{currency} amounts have no decimals.", field=field)
    if number <= 0:
        raise NotAllowed("The amount must be more than 0.", field=field)
    return quantize(number, currency)


def _text(value, *, field, label, required=False, max_length=140) -> str:
    value = (value or "").strip()
    if required and not value:
        raise NotAllowed(f"Enter the {label}.", field=field)
    if len(value) > max_length:
        raise NotAllowed(f"The {label} has at most {max_length} characters.", field=field)
    try:
        single_line_text(value)
    except ValidationError as exc:
        raise NotAllowed(exc.messages[0], field=field) from None
    return value


def _token(token) -> str:
    token = (token or "").strip()
    if not (8 <= len(token) <= 64) or not token.replace("-", "").isalnum() or not token.isascii():
        raise NotAllowed("This form has expired: open it again.", field="token")
    return token


# --- wallet actions ------------------------------------------------------------------------------
class Outcome:
    def __init__(self, action: WalletAction, repeated: bool):
        self.action, self.repeated = action, repeated


def _existing_action(operator, token, kind):
    action = WalletAction.objects.filter(operator=operator, token=token).first()
    if action is not None and action.kind != kind:
        raise NotAllowed("This form has expired: open it again.", field="token")
    return action


def _record_action(operator, *, actor, kind, token, amount, at, **fields) -> WalletAction:
    action = WalletAction(operator=operator, kind=kind, token=token, amount=amount, currency=operator.currency,
                          actor=actor, created_at=at, balance_after=ZERO, **fields)
    try:
        with transaction.atomic():  # the unique token backs the operator lock
            action.save()
    except IntegrityError:
        raise NotAllowed("This form was already submitted.", field="token") from None
    return action


def _audit_action(action, verb, extra=None):
    audit.record(operator=action.operator, actor=action.actor, action="created", item=action, verb=verb,
                 changes=audit.diff({}, {"kind": action.kind, "amount": str(action.amount),
                                         "currency": action.currency, **(extra or {}),
                                         "balance_after": str(action.balance_after)}))


@transaction.atomic
def deposit(*, operator: Operator, actor, amount, bank_reference: str, token: str, note: str = "") -> Outcome:
    """Record money the operator says it transferred in. It is credited when platform staff
    confirm it arrived (`confirm_deposit`): until then it is *awaiting confirmation* and not part
    of the balance, so it can neither settle an invoice nor be withdrawn."""
    operator = Operator.objects.select_for_update().get(pk=operator.pk)
    token = _token(token)
    if (found := _existing_action(operator, token, WalletAction.Kind.DEPOSIT)) is not None:
        return Outcome(found, True)
    amount = parse_amount(amount, operator.currency)
    bank_reference = _text(bank_reference, field="bank_reference", label="bank reference", required=True)
    note = _text(note, field="note", label="note", max_length=200)
    action = _record_action(operator, actor=actor, kind=WalletAction.Kind.DEPOSIT, token=token, amount=amount,
                            at=timezone.now(), bank_reference=bank_reference, note=note,
                            state=WalletAction.State.PENDING)
    action.balance_after = balance_at(operator) + amount  # once confirmed
    WalletAction.objects.filter(pk=action.pk).update(balance_after=action.balance_after)
    _audit_action(action, "wallet.deposit", {"bank_reference": bank_reference, "state": "pending"})
    return Outcome(action, False)


def _decide_deposit(action, *, actor, at, note):
    operator = Operator.objects.select_for_update().get(pk=action.operator_id)
    action = WalletAction.objects.select_for_update().get(pk=action.pk)
    if action.kind != WalletAction.Kind.DEPOSIT or action.state != WalletAction.State.PENDING:
        return action, False
    try:
        note = single_line_text((note or "").strip())[:200]
    except ValidationError as exc:
        raise NotAllowed(exc.messages[0], field="note") from None
    action.operator = operator
    action.decided_at, action.decided_by, action.decision_note = at or timezone.now(), actor, note
    return action, True


@transaction.atomic
def confirm_deposit(*, action: WalletAction, actor, at=None, note="") -> bool:
    """Staff saw the money on the platform's account: credit the wallet, once. False when the
    deposit was already decided."""
    action, open_ = _decide_deposit(action, actor=actor, at=at, note=note)
    if not open_:
        return False
    operator = action.operator
    _post(operator, at=action.decided_at, kind=Kind.DEPOSIT, group=Group.DEPOSIT, amount=action.amount,
          reference=f"deposit:{action.pk}", reference_type="DEPOSIT", reference_id=str(action.pk),
          note=f"Deposit, bank reference {action.bank_reference}" + (f": {action.note}" if action.note else ""))
    action.state, action.balance_after = WalletAction.State.DONE, balance_at(operator)
    action.save(update_fields=["state", "balance_after", "decided_at", "decided_by", "decision_note"])
    audit.record(operator=operator, actor=actor, action="updated", item=action, verb="wallet.deposit_confirmed",
                 changes={"state": {"before": "pending", "after": "done"},
                          "balance_after": {"before": None, "after": str(action.balance_after)}})
    return True


@transaction.atomic
def reject_deposit(*, action: WalletAction, actor, note: str, at=None) -> bool:
    """Staff found no such transfer: nothing is credited; the operator sees why."""
    if not (note or "").strip():
        raise NotAllowed("Say why the deposit is rejected (the operator sees it).", field="note")
    action, open_ = _decide_deposit(action, actor=actor, at=at, note=note)
    if not open_:
        return False
    action.state = WalletAction.State.REJECTED
    action.save(update_fields=["state", "decided_at", "decided_by", "decision_note"])
    audit.record(operator=action.operator, actor=actor, action="updated", item=action,
                 verb="wallet.deposit_rejected",
                 changes={"state": {"before": "pending", "after": "rejected"},
                          "reason": {"before": None, "after": action.decision_note}})
    return True


def withdraw_quote(operator) -> dict:
    """What a withdrawal can be now: the balance, the fee, the most that can be paid out, and
    why none can be (a hold, no or an invalid default account, an invoice due)."""
    from billing.models import Invoice

    balance, account, problem = payable_balance(operator, timezone.now()), default_account(operator), ""
    try:
        fee = payout_fee(operator)
    except NoRate as exc:
        fee, problem = ZERO, exc.message
    if problem:  # no fee, so nothing else can be judged
        return {"balance": balance, "fee": fee, "available": ZERO, "account": account, "problem": problem}
    if operator.payout_hold:
        problem = Payout.SkipReason.HOLD.label
    elif account is None:
        problem = Payout.SkipReason.NO_ACCOUNT.label
    elif account_problem(account):
        problem = Payout.SkipReason.INVALID_ACCOUNT.label
    elif Invoice.objects.filter(operator=operator, status=Invoice.Status.ISSUED).exists():
        problem = Payout.SkipReason.INVOICE_DUE.label
    available = max(balance - fee, ZERO)
    if not problem and available <= 0:
        problem = Payout.SkipReason.LOW_BALANCE.label
    return {"balance": balance, "fee": fee, "available": available, "account": account, "problem": problem}


@transaction.atomic
def withdraw(*, operator: Operator, actor, amount, token: str) -> Outcome:
    """An extra payout now, to the default account: `amount` is paid out, the payout fee comes
    on top; both together at most the balance."""
    operator = Operator.objects.select_for_update().get(pk=operator.pk)
    token = _token(token)
    if (found := _existing_action(operator, token, WalletAction.Kind.WITHDRAW)) is not None:
        return Outcome(found, True)
    amount = parse_amount(amount, operator.currency)
    quote = withdraw_quote(operator)
    if quote["problem"]:
        raise NotAllowed(quote["problem"], field="amount")
    if amount > quote["available"]:
        raise NotAllowed(f"At most {format_money(quote['available'], operator.currency)} can be withdrawn "
                         f"(balance {format_money(quote['balance'], operator.currency)} less the payout fee of "
                         f"{format_money(quote['fee'], operator.currency)}).", field="amount")
    at, account = timezone.now(), quote["account"]
    payout = Payout.objects.create(
        operator=operator, kind=Payout.Kind.WITHDRAWAL, currency=operator.currency, amount=amount,
        fee=quote["fee"], state=Payout.State.PENDING, bank_account=account, holder_name=account.holder_name,
        iban=account.iban, bic=account.bic, created_at=at, created_by=actor,
        statement={})
    payout.statement = _statement(operator, at=at, balance=quote["balance"], fee=quote["fee"], amount=amount)
    Payout.objects.filter(pk=payout.pk).update(statement=payout.statement)
    _post_payout(payout, at)
    action = _record_action(operator, actor=actor, kind=WalletAction.Kind.WITHDRAW, token=token, amount=amount,
                            at=at, payout=payout)
    action.balance_after = balance_at(operator)
    WalletAction.objects.filter(pk=action.pk).update(balance_after=action.balance_after)
    _audit_action(action, "wallet.withdraw", {"payout": payout.reference, "fee": str(quote["fee"]),
                                              "iban": payout.masked_iban})
    return Outcome(action, False)


def refundable(charge) -> Decimal:
    """What is left to refund of a charge: its price less the credits (refunds, credit CDRs) on it."""
    if charge.credit_of_id is not None or charge.price <= 0 or charge.state != Charge.State.COMPLETED:
        return ZERO
    credited = quantize(Charge.objects.filter(credit_of=charge).aggregate(s=Sum("price"))["s"] or ZERO, charge.currency)
    return max(charge.price + credited, ZERO)


def refund_quote(operator, charge, amount: Decimal) -> dict:
    """The entries a refund of `amount` posts (negative income, the percentage fee given back)
    and the balance after."""
    rows = _refund_rows(operator, charge, amount, at=timezone.now(), credit_id=0)
    amounts = [r[LEDGER_FIELDS.index("amount")] for r in rows]
    balance = payable_balance(operator, timezone.now())
    return {"income": amounts[0], "fee_back": sum(amounts[1:], ZERO), "balance": balance,
            "balance_after": balance + sum(amounts, ZERO)}


def _refund_split(operator, charge, amount) -> tuple[Decimal, Decimal, str]:
    """(VAT, percentage fee given back, fee label) of refunding `amount` more of `charge`.

    Both are computed on the running total refunded (earlier credits included) and less what
    earlier credits already took, each rounded once: twenty refunds of 0.05 give back exactly the
    fee a refund of 1.00 would, never more than the charge paid (found in review: rounding each
    refund on its own gave back 0.20 of a 0.10 fee). The percentage is the one in force when the
    charge ended, as for a credit CDR of it."""
    currency = operator.currency
    credits = list(Charge.objects.filter(credit_of=charge).values_list("pk", "price", "vat_amount"))
    refunded = -sum((price for _, price, _ in credits), ZERO)
    vat_back = -sum((vat for _, _, vat in credits), ZERO)
    fee_back = sum((WalletTransaction.objects.filter(
        operator=operator, reference__in=[f"charge:{pk}:fee" for pk, _, _ in credits]).values_list("amount", flat=True)),
        ZERO) if credits else ZERO
    rate, _fixed, _label, pct_label = FeeSchedule(operator).at(charge.stopped_at)
    percentage_fee = quantize(charge.price * rate, currency)
    total = refunded + amount
    if total >= charge.price:  # the last refund takes exactly what is left
        vat_total, fee_total = charge.vat_amount, percentage_fee
    else:
        vat_total = quantize(charge.vat_amount * total / charge.price, currency)
        fee_total = quantize(total * rate, currency)
    vat = max(min(vat_total, charge.vat_amount) - vat_back, ZERO)
    fee = max(min(fee_total, percentage_fee) - fee_back, ZERO)
    return vat, fee, pct_label


def _refund_rows(operator, charge, amount, *, at, credit_id, split=None):
    """The ledger rows (LEDGER_FIELDS order) of a refund: posted now, priced as the charge was."""
    vat, fee, pct_label = split or _refund_split(operator, charge, amount)
    name, currency = charge.external_id or str(charge.pk), operator.currency
    rows = [(operator.pk, at, at, "charge", Kind.CHARGE_INCOME, "complete", -amount, -vat, currency, "CHARGE",
             str(credit_id), f"charge:{credit_id}:income", f"Refund of charge {name}")]
    if fee:
        rows.append((operator.pk, at, at, "charge", Kind.PLATFORM_FEE, "complete", fee, ZERO, currency, "CHARGE",
                     str(credit_id), f"charge:{credit_id}:fee", f"Platform fee refund ({pct_label}) for {name}"))
    return rows


@transaction.atomic
def refund(*, operator: Operator, actor, charge_id: int, amount, token: str, reason: str = "") -> Outcome:
    """Refund (part of) a charge to the driver: a credit of the charge (negative price and VAT in
    proportion) whose entries post the negative income and give back the percentage fee."""
    operator = Operator.objects.select_for_update().get(pk=operator.pk)
    token = _token(token)
    if (found := _existing_action(operator, token, WalletAction.Kind.REFUND)) is not None:
        return Outcome(found, True)
    charge = Charge.objects.select_for_update().filter(operator=operator, pk=charge_id).first()
    if charge is None:
        raise NotAllowed("No such charge.")
    left = refundable(charge)
    if left <= 0:
        raise NotAllowed("This charge has nothing left to refund.", field="amount")
    amount = parse_amount(amount, operator.currency)
    reason = _text(reason, field="reason", label="reason", max_length=200)
    if amount > left:
        raise NotAllowed(f"At most {format_money(left, operator.currency)} of this charge can be refunded.",
                         field="amount")
    try:
        quote = refund_quote(operator, charge, amount)
    except FxMissing as exc:
        raise NotAllowed(str(exc), field="amount") from None
    if quote["balance_after"] < 0:
        raise NotAllowed(f"The balance ({format_money(quote['balance'], operator.currency)}) does not cover this "
                         f"refund: deposit money first.", field="amount")
    at = timezone.now()
    split = _refund_split(operator, charge, amount)  # before the credit exists: it counts earlier ones
    credit = Charge.objects.create(
        operator=operator, charge_point_id=charge.charge_point_id, type=charge.type, state=Charge.State.COMPLETED,
        started_at=charge.started_at, stopped_at=at, consumed_kwh=Decimal("0"), price=-amount,
        vat_amount=-split[0], currency=charge.currency, credit_of=charge, failure_reason="", created_at=at)
    rows = _refund_rows(operator, charge, amount, at=at, credit_id=credit.pk, split=split)
    rollups.mark_charges(operator.pk, [credit.started_at])  # a credit counts on its started_at day
    WalletTransaction.objects.bulk_create([
        WalletTransaction(**{f if f != "operator" else "operator_id": v for f, v in zip(LEDGER_FIELDS, row, strict=True)})
        for row in rows])
    action = _record_action(operator, actor=actor, kind=WalletAction.Kind.REFUND, token=token, amount=amount,
                            at=at, charge=charge, credit=credit, note=reason)
    action.balance_after = balance_at(operator)
    WalletAction.objects.filter(pk=action.pk).update(balance_after=action.balance_after)
    _audit_action(action, "wallet.refund", {"charge": charge.external_id or str(charge.pk),
                                            "fee_refunded": str(quote["fee_back"]), "reason": reason})
    return Outcome(action, False)


# --- results from the bank -----------------------------------------------------------------------
def _locked(payout) -> Payout:
    Operator.objects.select_for_update().get(pk=payout.operator_id)
    return Payout.objects.select_for_update().select_related("operator").get(pk=payout.pk)


@transaction.atomic
def mark_paid(*, payout: Payout, actor=None, at=None) -> bool:
    """The bank accepted the transfer. False when the payout was already paid (nothing changes)."""
    payout = _locked(payout)
    if payout.state == Payout.State.PAID:
        return False
    if payout.state != Payout.State.EXPORTED:
        raise NotAllowed(f"{payout.reference} is {payout.get_state_display().lower()}: only an exported payout "
                         f"can be marked paid.")
    payout.state, payout.paid_at = Payout.State.PAID, at or timezone.now()
    payout.save(update_fields=["state", "paid_at"])
    audit.record(operator=payout.operator, actor=actor, action="updated", item=payout, verb="payout.paid",
                 changes={"state": {"before": "exported", "after": "paid"}})
    return True


def _reason(code, text):
    code = (code or "").strip().upper()
    if not code or len(code) > 4 or not code.isalnum() or not code.isascii():
        raise NotAllowed("Give the bank's reason code (ISO 20022, e.g. AC04 or AC06).", field="reason_code")
    try:
        text = single_line_text((text or "").strip())[:200]
    except ValidationError as exc:
        raise NotAllowed(exc.messages[0], field="reason_text") from None
    return code, text or REASON_TEXTS.get(code, "")


def clean_bank_text(value: str, limit=200) -> str:
    """Text a bank wrote (a reason, an additional info line): whitespace runs become one space and
    characters that are not printable (controls, bidi overrides) are dropped, so the bank's answer
    is applied, never refused for its formatting (found in review: a rejection whose text had a
    line break was ignored and its money never came back)."""
    text = " ".join((value or "").split())
    return "".join(ch for ch in text if ch.isprintable())[:limit]


def clean_reason_code(value: str) -> tuple[str, str]:
    """(code, extra text): an ISO 20022 code is 1–4 ASCII letters and digits; anything else is
    reported as NARR with what the bank sent kept in the text."""
    code = (value or "").strip().upper()
    if code and len(code) <= 4 and code.isascii() and code.isalnum():
        return code, ""
    return "NARR", clean_bank_text(f"code {value}", 60) if (value or "").strip() else ""


REASON_TEXTS = {  # the ISO 20022 external status reason codes banks send most for credit transfers
    "AC01": "Incorrect account number", "AC04": "Closed account number", "AC06": "Blocked account",
    "AG01": "Transaction forbidden", "AM04": "Insufficient funds", "AM05": "Duplication",
    "BE04": "Missing creditor address", "MD07": "End customer deceased", "MS02": "Not specified by customer",
    "MS03": "Not specified by agent", "RC01": "Bank identifier incorrect", "RR01": "Missing debtor account",
    "NARR": "Narrative",
}


@transaction.atomic
def mark_failed(*, payout: Payout, code: str, text: str = "", actor=None, at=None, _not_exported=False) -> bool:
    """The bank rejected or returned the transfer: the payout fails with the bank's reason, and
    its money (amount and fee) goes back on the wallet as one ledger entry — once. The next close
    pays it out again. False when it had already failed (nothing changes). Only an exported or
    paid payout can fail (the export itself fails a pending one whose account no longer
    validates, `_not_exported`)."""
    code, text = _reason(code, text)
    payout = _locked(payout)
    if payout.state in (Payout.State.FAILED, Payout.State.RETURNED):
        return False
    can_fail = {Payout.State.EXPORTED, Payout.State.PAID} | ({Payout.State.PENDING} if _not_exported else set())
    if payout.state not in can_fail:
        raise NotAllowed(f"{payout.reference} is {payout.get_state_display().lower()}: only an exported or paid "
                         f"payout can fail.")
    before = payout.state
    at = at or timezone.now()
    payout.state, payout.failed_at, payout.reason_code, payout.reason_text = Payout.State.FAILED, at, code, text
    payout.save(update_fields=["state", "failed_at", "reason_code", "reason_text"])
    _post(payout.operator, at=at, kind=Kind.PAYOUT_RETURN, group=Group.DEPOSIT, amount=payout.amount + payout.fee,
          reference=f"payout:{payout.pk}:return", reference_id=str(payout.pk),
          note=f"{payout.reference} returned by the bank: {code}" + (f" {text}" if text else ""))
    payout.state, payout.returned_at = Payout.State.RETURNED, at
    payout.save(update_fields=["state", "returned_at"])
    audit.record(operator=payout.operator, actor=actor, action="updated", item=payout, verb="payout.returned",
                 changes={"state": {"before": before, "after": "returned"},
                          "reason": {"before": None, "after": f"{code} {text}".strip()},
                          "returned": {"before": None, "after": str(payout.amount + payout.fee)}})
    return True


def next_payout(operator) -> dict | None:
    """What the next monthly close is expected to pay out, for the Overview: the balance now less
    the fee, on the 1st of next month, to the default account — or why it will not."""
    from billing.pricing import next_month

    quote = withdraw_quote(operator)
    return {"date": next_month(timezone.localdate().replace(day=1)), "amount": quote["available"],
            "fee": quote["fee"], "account": quote["account"], "problem": quote["problem"],
            "currency": operator.currency, "pending": Payout.objects.filter(
                operator=operator, state__in=[Payout.State.PENDING, Payout.State.EXPORTED]).count()}

