"""Secrets at rest: never in plaintext in the database, rotation, and what happens when the key
is missing or wrong."""
import os

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.core import checks
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from credentials import crypto, services
from credentials.models import Credential
from portal.models import AuditEvent
from portal.permissions import Role
from tests.factories import member

API_KEY = "pk_live_PLAINTEXT4f1c9a7e2b6d8f03a5c1e9b7d2QX7Z"
KEY_A, KEY_B, KEY_C = Fernet.generate_key().decode(), Fernet.generate_key().decode(), Fernet.generate_key().decode()


def create(operator, actor, name="Payter – main", api_key=API_KEY):
    return services.credential_create(operator=operator, actor=actor, platform="payter", name=name,
                                      values={"api_key": api_key, "terminal_id": "P68D0042137",
                                              "environment": "test"})


def raw_row(table, pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])  # noqa: S608 - fixed table names
        row = cursor.fetchone()
    assert row is not None
    return repr(row)


def raw_token(pk, field="api_key"):
    import json

    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM credentials_credential WHERE id = %s", [pk])
        value = cursor.fetchone()[0]
    return (json.loads(value) if isinstance(value, str) else value)[field]


def substrings(secret, n=6):
    return {secret[i:i + n] for i in range(len(secret) - n + 1)}


@pytest.fixture
def manager(operator):
    return member(operator, Role.MANAGER)


def test_raw_database_row_holds_no_plaintext_secret(operator, manager):
    credential = create(operator, manager)
    row = raw_row("credentials_credential", credential.pk)
    assert "P68D0042137" in row  # the non-secret field is stored plainly
    assert API_KEY not in row
    # not even a fragment longer than the four characters the list may show
    assert not [s for s in substrings(API_KEY) if s in row]
    assert raw_token(credential.pk).startswith("gAAAA")  # a Fernet token
    assert services.credential_secrets(operator=operator, credential_id=credential.pk) == {"api_key": API_KEY}


