"""Fuzzing the Django admin's forms (issue 9, Tests: "every form the URL resolver finds").

Platform staff edit plans, fees, seller details, support levels, operators and more in the Django
admin, so its forms get the same treatment as the portal's (test_fuzz_forms.py): for every model
of ours registered in the admin, the change list (search, filters, actions), the add page and the
change page of an existing object are rendered as a signed-in superuser with two-factor, and each
form on them is posted by hypothesis. The checks are the same: never a 500, a 4xx changes nothing,
a wrong charset is a 400, every row saved passes `full_clean()`.

A model newly registered in the admin is covered without editing this file.
"""
import pytest
from django.contrib import admin
from django.utils import timezone

from billing import services
from billing.models import InstallerSettings, OperatorSupport, SupportLevel
from members.models import Membership, MembershipNotice
from payouts import export
from payouts import services as payout_services
from tests.billing.conftest import (
    CLOSE_DAY,
    NOV,
    charge_points,
    deposit,
    make_fees,
    make_plan,
    make_seller,
    staff_sign_in,
)
from tests.factories import BankAccountFactory, ChargePointFactory, OperatorFactory
from tests.portal.test_fuzz_forms import MODEL_APPS, _isolated, forms_on, fuzz  # noqa: F401 (fixture)
from tests.portal.test_permission_matrix import OBJECT_FACTORIES

pytestmark = pytest.mark.django_db

ADMIN_MODELS = sorted((m for m in admin.site._registry if m._meta.app_label in MODEL_APPS),
                      key=lambda m: m._meta.label)


@pytest.fixture
def populated(client):
    """A staff client and an operator with one of everything the portal's pages show (bank account,
    site, charge point, credential, member, invitation, charge, CDR import, issued invoice), so
    every change page has an object to edit."""
    make_seller()
    make_plan()
    make_fees()
    operator = OperatorFactory()
    for make in OBJECT_FACTORIES.values():
        make(operator)
    # The monthly close of a second operator: close runs, ledger entries, audit events.
    closed = OperatorFactory()
    charge_points(closed, 3)
    deposit(closed, "500.00")
    BankAccountFactory(operator=closed, iban="DK5000400440116243", bic="NDEADKKK", is_default=True)
    services.close_operator_month(operator=closed, period=NOV, today=CLOSE_DAY)  # its payout too
    export.export_all()  # a pain.001 batch
    payout_services.deposit(operator=closed, actor=None, amount="10.00", bank_reference="R1", token="fuzz" * 4)
    payout_services.deposit(operator=closed, actor=None, amount="20.00", bank_reference="R2", token="fuzz" * 5)
    ChargePointFactory(operator=closed).delete()  # leaves a ChargePointRemoval
    level = SupportLevel.objects.create(name="Premium", channels="Email, phone", response_time="4 hours")
    OperatorSupport.objects.create(operator=operator, level=level)
    InstallerSettings.objects.create(operator=operator, company="Elinstallatør ApS", email="el@example.com")
    MembershipNotice.objects.create(membership=Membership.objects.filter(operator=operator).first(),
                                    kind=MembershipNotice.Kind.REMINDER_7D, expires_at=timezone.now())
    staff_sign_in(client)
    return client


def admin_forms(client, url):
    # The admin header's "Log out" form would end the session for the examples after it.
    return [f for f in forms_on(client, url) if not f["url"].endswith("/logout/")
            and (f["fields"] or f["files"] or f["method"] == "post")]


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_fuzz_admin_forms(populated, model):
    client = populated
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    urls = [base, f"{base}add/"]
    obj = model._base_manager.order_by("pk").first()
    if obj is not None:
        urls.append(f"{base}{obj.pk}/change/")
    forms = [form for url in urls for form in admin_forms(client, url)]
    assert forms, f"{model._meta.label}: the admin shows no form at {urls}"
    fuzz(client, forms, f"staff on {base}")


