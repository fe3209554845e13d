"""Wallets and wallet transactions: `GET /wallets`, `GET /wallets/{walletId}`,
`GET /wallet-transactions`, `GET /wallet-transactions/{transactionId}`,
`GET /wallet-transactions/invoices/{invoiceId}`, with the spec's fields.

An operator has one wallet: its ledger (operators.WalletTransaction), id = the operator's id,
balance = the sum of its completed entries (operators.selectors.operator_balance). An entry's
signed `amount` becomes the spec's from/to pair: a credit (amount ≥ 0) is received by the
operator's wallet (`toWalletId`, `to`), a debit is sent from it (`fromWalletId`, `from`); the
amounts themselves are positive, the same on both sides (one currency: exchange rate 1).

`post-operator-adjustment-transaction` is not offered: the portal has no adjustment service, and
an operator posting money into its own wallet (which the monthly close then pays out) is not a
feature an API key can be given safely."""
from datetime import datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Query, Router, Schema

from api.auth import scope
from api.common import owned
from api.errors import bad_request, not_found
from api.money import Currency, Money, country_id, currency, currency_id
from api.pages import PageMeta, PageParams, paged
from api.params import IsoTime, text
from api.routers.charge_points import OperatorRef, operator_ref
from billing.models import Invoice
from operators.models import WalletTransaction
from operators.selectors import operator_balance
from portal.money import quantize

router = Router(tags=["Wallet Transactions"])
wallets_router = Router(tags=["Wallets"])

ReferenceTypes = Literal["TEAM", "COMPANY_REFERRAL", "USER_REFERRAL", "ORDER", "SUBSCRIPTION_PURCHASE", "CHARGE",
                         "BANK_ACCOUNT", "WALLET_BANK_ACCOUNT", "STRIPE_CHARGE", "SUBSCRIPTION", "TRANSACTION",
                         "PROMO_CODE_USE", "TEAM_MEMBER_FEE_PURCHASE", "WALLET", "PAYTER_PAYMENT_SESSION",
                         "ADYEN_PAYMENT", "POWER_BANK_PAYOUT", "OTHER"]
States = Literal["complete", "pending", "failed", "reserved", "other"]
Groups = Literal["deposit", "withdraw", "charge", "other"]
# the ledger's reference types that are the spec's own; the others (INVOICE, PAYOUT, DEPOSIT) are OTHER
SPEC_REFERENCE_TYPES = {"CHARGE"}


# --- Wallets ----------------------------------------------------------------------------------------
class Balance(Schema):
    amount: Money
    credit: Money


class WalletOut(Schema):
    id: int
    ownerType: str
    ownerId: int
    currencyId: int
    countryId: int
    currency: Currency  # (not in the spec's Wallet: its currency as an object, as on transactions)
    balance: Balance | None = None


class WalletPage(Schema):
    data: list[WalletOut]
    meta: PageMeta


def wallet(operator, *, with_balance: bool) -> dict:
    balance = ({"amount": operator_balance(operator=operator), "credit": quantize(Decimal(0), operator.currency)}
               if with_balance else None)
    return {"id": operator.pk, "ownerType": "operator", "ownerId": operator.pk,
            "currencyId": currency_id(operator.currency) or 0, "countryId": country_id(operator.country) or 0,
            "currency": currency(operator.currency), "balance": balance}


class WalletFilters(PageParams):
    teamId: int | None = Field(None, ge=1)
    operatorId: int | None = Field(None, ge=1)


def _other_operator(request, *ids) -> bool:
    return any(i is not None and i != request.operator.pk for i in ids)


@wallets_router.get("/wallets", response=WalletPage, operation_id="get-wallets", summary="Retrieve your wallets.",
                    description="The operator's wallet (one per operator). The balance is given by "
                                "`GET /wallets/{walletId}` only, as in the spec's list endpoints.")
@scope("wallet-transactions:read")
def get_wallets(request, filters: Query[WalletFilters]):
    rows = [] if _other_operator(request, filters.teamId, filters.operatorId) else [request.operator]
    return paged(_ListQuerySet(rows), filters, lambda op: wallet(op, with_balance=False))


@wallets_router.get("/wallets/{walletId}", response=WalletOut, operation_id="get-wallet",
                    summary="Retrieve a single wallet.")
@scope("wallet-transactions:read")
def get_wallet(request, walletId: int):
    if walletId != request.operator.pk:
        raise not_found("wallet")
    return wallet(request.operator, with_balance=True)


class _ListQuerySet(list):
    """A list that `paged()` can page (count and slices)."""

    def count(self):
        return len(self)


# --- Wallet transactions ----------------------------------------------------------------------------
class Party(OperatorRef):
    """The spec's TeamOrOperator: the operator, with its public name."""
    publicName: str


class Metadata(Schema):
    type: str


