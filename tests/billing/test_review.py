"""Review findings (feature/review-billing): each test failed on feature/billing before its fix."""
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.urls import reverse

from billing import pricing, services
from billing.models import InstallerSettings, Invoice
from operators.models import WalletTransaction
from portal.permissions import Role
from tests.billing.conftest import CLOSE_DAY, NOV, charge_points, deposit, make_plan, make_seller
from tests.factories import OperatorFactory, UserFactory, member

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def paid(billing_setup):
    op = OperatorFactory()
    charge_points(op, 3)  # 3 × 50.00 = 150.00 net, 37.50 VAT, 187.50
    deposit(op, "1000.00")
    invoice = services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY).invoice
    assert (invoice.status, invoice.total) == ("paid", D("187.50"))
    return invoice


# --- partial credit notes: VAT rounded per note must not credit more than was invoiced ------------
def test_partial_credit_notes_never_credit_more_vat_than_invoiced(paid):
    first = services.credit_note_issue(invoice=paid, actor=None, reason="Goodwill", net=D("0.02"), today=CLOSE_DAY)
    rest = services.credit_note_issue(invoice=paid, actor=None, reason="The rest", today=CLOSE_DAY)
    paid.refresh_from_db()
    assert paid.status == "credited"
    assert first.net + rest.net == -paid.net
    assert first.vat + rest.vat == -paid.vat  # was 0.01 + 37.50 = 37.51 credited on 37.50 invoiced
    assert first.total + rest.total == -paid.total
    # the ledger nets the invoice and its credit notes to zero
    refs = [f"invoice-settlement:{i.pk}" for i in (paid, first, rest)]
    fees = WalletTransaction.objects.filter(invoice_entry__invoice__in=[paid, first, rest]).aggregate(
        s=Sum("amount"))["s"]
    assert fees == 0 and WalletTransaction.objects.filter(reference__in=refs).count() == 3


def test_many_small_credits_keep_the_running_vat_exact(paid):
    notes = [services.credit_note_issue(invoice=paid, actor=None, reason=f"#{i}", net=D("0.02"), today=CLOSE_DAY)
             for i in range(5)]
    # 0.10 credited in all: VAT on it is 0.025 → 0.03, not 5 × 0.01 = 0.05
    assert sum(n.vat for n in notes) == D("-0.03")
    for n in notes:
        assert n.total == n.net + n.vat


# --- plan tiers: charge points beyond the last tier are billed, never free -------------------------
def test_charge_points_beyond_a_bounded_last_tier_are_billed_at_its_price(seller):
    make_plan(tiers=((10, "50"),))
    op = OperatorFactory()
    charge_points(op, 12)
    plan, tiers = pricing.plan_in_force(operator=op, period=NOV)
    assert pricing.monthly_amount(12, tiers, "DKK") == D("600.00")  # was 500.00: two charge points free
    lines, _ = pricing.subscription_lines(operator=op, period=NOV)
    assert sum(li.net for li in lines) == D("600.00")


def test_admin_refuses_a_plan_whose_last_tier_is_bounded(client):
    from tests.billing.conftest import staff_sign_in

    staff_sign_in(client)
    data = {"name": "Bounded", "currency": "DKK", "valid_from": "2026-01-01", "note": "",
            "tiers-TOTAL_FORMS": "2", "tiers-INITIAL_FORMS": "0", "tiers-MIN_NUM_FORMS": "0",
            "tiers-MAX_NUM_FORMS": "1000",
            "tiers-0-up_to": "10", "tiers-0-unit_price": "50", "tiers-1-up_to": "50", "tiers-1-unit_price": "40"}
    response = client.post("/admin/billing/plan/add/", data)
    assert response.status_code == 200 and "last tier" in response.content.decode()
    from billing.models import Plan
    assert not Plan.objects.filter(name="Bounded").exists()
    none = {**data, "name": "Empty", "tiers-TOTAL_FORMS": "0"}
    response = client.post("/admin/billing/plan/add/", none)
    assert response.status_code == 200 and not Plan.objects.filter(name="Empty").exists()
    ok = {**data, "name": "Open", "tiers-1-up_to": ""}
    assert client.post("/admin/billing/plan/add/", ok).status_code == 302