def test_every_admin_model_has_an_object_to_edit(populated):
    # Without an object the change page (the form staff use most) would not be fuzzed.
    empty = [m._meta.label for m in ADMIN_MODELS if not m._base_manager.exists()]
    assert not empty, f"add a factory for these admin models to the fixture: {empty}"


def test_a_fee_refused_in_the_admin_shows_its_errors(populated):
    # Found by this fuzzer: the change page's title is str(fee), which raised for the fee the
    # refused form had just emptied (a 500 instead of the form's errors).
    from operators.models import Fee

    fee = Fee.objects.get(kind=Fee.Kind.REVENUE_PERCENTAGE)
    response = populated.post(f"/admin/operators/fee/{fee.pk}/change/", {
        "kind": fee.kind, "percentage": "", "amount": "", "currency": "", "valid_from": "2026-01-01", "note": ""})
    assert response.status_code == 200
    fee.refresh_from_db()
    assert fee.percentage == 5


@pytest.mark.parametrize("selected", ["abc", "", "x\x00y", "1.5"])
def test_an_action_on_ids_that_are_not_the_models_is_refused_not_500(populated, selected):
    """Found by the fuzz test on PostgreSQL: Django's `response_action` filtered on the posted ids
    as they came and answered 500 for `_selected_action=abc`."""
    url = "/admin/billing/supportlevel/"
    response = populated.post(url, {"action": "delete_selected", "_selected_action": [selected], "index": "0"})
    assert response.status_code == 302 and response.url == url
    page = populated.get(url).content.decode()
    assert "Those are not items of this list" in page


@pytest.mark.parametrize("value", ["SNAN", "sNaN", "NaN", "-Infinity"])
def test_a_decimal_that_is_not_a_finite_number_is_refused_not_500(populated, value):
    """Found by this fuzzer on PostgreSQL: a plan tier's price "SNAN" parsed into a signalling NaN,
    and the inline formset's has_changed() comparison raised InvalidOperation (500)."""
    from billing.models import Plan

    plan = Plan.objects.get(operator=None)
    tiers = list(plan.tiers.order_by("id"))
    data = {"operator": "", "name": plan.name, "currency": plan.currency, "valid_from": "2026-01-01", "note": "",
            "tiers-TOTAL_FORMS": str(len(tiers)), "tiers-INITIAL_FORMS": str(len(tiers)),
            "tiers-MIN_NUM_FORMS": "0", "tiers-MAX_NUM_FORMS": "1000"}
    for n, tier in enumerate(tiers):
        data.update({f"tiers-{n}-id": str(tier.pk), f"tiers-{n}-plan": str(plan.pk),
                     f"tiers-{n}-up_to": "" if tier.up_to is None else str(tier.up_to),
                     f"tiers-{n}-unit_price": value if n == 1 else str(tier.unit_price)})
    response = populated.post(f"/admin/billing/plan/{plan.pk}/change/", data)
    assert response.status_code == 200
    assert "Enter a number." in response.content.decode()
    assert [t.unit_price for t in plan.tiers.order_by("id")] == [t.unit_price for t in tiers]


def test_an_authenticator_cannot_be_edited_in_the_admin_and_its_secret_is_not_shown(populated):
    """Found by this fuzzer on PostgreSQL: allauth's editable admin let staff turn a TOTP
    authenticator into "webauthn" over its secret, and the page answered 500."""
    from allauth.mfa.models import Authenticator

    authenticator = Authenticator.objects.filter(type="totp").first()
    url = f"/admin/mfa/authenticator/{authenticator.pk}/change/"
    page = populated.get(url)
    assert page.status_code == 200 and authenticator.data.get("secret", "") not in page.content.decode()
    response = populated.post(url, {"user": authenticator.user_id, "type": "webauthn", "data": "{}"})
    assert response.status_code == 403
    authenticator.refresh_from_db()
    assert authenticator.type == "totp"
