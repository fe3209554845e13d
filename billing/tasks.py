"""Celery tasks of the monthly close: thin (ids in, one service call), safe to run twice.

`billing.close_month` (Celery beat, 1st of the month 03:00, for the previous month) fans out one
`billing.close_operator_month` per operator; each reports its outcome as its result."""
from celery import shared_task
from django.utils import timezone


@shared_task(name="billing.close_month")
def close_month(period: str | None = None) -> int:
    from billing import pricing
    from operators.models import Operator

    month = pricing.parse_month(period) if period else pricing.previous_month(timezone.localdate())
    ids = list(Operator.objects.order_by("id").values_list("id", flat=True))
    for operator_id in ids:
        close_operator_month.delay(operator_id, month.isoformat()[:7])
    return len(ids)


@shared_task(name="billing.close_operator_month", acks_late=True)
def close_operator_month(operator_id: int, period: str) -> dict:
    from billing import pricing, services
    from operators.models import Operator

    operator = Operator.objects.get(pk=operator_id)
    result = services.close_month(period=pricing.parse_month(period), operators=[operator])[0]
    return {"operator": operator.slug, "period": period, "outcome": result.outcome, "message": result.message,
            "invoice": result.invoice.number if result.invoice else None}


@shared_task(name="billing.send_invoice", acks_late=True)
def send_invoice(invoice_id: int) -> str:
    from billing import services

    return services.invoice_send(invoice_id=invoice_id)