# --- installer settings: the portal's text rules ---------------------------------------------------
GOOD = {"company": "Elektriker Jensen ApS", "contact_name": "Jens Jensen", "email": "jens@elektriker.test",
        "phone": "+45 20 30 40 50", "street": "Nørregade 1", "postcode": "8000", "city": "Aarhus", "country": "DK",
        "notes": "Service contract 2026\nKey at the reception"}


@pytest.mark.parametrize("field,value,message", [
    ("company", "Jensen ApS\r\nBcc: x@evil.test", "line"),
    ("contact_name", "\u202eJens", "text-direction"),
    ("company", "\u200b\u200b", "visible"),
    ("street", "Nørregade\t1", "tab"),
    ("city", "Aar\u200bhus", "invisible"),
    ("notes", "x" * 2001, "at most 2000"),
    ("notes", "nul\x00byte", "Null characters"),
    ("country", "XX", "valid choice"),
    ("email", "jens@elektriker.test\r\nBcc: x@evil.test", "valid email"),
])
def test_bad_installer_settings_are_refused(billing_setup, login, field, value, message):
    op = OperatorFactory()
    client = login(member(op, Role.ADMIN))
    response = client.post(reverse("billing:installer", args=[op.slug]), {**GOOD, field: value})
    assert response.status_code == 400 and message in response.content.decode()
    assert not InstallerSettings.objects.filter(operator=op).exists()


def test_installer_settings_post_needs_the_permission(billing_setup, login):
    op = OperatorFactory()
    for role in (Role.BOOKKEEPER, Role.SUPPORTER):
        client = login(member(op, role))
        assert client.post(reverse("billing:installer", args=[op.slug]), GOOD).status_code == 403
    assert not InstallerSettings.objects.filter(operator=op).exists()


# --- the staff command: amounts that are not amounts ------------------------------------------------
@pytest.mark.parametrize("net", ["NaN", "Infinity", "-Infinity", "1e999999999", "sNaN", "٥"])
def test_credit_note_command_refuses_non_amounts(paid, net):
    UserFactory(email="staff@platform.test", is_staff=True)
    with pytest.raises(CommandError):
        call_command("credit_note", paid.number, "--reason", "x", "--net", net, "--staff", "staff@platform.test")
    assert not Invoice.objects.filter(credit_of=paid).exists()


def test_credit_note_reason_on_one_line(paid):
    with pytest.raises(services.DomainError):
        services.credit_note_issue(invoice=paid, actor=None, reason="Goodwill\r\nX-Header: 1", today=CLOSE_DAY)
    assert not Invoice.objects.filter(credit_of=paid).exists()


# --- the plan in another currency than the wallet ----------------------------------------------------
def test_plan_in_eur_for_a_dkk_wallet_is_converted(seller):
    make_plan(currency="EUR", tiers=((None, "10"),))
    op = OperatorFactory()
    charge_points(op, 1)
    lines, details = pricing.subscription_lines(operator=op, period=NOV)
    assert details["plan"]["currency"] == "DKK" and lines[0].net > D("10")
    assert date(2026, 11, 1) == NOV and make_seller is not None


# --- immutability through every door ----------------------------------------------------------------
def test_bulk_update_and_queryset_update_of_an_issued_invoice_are_refused(paid):
    from django.db import transaction

    paid.total, paid.net = D("1.00"), D("1.00")
    with pytest.raises(PermissionError), transaction.atomic():
        Invoice.objects.bulk_update([paid], ["net", "total"])
    with pytest.raises(PermissionError), transaction.atomic():
        Invoice.objects.filter(pk=paid.pk).update(buyer={})
    with pytest.raises(PermissionError), transaction.atomic():
        Invoice.objects.filter(pk=paid.pk).delete()
    paid.refresh_from_db()
    assert paid.total == D("187.50")


