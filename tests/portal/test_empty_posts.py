"""An empty POST to a form page is an invalid form: 400 with field errors, nothing saved."""
import pytest

from operators.models import BankAccount, Operator
from portal.models import AuditEvent
from tests.factories import CredentialFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", [
    "settings/", "bank-accounts/new/", "members/invite/", "members/{membership}/settings/",
    "members/{membership}/extend/", "credentials/new/payter/", "credentials/{credential}/",
    "sites/new/", "charge-points/new/",
])
def test_empty_post_is_a_400_and_changes_nothing(admin_client, operator, path):
    membership = MembershipFactory(operator=operator)
    credential = CredentialFactory(operator=operator)
    before = Operator.objects.values().get(pk=operator.pk)
    events = AuditEvent.objects.count()
    url = f"/o/{operator.slug}/" + path.format(membership=membership.pk, credential=credential.pk)
    response = admin_client.post(url, {})
    assert response.status_code == 400, url
    assert "This field is required." in response.content.decode()
    assert Operator.objects.values().get(pk=operator.pk) == before
    assert AuditEvent.objects.count() == events and not BankAccount.objects.exists()