def test_audit_events_never_hold_the_secret(operator, manager):
    credential = create(operator, manager)
    services.credential_update(operator=operator, actor=manager, credential_id=credential.pk,
                               name=credential.name, values=credential.values,
                               replacements={"api_key": API_KEY + "NEW"})
    services.credential_delete(operator=operator, actor=manager, credential_id=credential.pk)
    events = list(AuditEvent.objects.filter(operator=operator, item_type="credential").order_by("created_at"))
    assert [e.verb for e in events] == ["credential.created", "credential.secret_replaced", "credential.deleted"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM portal_auditevent WHERE operator_id = %s", [operator.pk])
        rows = repr(cursor.fetchall())
    assert "credential.deleted" in rows
    assert not [s for s in substrings(API_KEY) if s in rows]
    assert events[0].changes["api_key"] == {"before": None, "after": "[redacted]"}
    assert events[1].changes == {"api_key": {"before": "[redacted]", "after": "[redacted]"}}
    assert events[2].changes["api_key"] == {"before": "[redacted]", "after": None}


def test_each_secret_is_its_own_token_and_keeps_when_not_replaced(operator, manager):
    credential = services.credential_create(
        operator=operator, actor=manager, platform="economic", name="Books",
        values={"app_secret_token": "AppSecret0123456789abcdef", "agreement_grant_token": "Grant_0123456789-abcdefgh"})
    before = dict(credential.secrets)
    services.credential_update(operator=operator, actor=manager, credential_id=credential.pk, name="Books",
                               values={}, replacements={"agreement_grant_token": "Grant_9876543210-zyxwvuts"})
    credential.refresh_from_db()
    assert credential.secrets["app_secret_token"] == before["app_secret_token"]
    assert credential.secrets["agreement_grant_token"] != before["agreement_grant_token"]
    assert services.credential_secrets(operator=operator, credential_id=credential.pk) == {
        "app_secret_token": "AppSecret0123456789abcdef", "agreement_grant_token": "Grant_9876543210-zyxwvuts"}
    assert credential.secret_hints["agreement_grant_token"] == "••••vuts"


def test_rotation_reencrypts_and_the_old_key_alone_can_no_longer_read(operator, manager, settings):
    settings.CREDENTIALS_ENCRYPTION_KEYS = [KEY_A]
    first = create(operator, manager)
    second = create(operator, manager, name="Second", api_key=API_KEY[::-1])
    old_tokens = {first.pk: raw_token(first.pk), second.pk: raw_token(second.pk)}
    updated_at = Credential.objects.get(pk=first.pk).updated_at

    settings.CREDENTIALS_ENCRYPTION_KEYS = [KEY_B, KEY_A]  # new key in front, old kept for reading
    out = _rotate()
    assert "Re-encrypted 2 secret(s) in 2 credential(s)" in out
    for pk in old_tokens:
        assert raw_token(pk) != old_tokens[pk]

    settings.CREDENTIALS_ENCRYPTION_KEYS = [KEY_B]  # the new key alone reads everything
    assert services.credential_secrets(operator=operator, credential_id=first.pk) == {"api_key": API_KEY}
    assert services.credential_secrets(operator=operator, credential_id=second.pk) == {"api_key": API_KEY[::-1]}
    settings.CREDENTIALS_ENCRYPTION_KEYS = [KEY_A]  # the old key alone no longer can
    with pytest.raises(crypto.Undecryptable):
        services.credential_secrets(operator=operator, credential_id=first.pk)

    # rotation is not a user's change, and it is audited without secrets (actor "system")
    assert Credential.objects.get(pk=first.pk).updated_at == updated_at
    events = AuditEvent.objects.filter(verb="credential.reencrypted")
    assert events.count() == 2
    assert {e.actor_label for e in events} == {"system"}
    assert all(e.changes["api_key"] == {"before": "[redacted]", "after": "[redacted]"} for e in events)


def test_rotation_is_idempotent(operator, manager, settings):
    settings.CREDENTIALS_ENCRYPTION_KEYS = [KEY_A]
    credential = create(operator, manager)
    settings.CREDENTIALS_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    _rotate()
    token = raw_token(credential.pk)
    out = _rotate()
    assert "Re-encrypted 0 secret(s) in 0 credential(s); 1 credential(s) already used the newest key" in out
    assert raw_token(credential.pk) == token
    assert AuditEvent.objects.filter(verb="credential.reencrypted").count() == 1


def test_rotation_dry_run_writes_nothing(operator, manager, settings):
    settings.CREDENTIALS_ENCRYPTION_KEYS = [KEY_A]
    credential = create(operator, manager)
    token = raw_token(credential.pk)
    settings.CREDENTIALS_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    assert "Would re-encrypt 1 secret(s) in 1 credential(s)" in _rotate("--dry-run")
    assert raw_token(credential.pk) == token
    assert not AuditEvent.objects.filter(verb="credential.reencrypted").exists()


def test_rotation_reports_what_no_key_can_read_and_rotates_the_rest(operator, manager, settings):
    settings.CREDENTIALS_ENCRYPTION_KEYS = [KEY_C]
    lost = create(operator, manager, name="Lost")
    settings.CREDENTIALS_ENCRYPTION_KEYS = [KEY_A]
    fine = create(operator, manager, name="Fine")
    lost_token = raw_token(lost.pk)
    settings.CREDENTIALS_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    with pytest.raises(CommandError, match=rf"could not be decrypted with any configured key \(ids {lost.pk}\)"):
        _rotate()
    assert raw_token(lost.pk) == lost_token
    settings.CREDENTIALS_ENCRYPTION_KEYS = [KEY_B]
    assert services.credential_secrets(operator=operator, credential_id=fine.pk) == {"api_key": API_KEY}


def test_rotation_without_a_key_stops_with_a_clear_error(settings, db):
    settings.CREDENTIALS_ENCRYPTION_KEYS = []
    with pytest.raises(CommandError, match="no encryption key is configured"):
        _rotate()


def test_generate_key_prints_a_usable_key():
    key = _rotate("--generate-key").strip()
    Fernet(key.encode())  # raises when not a valid key
    assert len(key) == 44


def _rotate(*args) -> str:
    import io

    out = io.StringIO()
    call_command("rotate_credentials_key", *args, stdout=out)
    return out.getvalue()


def test_missing_key_refuses_to_encrypt_with_a_clear_message(operator, manager, settings):
    settings.CREDENTIALS_ENCRYPTION_KEYS = []
    with pytest.raises(crypto.KeyUnavailable, match="no encryption key is configured"):
        create(operator, manager)
    assert not Credential.objects.exists()
    assert not AuditEvent.objects.filter(item_type="credential").exists()


@pytest.mark.parametrize("keys,message", [
    ([], "no encryption key is configured"),
    (["not-a-fernet-key"], "key number 1"),
    ([KEY_A, "x" * 44], "key number 2"),
])
def test_check_framework_warns_about_unusable_keys(settings, keys, message):
    settings.CREDENTIALS_ENCRYPTION_KEYS = keys
    found = [m for m in checks.run_checks() if m.id == "credentials.W001"]
    assert len(found) == 1 and found[0].level == checks.WARNING
    assert message in found[0].msg
    assert all(k not in found[0].msg for k in keys if k)  # never prints a key


def test_check_framework_is_quiet_with_good_keys(settings):
    settings.CREDENTIALS_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    assert not [m for m in checks.run_checks() if m.id.startswith("credentials.")]


def test_check_framework_warns_about_the_development_key_outside_debug(settings):
    settings.CREDENTIALS_ENCRYPTION_KEYS = [crypto.DEVELOPMENT_KEY]
    settings.DEBUG = False
    settings.TESTING = False
    assert [m.id for m in checks.run_checks() if m.id.startswith("credentials.")] == ["credentials.W002"]


def test_settings_derive_the_development_key_when_unset():
    if os.environ.get("CREDENTIALS_ENCRYPTION_KEYS"):
        pytest.skip("CREDENTIALS_ENCRYPTION_KEYS is set in this environment")
    assert django_settings.CREDENTIALS_ENCRYPTION_KEYS == [crypto.DEVELOPMENT_KEY]
    assert crypto.key_problem() is None