class TransactionOut(Schema):
    id: int
    fromAmount: Money
    fromSubAmount: Money
    fromVatAmount: Money
    fromCurrency: Currency
    fromType: str | None = None
    from_: Party | None = Field(None, alias="from")
    fromWalletId: int | None = None
    toAmount: Money
    toSubAmount: Money
    toVatAmount: Money
    toCurrency: Currency
    toType: str | None = None
    to: Party | None = None
    toWalletId: int | None = None
    exchangeRate: Money
    createdAt: datetime
    updatedAt: datetime | None = None
    completedAt: datetime | None = None
    referenceId: str | None = None
    referenceType: ReferenceTypes | None = None
    group: Groups
    kind: str
    state: States
    note: str | None = None
    partnerExternalId: str | None = None
    partnerCustomPayload: dict | None = None
    metadata: Metadata | None = None


class TransactionPage(Schema):
    data: list[TransactionOut]
    meta: PageMeta


def reference_type(value: str) -> str | None:
    if not value:
        return None
    return value if value in SPEC_REFERENCE_TYPES else "OTHER"


def serialize(tx, operator) -> dict:
    credit = tx.amount >= 0
    sign = 1 if credit else -1
    amount, vat = sign * tx.amount, sign * tx.vat_amount
    cur = currency(tx.currency)
    party = {**operator_ref(operator), "publicName": operator.name}
    return {
        "id": tx.pk,
        "fromAmount": amount, "fromSubAmount": amount - vat, "fromVatAmount": vat, "fromCurrency": cur,
        "fromType": None if credit else "operator", "from": None if credit else party,
        "fromWalletId": None if credit else operator.pk,
        "toAmount": amount, "toSubAmount": amount - vat, "toVatAmount": vat, "toCurrency": cur,
        "toType": "operator" if credit else None, "to": party if credit else None,
        "toWalletId": operator.pk if credit else None,
        "exchangeRate": Decimal(1),
        "createdAt": tx.created_at, "updatedAt": tx.completed_at or tx.created_at, "completedAt": tx.completed_at,
        "referenceId": tx.reference_id or None, "referenceType": reference_type(tx.reference_type),
        "group": tx.group, "kind": tx.kind.replace("_", "-"), "state": tx.state, "note": tx.note or None,
        "partnerExternalId": None, "partnerCustomPayload": None, "metadata": None,
    }


class TransactionFilters(PageParams):
    operatorId: int | None = Field(None, ge=1)
    teamId: int | None = Field(None, ge=1)
    fromDate: IsoTime | None = Field(None, description="createdAt >= fromDate (ISO8601: yyyy-MM-ddTHH:mm:ssZ)")
    toDate: IsoTime | None = Field(None, description="createdAt <= toDate (ISO8601: yyyy-MM-ddTHH:mm:ssZ)")
    referenceId: text(64) | None = None
    referenceType: ReferenceTypes | None = None
    state: States | None = None
    group: Groups | None = None
    partnerExternalId: text(255) | None = Field(None, description="Deprecated in the spec: ignored.")


def _ledger(request):
    return WalletTransaction.objects.filter(operator=request.operator).order_by("-created_at", "-id")


@router.get("/wallet-transactions", response=TransactionPage, operation_id="get-wallet-transactions",
            summary="Retrieve your wallet transactions", by_alias=True)
@scope("wallet-transactions:read")
def get_wallet_transactions(request, filters: Query[TransactionFilters]):
    qs = _ledger(request)
    if _other_operator(request, filters.teamId, filters.operatorId):
        qs = qs.none()  # only this key's operator is visible
    if filters.fromDate and filters.toDate and filters.fromDate > filters.toDate:
        raise bad_request("fromDate: must not be after toDate.", [{"field": "fromDate",
                                                                    "message": "must not be after toDate"}])
    if filters.fromDate:
        qs = qs.filter(created_at__gte=filters.fromDate)
    if filters.toDate:
        qs = qs.filter(created_at__lte=filters.toDate)
    if filters.referenceId is not None:
        qs = qs.filter(reference_id=filters.referenceId)
    if filters.referenceType == "OTHER":
        qs = qs.exclude(reference_type__in=[*SPEC_REFERENCE_TYPES, ""])
    elif filters.referenceType in SPEC_REFERENCE_TYPES:
        qs = qs.filter(reference_type=filters.referenceType)
    elif filters.referenceType:
        qs = qs.none()  # a type the portal never posts
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.group:
        qs = qs.filter(group=filters.group)
    return paged(qs, filters, lambda tx: serialize(tx, request.operator))


@router.get("/wallet-transactions/invoices/{invoiceId}", response=TransactionPage,
            operation_id="get-wallet-transactions-invoice", summary="Retrieve wallet transactions for an invoice",
            description="The ledger entries the invoice bills (its fee debits and its settlement entry).",
            by_alias=True)
@scope("wallet-transactions:read")
def get_wallet_transactions_invoice(request, invoiceId: int, filters: Query[PageParams]):
    invoice = owned(Invoice.objects.filter(operator=request.operator, number__isnull=False).only("id"),
                    invoiceId, "invoice")
    qs = _ledger(request).filter(invoice_entry__invoice=invoice)
    return paged(qs, filters, lambda tx: serialize(tx, request.operator))


@router.get("/wallet-transactions/{transactionId}", response=TransactionOut, operation_id="get-wallet-transaction",
            summary="Retrieve a single wallet transaction", by_alias=True)
@scope("wallet-transactions:read")
def get_wallet_transaction(request, transactionId: int):
    return serialize(owned(_ledger(request), transactionId, "wallet transaction"), request.operator)
