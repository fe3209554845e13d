"""Members & Access in Chromium: invite an existing user as Manager with an expiry, watch the role
description follow the drop-down, accept as that user; change the role in Member settings and
delete the member; invite a new email and join through the link read from the sent mail."""
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from members.models import Membership
from portal.permissions import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, MembershipFactory, OperatorFactory, UserFactory, member

pytestmark = pytest.mark.django_db(transaction=True)


def sign_out(page):
    page.locator("details.usermenu summary").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))


def test_invite_accept_change_role_remove_and_join_by_link(page):
    operator = OperatorFactory(name="Demo Charging ApS", slug="demo")
    admin = member(operator, Role.ADMIN, user__email="admin@demo.example", user__name="Alma Admin")
    supporter = UserFactory(email="supporter@demo.example", name="Sune Supporter", phone="+4520000004")
    expiry = timezone.localdate() + timedelta(days=20)

    # The Admin invites Sune's phone number as Manager, with an expiry date.
    sign_in(page, admin.email, PASSWORD)
    page.goto("/o/demo/")
    page.get_by_role("link", name="Members & Access").click()
    page.get_by_role("link", name="Invite", exact=True).click()
    page.get_by_label("Insert the phone number or email of the user").fill("+45 20 00 00 04")
    role = page.get_by_label("Select the role of the user")
    description = page.get_by_test_id("role-description")
    expect(description).to_contain_text("Can view all relevant areas")  # Supporter, the default
    role.select_option(label="Bookkeeper")
    expect(description).to_contain_text("withdraw and deposit money and make refunds")
    role.select_option(label="Manager")
    expect(description).to_contain_text("Manages operations")
    page.get_by_label("Expire at").fill(expiry.isoformat())
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_role("status").first).to_contain_text("was invited as Manager")
    expect(page.get_by_test_id("invitations")).to_contain_text("+45 20 00 00 04")
    assert mail.outbox[-1].to == ["supporter@demo.example"]
    sign_out(page)

    # Sune signs in, sees the notice and accepts.
    sign_in(page, supporter.email, PASSWORD)
    notice = page.get_by_test_id("invitation-notice")
    expect(notice).to_contain_text("Demo Charging ApS invited you to join as Manager")
    notice.get_by_role("link", name="Review invitation").click()
    page.get_by_role("button", name="Accept").click()
    expect(page).to_have_url(re.compile(r"/o/demo/$"))
    expect(page.get_by_role("status").first).to_contain_text("you joined as Manager")
    sign_out(page)

    # The Admin changes Sune's role in Member settings, then deletes the member.
    sign_in(page, admin.email, PASSWORD)
    page.goto("/o/demo/members/")
    row = page.locator("tr", has_text="Sune Supporter")
    expect(row).to_contain_text("Manager")
    expect(row).to_contain_text("Expires in 20 days")
    row.get_by_label("Actions for Sune Supporter").click()
    row.get_by_role("link", name="Member settings").click()
    # The members list has a "Role" filter too: choose only once the settings page is there.
    expect(page.get_by_role("heading", name="Member settings")).to_be_visible()
    description = page.get_by_test_id("role-description")
    expect(description).to_contain_text("Manages operations")  # the member's current role
    page.get_by_label("Role").select_option(label="Supporter")
    expect(description).to_contain_text("Can view all relevant areas")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_contain_text("Member settings of Sune Supporter saved")
    assert Membership.objects.get(user=supporter).role == Role.SUPPORTER
    page.locator("tr", has_text="Sune Supporter").get_by_label("Actions for Sune Supporter").click()
    page.get_by_role("link", name="Member settings").click()
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Delete member").click()
    expect(page.get_by_role("status").first).to_contain_text("Sune Supporter was removed")
    assert questions == ["Delete Sune Supporter from Demo Charging ApS?"]  # static/js/portal.js asked
    expect(page.get_by_test_id("members")).not_to_contain_text("Sune Supporter")

    # An invitation to a new email, accepted through the link in the mail.
    page.get_by_role("link", name="Invite", exact=True).click()
    page.get_by_label("Insert the phone number or email of the user").fill("newbie@example.test")
    page.get_by_label("Select the role of the user").select_option(label="Bookkeeper")
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_role("status").first).to_contain_text("An invitation to sign up was sent to newbie@example.test")
    message = mail.outbox[-1]
    assert message.to == ["newbie@example.test"]
    link = re.search(r"https?://[^/\s]+(/invitations/link/\S+/)", message.body).group(1)
    sign_out(page)

    page.goto(link)
    email = page.get_by_label("Email:")
    expect(email).to_have_value("newbie@example.test")
    expect(email).to_have_attribute("readonly", "")
    page.get_by_label("Password:", exact=True).fill("a-Long-passw0rd!")
    page.get_by_label("Password (again):").fill("a-Long-passw0rd!")
    page.get_by_role("button", name="Sign Up").click()
    expect(page).to_have_url(re.compile(r"/o/demo/$"))
    expect(page.get_by_role("status").first).to_contain_text("Welcome to Demo Charging ApS: you joined as Bookkeeper")
    assert Membership.objects.active().filter(operator=operator, user__email="newbie@example.test",
                                              role=Role.BOOKKEEPER).exists()


def test_role_description_follows_a_choice_made_before_htmx_loaded(page):
    """Issue 9 #12: a role chosen right after the page appeared, before the deferred scripts
    (htmx) ran, must still show that role's description. The test holds htmx back until the
    choice is made, so it does not depend on how fast the machine is."""
    operator = OperatorFactory(name="Demo Charging ApS", slug="demo")
    admin = member(operator, Role.ADMIN)
    sign_in(page, admin.email, PASSWORD)
    held = []
    page.route("**/static/django_htmx/**", lambda route: held.append(route))
    page.goto("/o/demo/members/invite/", wait_until="commit")
    description = page.get_by_test_id("role-description")
    expect(description).to_contain_text("Can view all relevant areas")  # Supporter, the default
    page.get_by_label("Select the role of the user").select_option(label="Bookkeeper")
    expect(description).to_contain_text("withdraw and deposit money and make refunds")
    assert held, "htmx was not held back: the test would not show anything"
    for route in held:
        route.continue_()
    page.wait_for_load_state("load")
    expect(description).to_contain_text("withdraw and deposit money and make refunds")
    # and on the Member settings page, for a choice made the same early way
    membership = MembershipFactory(operator=operator, role=Role.SUPPORTER, user__name="Sune Supporter")
    held.clear()
    page.goto(f"/o/demo/members/{membership.pk}/settings/", wait_until="commit")
    page.get_by_label("Role").select_option(label="Manager")
    expect(page.get_by_test_id("role-description")).to_contain_text("Manages operations")
    for route in held:
        route.continue_()
