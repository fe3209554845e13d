"""Wallets and wallet transactions through the partner API, as a partner's program calls them:
the spec's fields and filters, amounts exact to the cent (JSON numbers from Decimal), the key's
operator only, the scope, bad input as the spec's 400, pages with their meta."""
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from billing.models import Invoice, InvoiceEntry
from operators.models import WalletTransaction
from tests.api.helpers import bearer, body, queries_of
from tests.factories import WalletTransactionFactory, issued_invoice

pytestmark = pytest.mark.django_db
D = Decimal
T0 = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
READ = ["wallet-transactions:read"]


def entry(operator, **kwargs):
    return WalletTransactionFactory(operator=operator, **kwargs)


def billed(operator, entries, period):
    """An issued invoice billing `entries`: linked while a draft, as the close does (on PostgreSQL a
    trigger refuses links to an issued invoice but its own settlement)."""
    invoice = Invoice.objects.create(operator=operator, period=period, currency=operator.currency, vat_category="S",
                                     net=D("100.00"), vat=D("25.00"), total=D("125.00"))
    for tx in entries:
        InvoiceEntry.objects.create(invoice=invoice, transaction=tx)
    invoice.number, invoice.sequence, invoice.status = f"INV-2026-{invoice.pk:06d}", 800000 + invoice.pk, "issued"
    invoice.issue_date = invoice.due_date = period
    invoice.save()
    return invoice


@pytest.fixture
def ledger(operator):
    return {
        "income": entry(operator, created_at=T0, completed_at=T0, group="charge", kind="charge_income",
                        amount=D("125.00"), vat_amount=D("25.00"), reference_type="CHARGE", reference_id="17",
                        reference="charge:17:income"),
        "fee": entry(operator, created_at=T0 + timedelta(minutes=1), completed_at=T0 + timedelta(minutes=1),
                     group="charge", kind="platform_fee", amount=D("-6.26"), reference_type="CHARGE",
                     reference_id="17", reference="charge:17:fee"),
        "payout": entry(operator, created_at=T0 + timedelta(days=1), completed_at=T0 + timedelta(days=1),
                        group="withdraw", kind="payout", amount=D("-100.10"), reference_type="PAYOUT",
                        reference_id="5", reference="payout:5", note="Payout to DK•• •••• 6243"),
        "pending": entry(operator, created_at=T0 + timedelta(days=2), group="deposit", kind="deposit",
                         state="pending", amount=D("0.07"), reference_type="DEPOSIT", reference_id="9",
                         reference="deposit:9"),
    }


def test_the_list_is_the_ledger_newest_first_with_exact_amounts(operator, ledger):
    response = bearer(operator, READ).get("/api/v1/wallet-transactions")
    assert response.status_code == 200, response.content
    data = body(response)
    assert [t["id"] for t in data["data"]] == [ledger[k].pk for k in ("pending", "payout", "fee", "income")]
    assert data["meta"] == {"itemCount": 4, "currentPage": 0, "perPage": 10, "totalPageCount": 1,
                            "totalItemCount": 4}
    income = data["data"][3]
    currency = {"identifier": "dkk", "name": "Danish Krone", "decimals": 2}
    assert income == {
        "id": ledger["income"].pk, "fromAmount": D("125.00"), "fromSubAmount": D("100.00"),
        "fromVatAmount": D("25.00"), "fromCurrency": currency, "fromType": None, "from": None, "fromWalletId": None,
        "toAmount": D("125.00"), "toSubAmount": D("100.00"), "toVatAmount": D("25.00"), "toCurrency": currency,
        "toType": "operator", "toWalletId": operator.pk,
        "to": {"id": operator.pk, "name": operator.name, "identifier": operator.slug, "partnerId": None,
               "vatNumber": operator.vat_number, "publicName": operator.name},
        "exchangeRate": D(1), "createdAt": "2026-11-03T10:00:00Z", "updatedAt": "2026-11-03T10:00:00Z",
        "completedAt": "2026-11-03T10:00:00Z", "referenceId": "17", "referenceType": "CHARGE", "group": "charge",
        "kind": "charge-income", "state": "complete", "note": None, "partnerExternalId": None,
        "partnerCustomPayload": None, "metadata": None}
    # a debit leaves the operator's wallet: positive amounts on the "from" side
    fee, payout = data["data"][2], data["data"][1]
    assert (fee["fromAmount"], fee["fromSubAmount"], fee["fromVatAmount"]) == (D("6.26"), D("6.26"), D("0.00"))
    assert fee["fromWalletId"] == operator.pk and fee["toWalletId"] is None and fee["to"] is None
    assert fee["from"]["id"] == operator.pk and fee["fromType"] == "operator" and fee["kind"] == "platform-fee"
    assert payout["toAmount"] == D("100.10") and payout["referenceType"] == "OTHER"
    assert payout["note"] == "Payout to DK•• •••• 6243" and payout["group"] == "withdraw"
    assert data["data"][0]["state"] == "pending" and data["data"][0]["completedAt"] is None
    # the amounts are JSON numbers written digit for digit (no float, no string)
    assert b'"fromAmount": 125.00,' in response.content and b'"toAmount": 0.07,' in response.content


