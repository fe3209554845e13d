from celery import shared_task


@shared_task(acks_late=True)
def import_cdrs(import_id: int) -> None:
    """Run a queued CDR import. Safe to run twice: a finished import is left alone, and CDRs
    already imported are skipped."""
    from charging.cdr_import import run_import
    from charging.models import CdrImport

    cdr_import = CdrImport.objects.select_related("operator", "created_by").filter(pk=import_id).first()
    if cdr_import is None or cdr_import.finished:
        return
    run_import(cdr_import=cdr_import, actor=cdr_import.created_by)


@shared_task(name="charging.run_export", acks_late=True)
def run_export(export_id: int) -> None:
    """Prepare a large CSV export (charging/exports.py); safe to deliver twice."""
    from charging.exports import run

    run(export_id)


@shared_task(name="charging.prune_exports")
def prune_exports() -> int:
    from charging.exports import prune

    return prune()