def test_admin_delete_action_is_not_offered_and_refused(paid, client):
    from tests.billing.conftest import staff_sign_in

    staff_sign_in(client)
    page = client.get("/admin/billing/invoice/").content.decode()
    assert "delete_selected" not in page
    response = client.post("/admin/billing/invoice/", {"action": "delete_selected", "_selected_action": [paid.pk],
                                                        "post": "yes"})
    assert response.status_code in (200, 302, 403)
    assert Invoice.objects.filter(pk=paid.pk).exists()


@pytest.mark.skipif("__import__('django.db').db.connection.vendor != 'postgresql'", reason="PostgreSQL triggers")
def test_raw_sql_cannot_change_or_delete_an_issued_invoice_line_or_link(paid):
    from django.db import DatabaseError, connection, transaction

    for sql in [f"UPDATE billing_invoice SET total = 0, net = 0 WHERE id = {paid.pk}",
                f"UPDATE billing_invoice SET status = 'draft' WHERE id = {paid.pk}",
                f"DELETE FROM billing_invoice WHERE id = {paid.pk}",
                f"UPDATE billing_invoiceline SET net = 0 WHERE invoice_id = {paid.pk}",
                f"DELETE FROM billing_invoiceentry WHERE invoice_id = {paid.pk}"]:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    paid.refresh_from_db()
    assert paid.total == D("187.50") and paid.lines.count() == 1


# --- tenancy ------------------------------------------------------------------------------------------
def test_another_operators_invoice_and_pdf_are_404_and_a_draft_has_no_pdf(paid, login):
    other = OperatorFactory()
    client = login(member(other, Role.ADMIN))
    for name in ("invoice_detail", "invoice_pdf"):
        assert client.get(reverse(f"billing:{name}", args=[other.slug, paid.pk])).status_code == 404
    draft = Invoice.objects.create(operator=other, period=date(2026, 10, 1), currency="DKK", vat_category="S")
    for name in ("invoice_detail", "invoice_pdf"):
        assert client.get(reverse(f"billing:{name}", args=[other.slug, draft.pk])).status_code == 404


@pytest.mark.parametrize("query", ["period=2026-13", "period=abc", "period=2026-11-05", "status=void",
                                   "period=%00", "page=abc", "period=99999-01", "status=draft"])
def test_bad_invoice_filters_are_400_not_500(paid, login, query):
    client = login(member(paid.operator, Role.BOOKKEEPER))
    response = client.get(reverse("billing:invoice_list", args=[paid.operator.slug]) + "?" + query)
    assert response.status_code in (200, 400)
    if not query.startswith("page"):
        assert response.status_code == 400


# --- currencies without minor units -----------------------------------------------------------------
@pytest.mark.parametrize("currency", ["JPY", "ISK"])
def test_zero_decimal_currency_rounds_vat_to_whole_units(seller, currency):
    make_plan(currency=currency, tiers=((None, "1001"),))
    op = OperatorFactory(currency=currency)
    charge_points(op, 1)
    deposit(op, "100000")
    invoice = services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY).invoice
    # 1 001 net, VAT 25 % = 250.25 → 250 (whole units), total 1 251
    assert (invoice.net, invoice.vat, invoice.total) == (D("1001"), D("250"), D("1251"))
    linked = WalletTransaction.objects.filter(invoice_entry__invoice=invoice).aggregate(s=Sum("amount"))["s"]
    assert linked == -invoice.total
    cn = services.credit_note_issue(invoice=invoice, actor=None, reason="Part", net=D("3"), today=CLOSE_DAY)
    assert (cn.net, cn.vat) == (D("-3"), D("-1"))  # 0.75 → 1
    with pytest.raises(services.DomainError):
        services.credit_note_issue(invoice=invoice, actor=None, reason="Cents", net=D("0.4"), today=CLOSE_DAY)