@pytest.mark.parametrize(("params", "expected"), [
    ({"fromDate": "2026-11-03T10:01:00Z"}, ["pending", "payout", "fee"]),
    ({"toDate": "2026-11-03T10:01:00Z"}, ["fee", "income"]),
    ({"fromDate": "2026-11-03T10:00:30Z", "toDate": "2026-11-04T10:00:00Z"}, ["payout", "fee"]),
    ({"fromDate": "2026-11-03T11:00:00+01:00", "toDate": "2026-11-03T11:00:00+01:00"}, ["income"]),
    ({"referenceId": "17"}, ["fee", "income"]),
    ({"referenceType": "CHARGE"}, ["fee", "income"]),
    ({"referenceType": "OTHER"}, ["pending", "payout"]),
    ({"referenceType": "ORDER"}, []),
    ({"referenceId": "17", "referenceType": "OTHER"}, []),
    ({"state": "pending"}, ["pending"]),
    ({"state": "complete"}, ["payout", "fee", "income"]),
    ({"state": "reserved"}, []),
    ({"group": "charge"}, ["fee", "income"]),
    ({"group": "withdraw"}, ["payout"]),
    ({"partnerExternalId": "x"}, ["pending", "payout", "fee", "income"]),  # deprecated: ignored
])
def test_the_specs_filters(operator, ledger, params, expected):
    data = body(bearer(operator, READ).get("/api/v1/wallet-transactions", params))
    assert [t["id"] for t in data["data"]] == [ledger[k].pk for k in expected]
    assert data["meta"]["totalItemCount"] == len(expected)


def test_team_or_operator_id_of_this_operator_or_nothing(operator, other_operator, ledger):
    client = bearer(operator, READ)
    for params in ({"operatorId": operator.pk}, {"teamId": operator.pk}):
        assert body(client.get("/api/v1/wallet-transactions", params))["meta"]["totalItemCount"] == 4
    entry(other_operator, amount=D("1.00"))
    for params in ({"operatorId": other_operator.pk}, {"teamId": other_operator.pk}):
        data = body(client.get("/api/v1/wallet-transactions", params))
        assert data["data"] == [] and data["meta"]["totalItemCount"] == 0


def test_pages(operator):
    for i in range(23):
        entry(operator, created_at=T0 + timedelta(minutes=i), amount=D("1.01") * (i + 1))
    client = bearer(operator, READ)
    data = body(client.get("/api/v1/wallet-transactions", {"page": 2, "perPage": 10}))
    assert data["meta"] == {"itemCount": 3, "currentPage": 2, "perPage": 10, "totalPageCount": 3,
                            "totalItemCount": 23}
    assert [t["toAmount"] for t in data["data"]] == [D("3.03"), D("2.02"), D("1.01")]
    beyond = body(client.get("/api/v1/wallet-transactions", {"page": 3, "perPage": 10}))
    assert beyond["data"] == [] and beyond["meta"]["itemCount"] == 0 and beyond["meta"]["totalItemCount"] == 23


