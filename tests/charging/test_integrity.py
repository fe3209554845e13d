"""What the database itself refuses, whatever code writes the rows (PostgreSQL constraints)."""
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from charging.models import Charge
from tests.factories import ChargePointFactory, OperatorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the composite foreign key exists on PostgreSQL only")


def insert_charge(operator, charge_point_id):
    now = timezone.now()
    with transaction.atomic():
        Charge.objects.create(operator=operator, charge_point_id=charge_point_id, started_at=now, stopped_at=now,
                              price=Decimal("10.00"), currency="DKK")
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # deferred keys: check now, not at COMMIT


def test_a_charge_on_another_operators_charge_point_is_refused():
    mine, theirs = OperatorFactory(), OperatorFactory()
    their_point = ChargePointFactory(operator=theirs)
    with pytest.raises(IntegrityError, match="charge_point_of_operator"):
        insert_charge(mine, their_point.pk)
    assert not Charge.objects.exists()


def test_a_charge_on_a_missing_charge_point_is_refused():
    with pytest.raises(IntegrityError, match="charge_point_of_operator"):
        insert_charge(OperatorFactory(), 987654321)


def test_a_charge_on_its_operators_charge_point_is_accepted():
    point = ChargePointFactory()
    insert_charge(point.operator, point.pk)
    assert Charge.objects.get().charge_point == point


def test_a_charge_point_with_charges_cannot_move_to_another_operator():
    point = ChargePointFactory()
    insert_charge(point.operator, point.pk)
    with pytest.raises(IntegrityError, match="charge_point_of_operator"), transaction.atomic():
        type(point).objects.filter(pk=point.pk).update(operator=OperatorFactory())
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_an_import_inside_a_transaction_leaves_its_foreign_keys_deferred():
    """The import checks its batches' keys early only in a transaction of its own: inside the
    caller's, `SET CONSTRAINTS ALL IMMEDIATE` would outlast the import."""
    import json

    from charging import cdr_import as importer
    from charging.models import CdrImport
    from tests.charging.cdrs import cdr

    point = ChargePointFactory(evse_id="DK*TST*E00001")
    with transaction.atomic():
        imp = CdrImport.objects.create(operator=point.operator, filename="t.json")
        importer.run_import(cdr_import=imp, records=importer.parse_file(json.dumps([cdr("A", "DK*TST*E00001")])))
        now = timezone.now()
        # a row that breaks a deferred key for a moment, repaired before the end of the transaction
        charge = Charge.objects.create(operator=OperatorFactory(), charge_point=point, started_at=now,
                                       currency="DKK")
        charge.delete()
    assert Charge.objects.filter(operator=point.operator).count() == 1
