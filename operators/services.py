"""Every write to an operator's own data: one transaction, an audit event, keyword arguments,
`operator` and `actor` always passed. Expected failures raise `portal.errors.DomainError`."""
from django.db import IntegrityError, transaction
from django.utils import timezone

from operators.models import BankAccount, Operator
from portal import audit
from portal.errors import Conflict, NotAllowed


@transaction.atomic
def operator_update_settings(*, operator: Operator, actor, data: dict) -> dict:
    """Save the company settings (already validated and normalised by the form).
    Returns the changes; nothing is written when nothing changed."""
    locked = Operator.objects.select_for_update().get(pk=operator.pk)
    fields = [f for f in Operator.SETTINGS_FIELDS if f in data]
    before = audit.snapshot(locked, fields)
    for field in fields:
        setattr(locked, field, data[field])
    changes = audit.diff(before, audit.snapshot(locked, fields))
    if not changes:
        return {}
    locked.updated_at = timezone.now()
    locked.updated_by = actor
    locked.save(update_fields=[*fields, "updated_at", "updated_by"])
    audit.record(operator=locked, actor=actor, action="updated", item=locked, changes=changes,
                 verb="operator.settings_updated")
    for field in [*fields, "updated_at", "updated_by"]:
        setattr(operator, field, getattr(locked, field))
    return changes


@transaction.atomic
def bank_account_create(*, operator: Operator, actor, holder_name: str, iban: str, bic: str) -> BankAccount:
    """Add an account (IBAN and BIC already validated). The operator's first account becomes the
    default for payouts."""
    Operator.objects.select_for_update().get(pk=operator.pk)  # serialise default selection
    if BankAccount.objects.filter(operator=operator, iban=iban).exists():
        raise Conflict("This IBAN is already one of your bank accounts.", field="iban")
    is_first = not BankAccount.objects.filter(operator=operator).exists()
    try:
        with transaction.atomic():
            account = BankAccount.objects.create(
                operator=operator, holder_name=holder_name.strip(), iban=iban, bic=bic,
                is_default=is_first, created_by=actor,
            )
    except IntegrityError:
        raise Conflict("This IBAN is already one of your bank accounts.", field="iban") from None
    audit.record(operator=operator, actor=actor, action="created", item=account, parent=operator,
                 changes=audit.created_changes(account, BankAccount.AUDIT_FIELDS), verb="bank_account.added")
    return account


@transaction.atomic
def bank_account_set_default(*, operator: Operator, actor, account_id: int) -> BankAccount:
    accounts = {a.pk: a for a in BankAccount.objects.select_for_update().filter(operator=operator)}
    account = accounts.get(account_id)
    if account is None:
        raise NotAllowed("This bank account does not exist.")
    if account.is_default:
        return account
    for previous in (a for a in accounts.values() if a.is_default):
        BankAccount.objects.filter(pk=previous.pk).update(is_default=False)
        audit.record(operator=operator, actor=actor, action="updated", item=previous, parent=operator,
                     changes={"is_default": {"before": True, "after": False}}, verb="bank_account.default_changed")
    BankAccount.objects.filter(pk=account.pk).update(is_default=True)
    account.is_default = True
    audit.record(operator=operator, actor=actor, action="updated", item=account, parent=operator,
                 changes={"is_default": {"before": False, "after": True}}, verb="bank_account.default_changed")
    return account


@transaction.atomic
def bank_account_delete(*, operator: Operator, actor, account_id: int) -> None:
    account = BankAccount.objects.select_for_update().filter(operator=operator, pk=account_id).first()
    if account is None:
        raise NotAllowed("This bank account does not exist.")
    if account.is_default:
        raise NotAllowed(
            "The default payout account cannot be removed. Make another account the default first."
        )
    changes = audit.deleted_changes(account, BankAccount.AUDIT_FIELDS)
    audit.record(operator=operator, actor=actor, action="deleted", item=account, parent=operator,
                 changes=changes, verb="bank_account.removed")
    account.delete()
