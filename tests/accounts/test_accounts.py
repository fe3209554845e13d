import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from accounts.models import User
from tests.factories import PASSWORD, UserFactory


def link_in_last_mail():
    return re.search(r"http://testserver(\S+)", mail.outbox[-1].body).group(1)


@pytest.mark.django_db
class TestSignUpAndVerification:
    def test_sign_up_verify_then_sign_in(self, client):
        response = client.post("/accounts/signup/", {
            "email": "New.Person@Example.test", "password1": PASSWORD, "password2": PASSWORD})
        assert response.status_code == 302
        user = User.objects.get()
        assert user.email == "new.person@example.test"  # email is the login, stored lower case
        assert "Confirm" in mail.outbox[-1].subject
        # Unverified: signing in is held until the email is confirmed.
        client.logout()
        response = client.post("/accounts/login/", {"login": "new.person@example.test", "password": PASSWORD})
        assert response["Location"] == "/accounts/confirm-email/"
        confirm_url = link_in_last_mail()
        response = client.post(confirm_url)
        assert response.status_code == 302
        assert EmailAddress.objects.get(user=user).verified
        client.logout()
        response = client.post("/accounts/login/", {"login": "NEW.PERSON@example.test", "password": PASSWORD})
        assert response.status_code == 302 and response["Location"] == "/"
        assert "No operator access yet" in client.get("/").content.decode()

    def test_duplicate_email_creates_nothing_and_tells_the_owner(self, client):
        # allauth prevents account enumeration: the form looks the same, the owner gets a mail.
        UserFactory(email="taken@example.test")
        client.post("/accounts/signup/", {"email": "TAKEN@example.test", "password1": PASSWORD, "password2": PASSWORD})
        assert User.objects.filter(email="taken@example.test").count() == 1
        assert mail.outbox[-1].to == ["taken@example.test"]
        assert "Account Already Exists" in mail.outbox[-1].subject

    def test_wrong_password(self, client):
        UserFactory(email="someone@example.test")
        response = client.post("/accounts/login/", {"login": "someone@example.test", "password": "wrong"})
        assert "The email address and/or password you specified are not correct." in response.content.decode()


@pytest.mark.django_db
class TestPasswords:
    def test_reset_password_by_email(self, client):
        UserFactory(email="forgetful@example.test")
        client.post("/accounts/password/reset/", {"email": "forgetful@example.test"})
        assert "Password Reset" in mail.outbox[-1].subject
        reset_url = link_in_last_mail()
        response = client.get(reset_url, follow=True)
        form_url = response.redirect_chain[-1][0] if response.redirect_chain else reset_url
        response = client.post(form_url, {"password1": "a-brand-new-secret-9", "password2": "a-brand-new-secret-9"})
        assert response.status_code == 302
        assert User.objects.get(email="forgetful@example.test").check_password("a-brand-new-secret-9")

    def test_change_password_and_sign_out(self, client):
        user = UserFactory()
        client.force_login(user)
        response = client.post("/accounts/password/change/", {
            "oldpassword": PASSWORD, "password1": "another-secret-77", "password2": "another-secret-77"})
        assert response.status_code == 302
        user.refresh_from_db()
        assert user.check_password("another-secret-77")
        client.post("/accounts/logout/")
        assert client.get("/")["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
class TestMyAccount:
    def test_name_and_phone_saved_in_e164(self, client):
        user = UserFactory()
        client.force_login(user)
        response = client.post("/account/", {"name": "Alma Admin", "phone": "+45 32 12 34 56"})
        assert response.status_code == 302
        user.refresh_from_db()
        assert (user.name, user.phone.as_e164) == ("Alma Admin", "+4532123456")

    def test_phone_without_country_code_uses_default_region(self, client):
        user = UserFactory()
        client.force_login(user)
        client.post("/account/", {"name": "X", "phone": "32 12 34 56"})
        user.refresh_from_db()
        assert user.phone.as_e164 == "+4532123456"

    def test_phone_is_unique_and_invalid_is_refused(self, client):
        UserFactory(phone="+4532123456")
        user = UserFactory()
        client.force_login(user)
        response = client.post("/account/", {"name": "X", "phone": "+45 32 12 34 56"})
        assert response.status_code == 400
        assert "This phone number belongs to another account." in response.content.decode()
        response = client.post("/account/", {"name": "X", "phone": "12"})
        assert response.status_code == 400
        assert "Enter a valid phone number" in response.content.decode()
        user.refresh_from_db()
        assert user.phone is None

    def test_clearing_phone_stores_null_so_several_users_can_have_none(self, client):
        a, b = UserFactory(phone="+4532123456"), UserFactory()
        client.force_login(a)
        client.post("/account/", {"name": "A", "phone": ""})
        a.refresh_from_db()
        assert a.phone is None and b.phone is None

    def test_page_lists_emails_password_and_mfa(self, client):
        user = UserFactory(email="me@example.test")
        client.force_login(user)
        html = client.get("/account/").content.decode()
        assert "me@example.test" in html and "Verified" in html
        assert "Change password" in html and "Two-factor authentication" in html
        assert client.get("/accounts/2fa/").status_code == 200


def _totp_code(secret, offset_periods=0):
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset_periods))


@pytest.mark.django_db
def test_totp_mfa_and_recovery_codes(client):
    import time

    import time_machine

    user = UserFactory(email="careful@example.test")
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    response = client.get("/accounts/2fa/totp/activate/")
    if response.status_code == 302:  # sensitive: allauth asks for the password again
        assert response["Location"].startswith("/accounts/reauthenticate/")
        client.post(response["Location"], {"password": PASSWORD})
        response = client.get("/accounts/2fa/totp/activate/")
    assert response.status_code == 200
    secret = response.context["form"].secret
    response = client.post("/accounts/2fa/totp/activate/", {"code": "000000"})
    assert "Incorrect code." in response.content.decode()
    response = client.post("/accounts/2fa/totp/activate/", {"code": _totp_code(secret)})
    assert response.status_code == 302
    html = client.get("/account/").content.decode()
    assert "Authenticator app: <span class=\"badge ok\">On</span>" in html
    assert "Recovery codes: <span class=\"badge ok\">Generated</span>" in html
    client.post("/accounts/logout/")
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/account/").status_code == 302  # not signed in until the second factor
    with time_machine.travel(time.time() + 31):  # a fresh code: a used one is not accepted twice
        response = client.post("/accounts/2fa/authenticate/", {"code": _totp_code(secret)})
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200
