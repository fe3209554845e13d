"""Access expiry: the exact instant on every request, and the daily job (reminders once each)."""
import os
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from members import services, tasks
from members.models import Membership, MembershipNotice
from portal.models import AuditEvent
from portal.permissions import Role
from tests.factories import OperatorFactory, member

pytestmark = pytest.mark.django_db


def test_access_allowed_one_second_before_and_404_one_second_after(operator, login):
    expires = timezone.now().replace(microsecond=0) + timedelta(days=3)
    user = member(operator, Role.SUPPORTER, expires_at=expires)
    client = login(user)
    with time_machine.travel(expires - timedelta(seconds=1), tick=False):
        assert client.get(f"/o/{operator.slug}/members/").status_code == 200
    with time_machine.travel(expires, tick=False):  # access ends at the exact instant
        assert client.get(f"/o/{operator.slug}/members/").status_code == 404
    with time_machine.travel(expires + timedelta(seconds=1), tick=False):
        assert client.get(f"/o/{operator.slug}/members/").status_code == 404
        assert client.get(f"/o/{operator.slug}/").status_code == 404



@pytest.fixture
def setup(operator, admin, django_capture_on_commit_callbacks):
    expires = timezone.now() + timedelta(days=10)
    user = member(operator, Role.SUPPORTER, expires_at=expires, user__email="carl@example.test",
                  user__name="Carl Contractor")
    second_admin = member(operator, Role.ADMIN, user__email="second-admin@example.test")
    member(operator, Role.MANAGER, user__email="manager@example.test")
    return {"expires": expires, "user": user, "capture": django_capture_on_commit_callbacks,
            "admins": {admin.email, second_admin.email}}


def run_job(capture, at):
    with time_machine.travel(at, tick=False), capture(execute=True):
        return tasks.process_membership_expiry.apply().get()


def recipients():
    return sorted(address for m in mail.outbox for address in m.to)


def test_reminders_7_and_1_day_before_once_each(setup):
    expires, capture, user = setup["expires"], setup["capture"], setup["user"]
    assert run_job(capture, expires - timedelta(days=8)) == {"expired": 0, "reminders": 0}
    assert mail.outbox == []

    assert run_job(capture, expires - timedelta(days=6, hours=23)) == {"expired": 0, "reminders": 1}
    assert recipients() == sorted([user.email, *setup["admins"]])  # not the manager
    member_mail = next(m for m in mail.outbox if m.to == [user.email])
    assert "Your access to" in member_mail.subject and "ask an Admin" in member_mail.body
    assert any("Carl Contractor's access" in m.subject for m in mail.outbox)

    sent = len(mail.outbox)
    assert run_job(capture, expires - timedelta(days=6, hours=22)) == {"expired": 0, "reminders": 0}
    assert run_job(capture, expires - timedelta(days=2)) == {"expired": 0, "reminders": 0}
    assert len(mail.outbox) == sent  # run twice: mails once

    assert run_job(capture, expires - timedelta(hours=23))["reminders"] == 1
    assert len(mail.outbox) == 2 * sent
    assert run_job(capture, expires - timedelta(hours=22))["reminders"] == 0
    assert len(mail.outbox) == 2 * sent
    assert set(MembershipNotice.objects.values_list("kind", flat=True)) == {"reminder_7d", "reminder_1d"}


def test_short_notice_sends_one_reminder_not_two(setup):
    capture, expires = setup["capture"], setup["expires"]
    assert run_job(capture, expires - timedelta(hours=12))["reminders"] == 1
    assert len(mail.outbox) == 3  # member + two admins, once
    assert run_job(capture, expires - timedelta(hours=11))["reminders"] == 0
    assert len(mail.outbox) == 3


def test_expiry_reached_is_recorded_once_with_a_system_event(setup, operator):
    capture, expires, user = setup["capture"], setup["expires"], setup["user"]
    assert run_job(capture, expires + timedelta(seconds=1))["expired"] == 1
    assert run_job(capture, expires + timedelta(days=1))["expired"] == 0
    event = AuditEvent.objects.get(verb="membership.expiry_reached")
    assert event.actor is None and event.actor_label == "system" and event.operator == operator
    assert user.email in event.item_repr or user.name in event.item_repr
    assert Membership.objects.get(user=user).expires_at == expires  # the row stays: Extend re-enables it


def test_extended_membership_gets_fresh_reminders(setup, admin, operator):
    capture, expires, user = setup["capture"], setup["expires"], setup["user"]
    run_job(capture, expires - timedelta(days=6))
    m = Membership.objects.get(user=user)
    new_expiry = expires + timedelta(days=30)
    services.membership_update(operator=operator, actor=admin, membership_id=m.pk, role=m.role, expires_at=new_expiry)
    mail.outbox.clear()
    assert run_job(capture, new_expiry - timedelta(days=6))["reminders"] == 1
    assert len(mail.outbox) == 3


def test_beat_schedule_runs_the_task_daily():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["members-expiry-daily"]
    assert entry["task"] == tasks.process_membership_expiry.name
    assert entry["schedule"].remaining_estimate(timezone.now()) <= timedelta(days=1)


@pytest.mark.celery_worker
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (a real broker)")
@pytest.mark.django_db(transaction=True)
def test_reminder_task_through_a_real_celery_worker():
    from celery.contrib.testing.worker import start_worker

    from portal.celery import app

    operator = OperatorFactory()
    member(operator, Role.ADMIN)
    member(operator, Role.SUPPORTER, expires_at=timezone.now() + timedelta(days=3))
    with start_worker(app, pool="solo", perform_ping_check=False):
        first = tasks.process_membership_expiry.delay().get(timeout=30)
        second = tasks.process_membership_expiry.delay().get(timeout=30)
    assert first == {"expired": 0, "reminders": 1} and second == {"expired": 0, "reminders": 0}
    assert len(mail.outbox) == 2  # the member and the Admin, once
