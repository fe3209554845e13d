"""Charge points are deleted outright (charging keeps no soft delete). Billing needs the days a
deleted charge point existed in its last month, so each deletion leaves a `ChargePointRemoval`."""
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from billing.models import ChargePointRemoval
from charging.models import ChargePoint


@receiver(post_delete, sender=ChargePoint, dispatch_uid="billing.charge_point_removed")
def charge_point_removed(sender, instance, origin=None, **kwargs):
    from operators.models import Operator

    if isinstance(origin, Operator) or getattr(origin, "model", None) is Operator:
        return  # the operator itself is being deleted
    ChargePointRemoval.objects.create(operator_id=instance.operator_id, charge_point_id=instance.pk,
                                      name=instance.name[:200], evse_id=instance.evse_id,
                                      created_at=instance.created_at, removed_at=timezone.now())
