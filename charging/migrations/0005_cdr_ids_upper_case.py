"""CDR ids are OCPI CiStrings (compared without case) and the CDR import now stores them upper
case (`charging.cdr_import._ci_string`). Charges imported before keep matching a re-import: their
ids are upper-cased here, unless the operator already has the upper-case id (then both stay, as
they were; a re-import skips the CDR on the upper-case one)."""
from django.db import migrations
from django.db.models.functions import Upper


def upper_case_imported_ids(apps, schema_editor):
    Charge = apps.get_model("charging", "Charge")
    lower = (Charge.objects.filter(cdr_import__isnull=False).exclude(external_id="")
             .exclude(external_id=Upper("external_id")).values_list("id", "operator_id", "external_id"))
    for pk, operator_id, external_id in lower.iterator(chunk_size=2000):
        if not external_id.isascii():
            continue
        upper = external_id.upper()
        if not Charge.objects.filter(operator_id=operator_id, external_id=upper).exists():
            Charge.objects.filter(pk=pk).update(external_id=upper)


class Migration(migrations.Migration):
    dependencies = [("charging", "0004_validate_charge_point_of_the_same_operator")]

    operations = [migrations.RunPython(upper_case_imported_ids, migrations.RunPython.noop)]