@pytest.mark.skipif("__import__('django.db').db.connection.vendor != 'postgresql'", reason="PostgreSQL triggers")
def test_database_keeps_an_issued_invoices_links_and_billed_entries(billing_setup):
    from django.db import DatabaseError, connection, transaction

    from tests.billing.conftest import at, charge

    op = OperatorFactory()
    cps = charge_points(op, 1)
    charge(op, cps[0], at(2026, 11, 5))
    deposit(op, "1000.00")
    invoice = services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY).invoice
    fee = WalletTransaction.objects.get(invoice_entry__invoice=invoice, kind="platform_fee")
    stray = deposit(op, "5.00", ref="stray")
    for sql, params in [
        ("INSERT INTO billing_invoiceentry (invoice_id, transaction_id) VALUES (%s, %s)", [invoice.pk, stray.pk]),
        ("UPDATE operators_wallettransaction SET amount = 0 WHERE id = %s", [fee.pk]),
        ("UPDATE operators_wallettransaction SET state = 'failed' WHERE id = %s", [fee.pk]),
    ]:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    # entries no issued invoice bills stay editable, and a note on a billed one too
    with connection.cursor() as cursor:  # (the model refuses updates too: append-only)
        cursor.execute("UPDATE operators_wallettransaction SET amount = 6 WHERE id = %s", [stray.pk])
        cursor.execute("UPDATE operators_wallettransaction SET note = 'annotated' WHERE id = %s", [fee.pk])
    linked = WalletTransaction.objects.filter(invoice_entry__invoice=invoice).aggregate(s=Sum("amount"))["s"]
    assert linked == -invoice.total
    # a credit note still posts its own settlement
    cn = services.credit_note_issue(invoice=invoice, actor=None, reason="Goodwill", net=D("1.00"), today=CLOSE_DAY)
    assert WalletTransaction.objects.filter(invoice_entry__invoice=cn).count() == 1


@pytest.mark.parametrize("currency,tier_price,message", [
    ("XYZ", "50", "exchange rate"), ("eu", "50", "exchange rate"), ("DKK", "-5", "never negative")])
def test_admin_refuses_a_plan_the_close_cannot_price(billing_setup, client, login, currency, tier_price, message):
    from billing.models import Plan
    from tests.billing.conftest import staff_sign_in

    staff_sign_in(client)
    data = {"name": "Odd", "currency": currency, "valid_from": "2026-01-01", "note": "",
            "tiers-TOTAL_FORMS": "1", "tiers-INITIAL_FORMS": "0", "tiers-MIN_NUM_FORMS": "0",
            "tiers-MAX_NUM_FORMS": "1000", "tiers-0-up_to": "", "tiers-0-unit_price": tier_price}
    response = client.post("/admin/billing/plan/add/", data)
    assert response.status_code == 200 and message in response.content.decode()
    assert not Plan.objects.filter(name="Odd").exists()
    ok = client.post("/admin/billing/plan/add/", {**data, "currency": "eur", "tiers-0-unit_price": "5"})
    assert ok.status_code == 302 and Plan.objects.get(name="Odd").currency == "EUR"
    op = OperatorFactory()
    charge_points(op, 1)
    assert login(member(op, Role.BOOKKEEPER)).get(reverse("billing:index", args=[op.slug])).status_code == 200


def test_credit_action_needs_the_credit_permission_not_view(paid, client):
    from django.contrib.auth.models import Permission

    from tests.factories import enable_totp, sign_in

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_invoice"))
    assert sign_in(client, viewer, secret=enable_totp(viewer)).status_code == 302
    url = "/admin/billing/invoice/"
    assert client.get(url).status_code == 200 and "credit_in_full" not in client.get(url).content.decode()
    client.post(url, {"action": "credit_in_full", "_selected_action": [paid.pk], "reason": "Mine now"})
    assert not Invoice.objects.filter(credit_of=paid).exists()
    viewer.user_permissions.add(Permission.objects.get(codename="credit_invoice"))
    assert "credit_in_full" in client.get(url).content.decode()
    client.post(url, {"action": "credit_in_full", "_selected_action": [paid.pk], "reason": "Duplicate"})
    assert Invoice.objects.filter(credit_of=paid).count() == 1


SELLER = {"name": "CPO Platform ApS", "vat_number": "DK 13 58 56 28", "street": "Bredgade 1", "postcode": "1260",
          "city": "København K", "country": "DK", "email": "billing@platform.test", "bank_name": "Nordea Danmark",
          "iban": "DK50 0040 0440 1162 43", "bic": "NDEADKKK", "payment_terms_days": "14", "invoice_footer": ""}


