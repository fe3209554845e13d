import os

import pytest
from django.conf import settings

from portal.celery import app
from portal.tasks import health_check

needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL not set: tasks run eagerly")


def test_eager_without_redis_broker_with_redis():
    if os.environ.get("REDIS_URL"):
        assert app.conf.broker_url.startswith("redis://") and not app.conf.task_always_eager
    else:
        assert settings.CELERY_TASK_ALWAYS_EAGER and app.conf.task_always_eager


@pytest.mark.django_db
def test_eager_call_runs_in_process(settings):
    if not app.conf.task_always_eager:
        pytest.skip("a broker is configured; see the real-worker test")
    assert health_check.delay().get() == {"worker": "ok", "database": True}


@needs_redis
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_through_redis():
    from celery.contrib.testing.worker import start_worker

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = health_check.delay()
        assert result.get(timeout=20) == {"worker": "ok", "database": True}
