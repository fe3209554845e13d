"""Celery tasks of the rollups: thin (ids in, one service call), safe to run twice or never.

No beat schedule is needed: every write marks its operator-days dirty and enqueues
`refresh_rollups` after commit; a task that is lost (broker down, worker killed) only leaves the
marks, which the next task or the next dashboard read (`rollups.ensure_fresh`) works off."""
from celery import shared_task


@shared_task(name="dashboards.refresh_rollups", acks_late=True)
def refresh_rollups(operator_id: int) -> int:
    from dashboards import rollups

    return rollups.ensure_fresh(operator_id)


@shared_task(name="dashboards.prune_access_log")
def prune_access_log() -> int:
    from dashboards import sharing

    return sharing.prune_access_log()