@pytest.mark.parametrize("change,message", [
    ({"country": "SE"}, "Invoices can be issued from DK"),
    ({"vat_number": "DK13585629"}, "VAT"),
    ({"iban": "DK50 0040 0440 1162 44"}, "IBAN"),
    ({"bic": "DABADKKK"}, "not the BIC of the bank"),
    ({"name": "CPO\r\nPlatform"}, "carriage return"),
    ({"street": "Bred\u202egade 1"}, "text-direction"),
])
def test_admin_refuses_a_seller_the_close_cannot_invoice_from(db, client, login, change, message):
    from billing.models import PlatformSeller
    from tests.billing.conftest import staff_sign_in

    staff_sign_in(client)
    response = client.post("/admin/billing/platformseller/add/", {**SELLER, **change})
    assert response.status_code == 200 and message in response.content.decode()
    assert not PlatformSeller.objects.exists()
    assert client.post("/admin/billing/platformseller/add/", SELLER).status_code == 302
    seller = PlatformSeller.objects.get()
    assert (seller.vat_number, seller.iban) == ("DK13585628", "DK5000400440116243")
    make_plan()
    op = OperatorFactory()
    charge_points(op, 1)
    assert login(member(op, Role.BOOKKEEPER)).get(reverse("billing:index", args=[op.slug])).status_code == 200


# --- an operator whose currency has no exchange rate to the plan's -------------------------------
def test_billing_page_without_an_exchange_rate_says_so_instead_of_500(billing_setup, login):
    """A DKK plan and fees, an operator keeping its wallet in JPY (no reference rate): the Billing
    page answered 500. It now says what is missing, and the close reports that operator only."""
    op = OperatorFactory(currency="JPY")
    charge_points(op, 2)
    other = OperatorFactory()
    charge_points(other, 1)
    deposit(other, "1000.00")
    client = login(member(op, Role.BOOKKEEPER))
    response = client.get(reverse("billing:index", args=[op.slug]))
    assert response.status_code == 200
    text = response.content.decode()
    assert "No exchange rate from DKK to JPY" in text
    assert 'data-testid="pricing-error"' in text
    assert 'data-testid="monthly-amount"' not in text
    results = services.close_month(period=NOV, operators=[op, other], today=CLOSE_DAY, send=False)
    by_slug = {r.operator.slug: r for r in results}
    assert by_slug[op.slug].outcome == "failed"
    assert "No exchange rate from DKK to JPY" in by_slug[op.slug].message
    assert by_slug[other.slug].invoice is not None


def test_the_exchange_rate_a_plan_was_converted_at_is_kept_on_the_invoice(seller, login):
    """An EUR plan for a DKK wallet: the invoice keeps the rate it was issued at (a later change of
    CHARGING_FX_RATES does not change it) and shows it on the page and in the PDF."""
    import io

    from django.test import override_settings
    from pypdf import PdfReader

    make_plan(currency="EUR", tiers=((None, "10"),))
    op = OperatorFactory(currency="DKK")
    charge_points(op, 1)
    deposit(op, "1000.00")
    invoice = services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY).invoice
    assert invoice.net == D("74.60")  # 10 EUR x 7.46
    note = "Plan priced in EUR, converted at 1 EUR = 7.46 DKK."
    with override_settings(CHARGING_FX_RATES={"DKK": "8"}):
        invoice = Invoice.objects.get(pk=invoice.pk)
        assert invoice.fx_note == note
        client = login(member(op, Role.BOOKKEEPER))
        page = client.get(reverse("billing:invoice_detail", args=[op.slug, invoice.pk])).content.decode()
        assert note in page
        pdf = services.invoice_pdf(invoice)
    assert note in " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\n", " ")
    same = OperatorFactory(currency="EUR")
    charge_points(same, 1)
    deposit(same, "100.00")
    assert services.close_operator_month(operator=same, period=NOV, today=CLOSE_DAY).invoice.fx_note == ""