@pytest.mark.parametrize("params", [
    {"fromDate": "2026-11-03"}, {"fromDate": "2026-13-03T10:00:00Z"}, {"toDate": "2026-11-03T10:00:00"},
    {"toDate": "yesterday"}, {"fromDate": "1653211803"}, {"fromDate": "0001-01-01T00:00:00Z"},
    {"fromDate": "2026-11-04T00:00:00Z", "toDate": "2026-11-03T00:00:00Z"},
    {"perPage": 0}, {"perPage": 101}, {"page": -1}, {"page": "x"},
    {"referenceId": "17\x00"}, {"referenceId": "x" * 65}, {"partnerExternalId": "\x00"},
    {"state": "done"}, {"group": "DEPOSIT"}, {"referenceType": "charge"}, {"operatorId": "1\x00"},
])
def test_bad_input_is_the_specs_400(operator, ledger, params):
    response = bearer(operator, READ).get("/api/v1/wallet-transactions", params)
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["status"] == "BAD_REQUEST" and error["errorCode"] == "BAD_REQUEST"
    assert error["message"] == "Invalid request" and error["readableMessage"]


def test_one_transaction(operator, ledger):
    client = bearer(operator, READ)
    response = client.get(f"/api/v1/wallet-transactions/{ledger['payout'].pk}")
    assert response.status_code == 200
    tx = body(response)
    assert tx["id"] == ledger["payout"].pk and tx["fromAmount"] == D("100.10") and tx["fromWalletId"] == operator.pk
    assert client.get("/api/v1/wallet-transactions/999999").status_code == 404
    assert client.get("/api/v1/wallet-transactions/99999999999999999999").status_code in (400, 404)


def test_another_operators_transactions_are_404(operator, other_operator):
    theirs = entry(other_operator, amount=D("5.00"))
    response = bearer(operator, READ).get(f"/api/v1/wallet-transactions/{theirs.pk}")
    assert response.status_code == 404
    assert response.json()["errorCode"] == "RESOURCE_NOT_FOUND" and response.json()["status"] == "NOT_FOUND"


@pytest.mark.parametrize("path", ["/api/v1/wallet-transactions", "/api/v1/wallet-transactions/1",
                                  "/api/v1/wallet-transactions/invoices/1", "/api/v1/wallets", "/api/v1/wallets/1"])
def test_without_the_scope_403(operator, path):
    response = bearer(operator, ["charge-points:read", "invoices:read"]).get(path)
    assert response.status_code == 403
    assert response.json()["errorCode"] == "ACCESS_FORBIDDEN"
    assert response.json()["context"] == {"requiredScope": "wallet-transactions:read"}


