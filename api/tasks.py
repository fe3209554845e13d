from celery import shared_task


@shared_task(name="api.prune_tokens")
def prune_tokens() -> int:
    """Access and refresh tokens a day past their expiry deleted (api/services.py)."""
    from api.services import prune_tokens as prune

    return prune()
