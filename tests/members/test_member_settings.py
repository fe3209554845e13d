"""Member settings: role, expiry, deletion, Extend, and the last-Admin guard in every form."""
from datetime import timedelta

import pytest
from django.utils import timezone

from members import services
from members.models import Membership
from portal.errors import DomainError, NotAllowed
from portal.models import AuditEvent
from portal.permissions import Role
from tests.factories import member

pytestmark = pytest.mark.django_db


def membership(operator, user):
    return Membership.objects.get(operator=operator, user=user)


def in_two_days():
    return timezone.make_aware(timezone.datetime.combine(timezone.localdate() + timedelta(days=2),
                                                         timezone.datetime.min.time()))


def settings_url(operator, m):
    return f"/o/{operator.slug}/members/{m.pk}/settings/"


def test_change_role_and_expiry_write_one_event_each(operator, admin):
    user = member(operator, Role.SUPPORTER)
    m = membership(operator, user)
    expires = timezone.now() + timedelta(days=10)
    changes = services.membership_update(operator=operator, actor=admin, membership_id=m.pk,
                                         role=Role.MANAGER, expires_at=expires)
    m.refresh_from_db()
    assert (m.role, m.expires_at) == (Role.MANAGER, expires)
    assert set(changes) == {"role", "expires_at"}
    role_event = AuditEvent.objects.get(verb="membership.role_changed")
    assert role_event.changes == {"role": {"before": "supporter", "after": "manager"}}
    assert AuditEvent.objects.get(verb="membership.expiry_changed").changes["expires_at"]["before"] is None
    # clearing the expiry
    services.membership_update(operator=operator, actor=admin, membership_id=m.pk, role=Role.MANAGER, expires_at=None)
    m.refresh_from_db()
    assert m.expires_at is None
    assert AuditEvent.objects.filter(verb="membership.expiry_changed").count() == 2
    # nothing changed: nothing written
    assert services.membership_update(operator=operator, actor=admin, membership_id=m.pk,
                                      role=Role.MANAGER, expires_at=None) == {}
    assert AuditEvent.objects.filter(verb__startswith="membership.").count() == 3


def test_remove_keeps_the_audit_history(operator, admin, login):
    user = member(operator, Role.MANAGER)
    m = membership(operator, user)
    services.membership_update(operator=operator, actor=admin, membership_id=m.pk, role=Role.SUPPORTER, expires_at=None)
    services.membership_remove(operator=operator, actor=admin, membership_id=m.pk)
    assert not Membership.objects.filter(pk=m.pk).exists()
    events = AuditEvent.objects.filter(item_type="membership", item_id=str(m.pk))
    assert set(events.values_list("verb", flat=True)) == {"membership.role_changed", "membership.removed"}
    page = login(admin).get(f"/o/{operator.slug}/audit-log/")
    assert "membership.removed" in page.content.decode() and user.name in page.content.decode()


def test_member_that_does_not_exist(operator, other_operator, admin):
    foreign = membership(other_operator, member(other_operator, Role.SUPPORTER))
    with pytest.raises(NotAllowed, match="does not exist"):
        services.membership_remove(operator=operator, actor=admin, membership_id=foreign.pk)
    assert Membership.objects.filter(pk=foreign.pk).exists()


def test_only_an_admin_manages_members(operator):
    manager = member(operator, Role.MANAGER)
    target = membership(operator, member(operator, Role.SUPPORTER))
    with pytest.raises(NotAllowed):
        services.membership_remove(operator=operator, actor=manager, membership_id=target.pk)


# --- the last Admin without expiry -----------------------------------------------------------------

def test_last_admin_cannot_be_demoted_even_by_themself(operator, admin, login):
    m = membership(operator, admin)
    with pytest.raises(NotAllowed, match="last Admin without an expiry date") as exc:
        services.membership_update(operator=operator, actor=admin, membership_id=m.pk, role=Role.MANAGER, expires_at=None)
    assert exc.value.field == "role"
    # through the form: a 400 with the message on the role field, nothing saved
    response = login(admin).post(settings_url(operator, m), {"role": "manager", "expires_at": ""})
    assert response.status_code == 400
    assert "You are the last Admin without an expiry date" in response.content.decode()
    assert membership(operator, admin).role == Role.ADMIN


def test_last_admin_cannot_get_an_expiry(operator, admin, login):
    m = membership(operator, admin)
    with pytest.raises(NotAllowed) as exc:
        services.membership_update(operator=operator, actor=admin, membership_id=m.pk, role=Role.ADMIN,
                                   expires_at=in_two_days())
    assert exc.value.field == "expires_at"
    day = (timezone.localdate() + timedelta(days=2)).isoformat()
    response = login(admin).post(settings_url(operator, m), {"role": "admin", "expires_at": day})
    assert response.status_code == 400 and "cannot be given an expiry date" in response.content.decode()
    # nor through Extend
    response = login(admin).post(f"/o/{operator.slug}/members/{m.pk}/extend/", {"expires_at": day})
    assert response.status_code == 400 and "last Admin" in response.content.decode()
    assert membership(operator, admin).expires_at is None


def test_last_admin_cannot_be_deleted_even_by_themself(operator, admin, login):
    m = membership(operator, admin)
    with pytest.raises(NotAllowed, match="cannot be deleted"):
        services.membership_remove(operator=operator, actor=admin, membership_id=m.pk)
    response = login(admin).post(f"/o/{operator.slug}/members/{m.pk}/delete/", follow=True)
    assert "You are the last Admin without an expiry date and cannot be deleted" in response.content.decode()
    assert Membership.objects.filter(pk=m.pk).exists()


