from celery import shared_task
from django.db import connection


@shared_task(name="portal.health_check")
def health_check() -> dict:
    """For monitoring the worker: proves it runs, reaches the database and answers through the
    result backend. `celery -A portal call portal.health_check`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (value,) = cursor.fetchone()
    return {"worker": "ok", "database": value == 1}
