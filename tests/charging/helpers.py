from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from charging.models import Charge, ChargePoint, Connector, Site
from operators.models import WalletTransaction


def make_network(operator, n):
    """n sites, charge points (with a connector each), charges and ledger entries, in bulk."""
    start = Site.objects.filter(operator=operator).count()
    sites = Site.objects.bulk_create(Site(operator=operator, name=f"Site {start + i}") for i in range(n))
    points = ChargePoint.objects.bulk_create(
        ChargePoint(operator=operator, site=sites[i], name=f"CP {start + i}", evse_id=f"DK*TST*N{start + i:07d}")
        for i in range(n))
    Connector.objects.bulk_create(Connector(operator=operator, charge_point=p, identifier="ccs", max_kw=50)
                                  for p in points)
    now = timezone.now()
    Charge.objects.bulk_create(
        Charge(operator=operator, charge_point=points[i], started_at=now - timedelta(hours=i + 2),
               stopped_at=now - timedelta(hours=i + 1), consumed_kwh=Decimal("10"), price=Decimal("50"),
               vat_amount=Decimal("10"), currency=operator.currency, external_id=f"N-{start + i}")
        for i in range(n))
    WalletTransaction.objects.bulk_create(
        WalletTransaction(operator=operator, created_at=now - timedelta(hours=i), group="charge",
                          kind="charge_income", amount=Decimal("50"), currency=operator.currency,
                          reference=f"n:{start + i}")
        for i in range(n))
