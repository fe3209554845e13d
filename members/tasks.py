from celery import shared_task

from members import services


@shared_task(name="members.process_membership_expiry")
def process_membership_expiry() -> dict:
    """Daily (CELERY_BEAT_SCHEDULE): record reached expiries and send the 7-day and 1-day
    reminders. Safe to run twice: each notice is recorded once per membership and expiry date."""
    return services.membership_expiry_run()