def test_an_admin_with_expiry_does_not_count(operator, admin):
    member(operator, Role.ADMIN, expires_at=timezone.now() + timedelta(days=30))
    with pytest.raises(NotAllowed):
        services.membership_remove(operator=operator, actor=admin, membership_id=membership(operator, admin).pk)


def test_with_a_second_permanent_admin_the_first_can_go(operator, admin):
    second = member(operator, Role.ADMIN)
    services.membership_update(operator=operator, actor=second, membership_id=membership(operator, admin).pk,
                               role=Role.MANAGER, expires_at=None)
    # now `second` is the last one
    with pytest.raises(NotAllowed, match="You are the last Admin"):
        services.membership_remove(operator=operator, actor=second, membership_id=membership(operator, second).pk)


def test_admin_can_remove_themself_when_another_admin_remains(operator, admin, login):
    member(operator, Role.ADMIN)
    m = membership(operator, admin)
    response = login(admin).post(f"/o/{operator.slug}/members/{m.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert login(admin).get(f"/o/{operator.slug}/members/").status_code == 404


# --- Extend ------------------------------------------------------------------------------------------

def test_extend_re_enables_an_expired_member(operator, admin, login):
    gone = member(operator, Role.SUPPORTER, expires_at=timezone.now() - timedelta(days=3))
    m = membership(operator, gone)
    assert login(gone).get(f"/o/{operator.slug}/").status_code == 404
    page = login(admin).get(f"/o/{operator.slug}/members/?status=expired").content.decode()
    assert f"/o/{operator.slug}/members/{m.pk}/extend/" in page and "Expired" in page
    client = login(admin)
    assert client.post(f"/o/{operator.slug}/members/{m.pk}/extend/", {"expires_at": ""}).status_code == 400
    past = client.post(f"/o/{operator.slug}/members/{m.pk}/extend/", {"expires_at": timezone.localdate().isoformat()})
    assert past.status_code == 400 and "Choose a date after today" in past.content.decode()
    new_day = timezone.localdate() + timedelta(days=30)
    response = client.post(f"/o/{operator.slug}/members/{m.pk}/extend/", {"expires_at": new_day.isoformat()})
    assert response.status_code == 302
    m.refresh_from_db()
    assert timezone.localtime(m.expires_at).date() == new_day and timezone.localtime(m.expires_at).hour == 0
    assert login(gone).get(f"/o/{operator.slug}/").status_code == 200
    assert AuditEvent.objects.filter(verb="membership.expiry_changed", actor=admin).count() == 1


def test_extend_service_requires_a_date(operator, admin):
    m = membership(operator, member(operator, Role.SUPPORTER, expires_at=timezone.now() - timedelta(days=1)))
    with pytest.raises(DomainError, match="new expiry date"):
        services.membership_extend(operator=operator, actor=admin, membership_id=m.pk, expires_at=None)


# --- the settings form -------------------------------------------------------------------------------

def test_settings_form_shows_current_values_and_saves(operator, admin, login):
    user = member(operator, Role.SUPPORTER)
    m = membership(operator, user)
    client = login(admin)
    page = client.get(settings_url(operator, m)).content.decode()
    assert "Member settings" in page and user.email in page
    assert '<option value="supporter" selected>' in page
    assert "Can view all relevant areas" in page  # the selected role's description
    response = client.post(settings_url(operator, m), {"role": "bookkeeper", "expires_at": ""})
    assert response.status_code == 302
    assert membership(operator, user).role == Role.BOOKKEEPER


def test_unchanged_date_keeps_the_exact_expiry_instant(operator, admin, login):
    exact = timezone.now() + timedelta(days=5, hours=3, minutes=7)
    m = membership(operator, member(operator, Role.SUPPORTER, expires_at=exact))
    day = timezone.localtime(exact).date().isoformat()
    assert login(admin).post(settings_url(operator, m), {"role": "manager", "expires_at": day}).status_code == 302
    m.refresh_from_db()
    assert m.expires_at == exact and m.role == Role.MANAGER


@pytest.mark.parametrize("data,field_error", [
    ({"role": "owner", "expires_at": ""}, "Select a valid choice"),
    ({"role": "manager", "expires_at": "not-a-date"}, "Enter a valid date"),
    ({"role": "manager", "expires_at": "2001-01-01"}, "Choose a date after today"),
])
def test_settings_form_errors(operator, admin, login, data, field_error):
    m = membership(operator, member(operator, Role.SUPPORTER))
    response = login(admin).post(settings_url(operator, m), data)
    assert response.status_code == 400 and field_error in response.content.decode()
    assert membership(operator, m.user).role == Role.SUPPORTER


def test_settings_of_a_member_of_another_operator_is_404(operator, other_operator, admin, login):
    foreign = membership(other_operator, member(other_operator, Role.SUPPORTER))
    assert login(admin).get(settings_url(operator, foreign)).status_code == 404
    assert login(admin).post(f"/o/{operator.slug}/members/{foreign.pk}/delete/").status_code == 404


@pytest.mark.parametrize("actor_role", list(Role))
def test_role_drop_downs_offer_only_roles_up_to_the_actors_own(actor_role):
    from members.forms import InviteForm, MemberSettingsForm
    from portal.permissions import can_manage_role

    expected = [r.value for r in Role if can_manage_role(actor_role, r)]
    for form_class in (InviteForm, MemberSettingsForm):
        form = form_class(actor_role=actor_role)
        assert [value for value, _ in form.fields["role"].choices] == expected
    assert Role.ADMIN.value not in expected or actor_role == Role.ADMIN
