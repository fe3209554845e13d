import secrets

from django.db import migrations


def versions(apps, schema_editor):
    """Every operator that has rollups already gets a version, so that its list totals are cached
    from now on (a version only has to change when the rows do, from here)."""
    Operator = apps.get_model("operators", "Operator")
    RollupVersion = apps.get_model("dashboards", "RollupVersion")
    have = set(RollupVersion.objects.values_list("operator_id", flat=True))
    RollupVersion.objects.bulk_create(RollupVersion(operator_id=pk, version=secrets.randbits(60))
                                      for pk in Operator.objects.values_list("pk", flat=True) if pk not in have)


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0005_rollup_version"), ("operators", "0004_operator_einvoice_by_email")]

    operations = [migrations.RunPython(versions, migrations.RunPython.noop)]