def test_the_entries_an_invoice_bills(operator, other_operator, ledger):
    invoice = billed(operator, [ledger["fee"]], date(2026, 11, 1))
    settlement = entry(operator, created_at=T0 + timedelta(days=3), amount=D("-118.74"), vat_amount=D("-25.00"),
                       kind="invoice_settlement", reference_type="INVOICE", reference_id=str(invoice.pk),
                       reference=f"invoice-settlement:{invoice.pk}")
    InvoiceEntry.objects.create(invoice=invoice, transaction=settlement)  # after issue: its settlement only
    client = bearer(operator, READ)
    data = body(client.get(f"/api/v1/wallet-transactions/invoices/{invoice.pk}"))
    assert [t["id"] for t in data["data"]] == [settlement.pk, ledger["fee"].pk]
    assert [t["fromAmount"] for t in data["data"]] == [D("118.74"), D("6.26")]
    assert sum(t["fromAmount"] for t in data["data"]) == invoice.total  # the invariant, seen by the program
    assert data["data"][0]["fromSubAmount"] == D("93.74") and data["data"][0]["fromVatAmount"] == D("25.00")
    assert data["meta"]["totalItemCount"] == 2
    paged = body(client.get(f"/api/v1/wallet-transactions/invoices/{invoice.pk}", {"perPage": 1, "page": 1}))
    assert [t["id"] for t in paged["data"]] == [ledger["fee"].pk] and paged["meta"]["totalPageCount"] == 2
    theirs = issued_invoice(other_operator)
    assert client.get(f"/api/v1/wallet-transactions/invoices/{theirs.pk}").status_code == 404
    assert client.get("/api/v1/wallet-transactions/invoices/0").status_code == 404
    assert client.get(f"/api/v1/wallet-transactions/invoices/{invoice.pk}", {"perPage": 500}).status_code == 400


def test_a_draft_invoice_is_not_found(operator):
    from billing.models import Invoice

    draft = Invoice.objects.create(operator=operator, period=T0.date().replace(day=1), currency="DKK",
                                   vat_category="S")
    assert bearer(operator, READ).get(f"/api/v1/wallet-transactions/invoices/{draft.pk}").status_code == 404


def test_the_wallet(operator, other_operator, ledger):
    client = bearer(operator, READ)
    response = client.get(f"/api/v1/wallets/{operator.pk}")
    assert response.status_code == 200
    wallet = body(response)
    # the balance: completed entries only (125.00 - 6.26 - 100.10; the pending 0.07 is not in it)
    assert wallet == {"id": operator.pk, "ownerType": "operator", "ownerId": operator.pk, "currencyId": 208,
                      "countryId": 208, "currency": {"identifier": "dkk", "name": "Danish Krone", "decimals": 2},
                      "balance": {"amount": D("18.64"), "credit": D("0.00")}}
    assert b'"amount": 18.64' in response.content
    listed = body(client.get("/api/v1/wallets"))
    assert listed["meta"] == {"itemCount": 1, "currentPage": 0, "perPage": 10, "totalPageCount": 1,
                              "totalItemCount": 1}
    assert listed["data"] == [{**wallet, "balance": None}]
    assert body(client.get("/api/v1/wallets", {"operatorId": operator.pk}))["meta"]["totalItemCount"] == 1
    assert body(client.get("/api/v1/wallets", {"teamId": other_operator.pk}))["data"] == []
    assert body(client.get("/api/v1/wallets", {"page": 1}))["data"] == []
    assert client.get(f"/api/v1/wallets/{other_operator.pk}").status_code == 404
    assert client.get("/api/v1/wallets", {"perPage": 0}).status_code == 400
    nok = body(bearer(other_operator, READ).get(f"/api/v1/wallets/{other_operator.pk}"))
    assert nok["currencyId"] == 578 and nok["countryId"] == 578 and nok["balance"]["amount"] == D("0.00")


def test_no_adjustment_endpoint(operator):
    client = bearer(operator)
    response = client.post("/api/v1/wallet-transactions/operator-adjustment-transaction",
                           {"fromWalletId": operator.pk, "toWalletId": operator.pk, "amount": 10},
                           content_type="application/json")
    assert response.status_code in (404, 405)
    assert not WalletTransaction.objects.exists()


def test_queries_per_request_do_not_grow_with_rows(operator):
    def counts(invoice):
        client = bearer(operator, READ)
        return [queries_of(client, "/api/v1/wallet-transactions", perPage=100),
                queries_of(client, f"/api/v1/wallet-transactions/invoices/{invoice.pk}", perPage=100)]

    def fees(n):
        return [entry(operator, amount=D("-1.00")) for _ in range(n)]

    at_3 = counts(billed(operator, fees(3), date(2026, 10, 1)))
    assert counts(billed(operator, fees(27), date(2026, 11, 1))) == at_3
