"""Invoices through the partner API: the spec's InvoiceDto (and the portal's own fields) of the
operator's issued invoices and credit notes; drafts never; links to the portal's downloads."""
from datetime import date
from decimal import Decimal

import pytest

from billing.models import Invoice
from tests.api.helpers import bearer, body, queries_of
from tests.factories import issued_invoice

pytestmark = pytest.mark.django_db
D = Decimal
READ = ["invoices:read"]


@pytest.fixture
def invoices(operator):
    due = issued_invoice(operator, net=D("100.01"), vat=D("25.00"), total=D("125.01"))  # 2026-10, unpaid
    paid = issued_invoice(operator, status="paid")  # 2026-09
    credit = issued_invoice(operator, series="CN", status="paid", credit_of=paid, period=paid.period,
                            net=D("-100.00"), vat=D("-25.00"), total=D("-125.00"), number="CN-2026-000001")
    Invoice.objects.create(operator=operator, period=date(2026, 11, 1), currency="DKK", vat_category="S")  # draft
    return {"due": due, "paid": paid, "credit": credit}


def test_the_list_by_wallet(operator, invoices):
    response = bearer(operator, READ).get("/api/v1/invoices", {"walletId": operator.pk})
    assert response.status_code == 200, response.content
    data = body(response)
    assert [i["id"] for i in data["data"]] == [invoices[k].pk for k in ("due", "credit", "paid")]
    assert data["meta"] == {"itemCount": 3, "currentPage": 0, "perPage": 10, "totalPageCount": 1,
                            "totalItemCount": 3}
    due = data["data"][0]
    line = due.pop("lines")
    assert due == {
        "id": invoices["due"].pk, "walletId": operator.pk,
        "from": "2026-09-30T22:00:00Z", "to": "2026-10-31T22:59:59.999Z",  # October in Copenhagen (CEST→CET)
        "approvedAt": None, "totalStatement": D("125.01"), "totalPayableBalance": D("125.01"),
        "currency": {"id": 208, "identifier": "dkk", "name": "Danish Krone", "decimals": 2},
        "status": "unpaid", "createdAt": "2026-10-31T23:00:00Z", "dueAt": "2026-11-14T23:00:00Z",
        "pdfUrl": f"http://testserver/o/{operator.slug}/billing/invoices/{invoices['due'].pk}/pdf/",
        "number": invoices["due"].number, "documentType": "invoice", "creditOfId": None, "period": "2026-10",
        "issueDate": "2026-11-01", "dueDate": "2026-11-15", "paidAt": None, "netAmount": D("100.01"),
        "vatAmount": D("25.00"), "totalAmount": D("125.01"), "vatRate": D("25.00"), "vatCategory": "S",
        "portalStatus": "issued",
        "einvoiceUrl": f"http://testserver/o/{operator.slug}/billing/invoices/{invoices['due'].pk}/e-invoice/"}
    assert line == [{"position": 1, "kind": "subscription", "description": "Subscription", "quantity": D("2.0000"),
                     "unit": "charge point months", "unitPrice": D("50.0000"), "netAmount": D("100.00"),
                     "vatCategory": "S", "vatRate": D("25.00")}]
    assert b'"totalStatement": 125.01,' in response.content
    credit, paid = data["data"][1], data["data"][2]
    assert credit["documentType"] == "credit-note" and credit["creditOfId"] == invoices["paid"].pk
    assert credit["totalAmount"] == D("-125.00") and credit["status"] == "paid"
    assert credit["totalPayableBalance"] == D("0.00")
    assert paid["status"] == "paid" and paid["totalPayableBalance"] == D("0.00")


def test_pages(operator, invoices):
    data = body(bearer(operator, READ).get("/api/v1/invoices", {"walletId": operator.pk, "perPage": 2, "page": 1}))
    assert [i["id"] for i in data["data"]] == [invoices["paid"].pk]
    assert data["meta"] == {"itemCount": 1, "currentPage": 1, "perPage": 2, "totalPageCount": 2,
                            "totalItemCount": 3}


def test_one_invoice_and_no_draft(operator, invoices):
    client = bearer(operator, READ)
    response = client.get(f"/api/v1/invoices/{invoices['paid'].pk}")
    assert response.status_code == 200
    assert body(response)["number"] == invoices["paid"].number and body(response)["status"] == "paid"
    draft = Invoice.objects.get(number__isnull=True)
    assert client.get(f"/api/v1/invoices/{draft.pk}").status_code == 404
    assert client.get("/api/v1/invoices/0").status_code == 404


def test_a_credited_invoice_is_settled(operator):
    invoice = issued_invoice(operator, status="credited")
    assert body(bearer(operator, READ).get(f"/api/v1/invoices/{invoice.pk}"))["status"] == "settled"


def test_another_operators_invoices_are_404(operator, other_operator, invoices):
    theirs = issued_invoice(other_operator)
    client = bearer(operator, READ)
    response = client.get(f"/api/v1/invoices/{theirs.pk}")
    assert response.status_code == 404 and response.json()["errorCode"] == "RESOURCE_NOT_FOUND"
    response = client.get("/api/v1/invoices", {"walletId": other_operator.pk})
    assert response.status_code == 404 and response.json()["errorCode"] == "RESOURCE_NOT_FOUND"


@pytest.mark.parametrize("params", [{}, {"walletId": "x"}, {"walletId": 0}, {"walletId": "1\x00"},
                                    {"walletId": 1, "perPage": 101}, {"walletId": 1, "perPage": 0},
                                    {"walletId": 1, "page": -1}])
def test_bad_input_is_the_specs_400(operator, params):
    params = {k: (operator.pk if v == 1 and k == "walletId" else v) for k, v in params.items()}
    response = bearer(operator, READ).get("/api/v1/invoices", params)
    assert response.status_code == 400, response.content
    assert response.json()["errorCode"] == "BAD_REQUEST" and response.json()["status"] == "BAD_REQUEST"


@pytest.mark.parametrize("path", ["/api/v1/invoices?walletId=1", "/api/v1/invoices/1"])
def test_without_the_scope_403(operator, path):
    response = bearer(operator, ["wallet-transactions:read"]).get(path)
    assert response.status_code == 403 and response.json()["context"] == {"requiredScope": "invoices:read"}


def test_the_pdf_link_serves_the_invoice_to_a_member(operator, invoices, admin_client):
    data = body(bearer(operator, READ).get(f"/api/v1/invoices/{invoices['due'].pk}"))
    response = admin_client.get(data["pdfUrl"].removeprefix("http://testserver"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


def test_queries_per_request_do_not_grow_with_rows(operator):
    def count():
        return queries_of(bearer(operator, READ), "/api/v1/invoices", walletId=operator.pk, perPage=100)

    for _ in range(3):
        issued_invoice(operator)
    at_3 = count()
    for _ in range(27):
        issued_invoice(operator)
    assert count() == at_3
