import pytest

from operators import services
from operators.models import BankAccount
from portal.errors import Conflict, NotAllowed
from portal.models import AuditEvent
from portal.permissions import Role
from tests.factories import member

DK_IBAN = "DK5000400440116243"
NO_IBAN = "NO9386011117947"


def add(client, operator, **data):
    return client.post(f"/o/{operator.slug}/bank-accounts/new/", data)


@pytest.mark.django_db
class TestAddBankAccount:
    def test_first_account_is_default_and_stored_normalised(self, admin_client, operator):
        response = add(admin_client, operator, holder_name="Operator ApS", iban="dk50 0040 0440 1162 43")
        assert response.status_code == 302
        account = BankAccount.objects.get(operator=operator)
        assert account.iban == DK_IBAN and account.bic == "NDEADKKK" and account.is_default

    def test_list_shows_masked_iban_only(self, admin_client, operator):
        add(admin_client, operator, holder_name="Operator ApS", iban=DK_IBAN)
        html = admin_client.get(f"/o/{operator.slug}/bank-accounts/").content.decode()
        assert "DK•• •••• 6243" in html
        assert DK_IBAN not in html and "0040 0440" not in html

    def test_second_account_is_not_default(self, admin_client, operator):
        add(admin_client, operator, holder_name="A", iban=DK_IBAN)
        add(admin_client, operator, holder_name="B", iban=NO_IBAN)
        assert list(BankAccount.objects.filter(operator=operator).values_list("iban", "is_default")
                    .order_by("created_at")) == [(DK_IBAN, True), (NO_IBAN, False)]

    def test_bad_iban_is_refused_with_a_clear_error_and_nothing_saved(self, admin_client, operator):
        response = add(admin_client, operator, holder_name="A", iban="DK50 0040 0440 1162 44")
        assert response.status_code == 400
        assert "The check digits of this IBAN are wrong" in response.content.decode()
        assert not BankAccount.objects.exists()
        assert not AuditEvent.objects.exists()

    def test_bic_is_asked_for_when_the_registry_does_not_know_the_bank(self, admin_client, operator):
        unknown_bank = "DE44999999990532013000"  # valid check digits, bank code 99999999 unknown to the registry
        response = add(admin_client, operator, holder_name="A", iban=unknown_bank)
        assert response.status_code == 400
        assert "enter its BIC" in response.content.decode()
        response = add(admin_client, operator, holder_name="A", iban=unknown_bank, bic="DEUTDEFF")
        assert response.status_code == 302
        assert BankAccount.objects.get(operator=operator).bic == "DEUTDEFF"

    def test_same_iban_twice_is_refused(self, admin_client, operator):
        add(admin_client, operator, holder_name="A", iban=DK_IBAN)
        response = add(admin_client, operator, holder_name="A", iban="DK50 0040 0440 1162 43")
        assert response.status_code == 400
        assert "already one of your bank accounts" in response.content.decode()
        assert BankAccount.objects.count() == 1

    def test_audit_event_has_masked_iban(self, admin_client, admin_user, operator):
        add(admin_client, operator, holder_name="Operator ApS", iban=DK_IBAN)
        event = AuditEvent.objects.get(item_type="bank account")
        assert event.action == "created" and event.actor == admin_user and event.ip_address == "127.0.0.1"
        assert event.changes["iban"] == {"before": None, "after": "DK•• •••• 6243"}
        assert event.changes["holder_name"] == {"before": None, "after": "Operator ApS"}
        assert event.parent_repr == operator.name
        assert DK_IBAN not in str(event.changes)


@pytest.mark.django_db
class TestDefaultAccountRules:
    def _two(self, operator, actor):
        first = services.bank_account_create(operator=operator, actor=actor, holder_name="A", iban=DK_IBAN, bic="NDEADKKK")
        second = services.bank_account_create(operator=operator, actor=actor, holder_name="B", iban=NO_IBAN, bic="DABANO22")
        return first, second

    def test_make_default_moves_the_flag_and_audits_both(self, operator, admin_user):
        first, second = self._two(operator, admin_user)
        services.bank_account_set_default(operator=operator, actor=admin_user, account_id=second.pk)
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.is_default, second.is_default) == (False, True)
        events = AuditEvent.objects.filter(verb="bank_account.default_changed")
        assert {(e.item_id, e.changes["is_default"]["before"], e.changes["is_default"]["after"]) for e in events} == {
            (str(first.pk), True, False), (str(second.pk), False, True)}

    def test_default_cannot_be_removed(self, operator, admin_user):
        first, second = self._two(operator, admin_user)
        with pytest.raises(NotAllowed, match="default payout account cannot be removed"):
            services.bank_account_delete(operator=operator, actor=admin_user, account_id=first.pk)
        services.bank_account_delete(operator=operator, actor=admin_user, account_id=second.pk)
        assert list(BankAccount.objects.values_list("pk", flat=True)) == [first.pk]
        event = AuditEvent.objects.get(action="deleted")
        assert event.changes["iban"] == {"before": "NO•• •••• 7947", "after": None}

    def test_remove_button_refuses_default_with_message(self, admin_client, operator, admin_user):
        first, _ = self._two(operator, admin_user)
        response = admin_client.post(f"/o/{operator.slug}/bank-accounts/{first.pk}/delete/", follow=True)
        assert "default payout account cannot be removed" in response.content.decode()
        assert BankAccount.objects.filter(pk=first.pk).exists()

    def test_another_operators_account_cannot_be_touched(self, operator, other_operator, admin_user, login):
        theirs = services.bank_account_create(operator=other_operator, actor=None, holder_name="X", iban=DK_IBAN, bic="NDEADKKK")
        services.bank_account_create(operator=other_operator, actor=None, holder_name="Y", iban=NO_IBAN, bic="DABANO22")
        with pytest.raises(NotAllowed):
            services.bank_account_set_default(operator=operator, actor=admin_user, account_id=theirs.pk)
        client = login(admin_user)
        client.post(f"/o/{operator.slug}/bank-accounts/{theirs.pk}/make-default/")
        theirs.refresh_from_db()
        assert theirs.is_default

    def test_duplicate_iban_service_error(self, operator, admin_user):
        self._two(operator, admin_user)
        with pytest.raises(Conflict):
            services.bank_account_create(operator=operator, actor=admin_user, holder_name="A", iban=DK_IBAN, bic="NDEADKKK")

    def test_accounts_are_never_edited_detail_shows_full_iban_in_groups_of_four(self, admin_client, operator, admin_user):
        first, _ = self._two(operator, admin_user)
        url = f"/o/{operator.slug}/bank-accounts/{first.pk}/"
        html = admin_client.get(url).content.decode()
        assert 'data-testid="iban">DK50 0040 0440 1162 43<' in html
        assert admin_client.post(url, {"iban": NO_IBAN}).status_code == 405  # no edit
        assert admin_client.get(f"/o/{operator.slug}/bank-accounts/{first.pk}/edit/").status_code == 404
        first.refresh_from_db()
        assert first.iban == DK_IBAN


@pytest.mark.django_db
@pytest.mark.parametrize("role,can_add", [(Role.ADMIN, True), (Role.BOOKKEEPER, True), (Role.MANAGER, False), (Role.SUPPORTER, False)])
def test_who_sees_add_new(login, operator, role, can_add):
    client = login(member(operator, role))
    html = client.get(f"/o/{operator.slug}/").content.decode()
    assert ("Add new" in html) is can_add
