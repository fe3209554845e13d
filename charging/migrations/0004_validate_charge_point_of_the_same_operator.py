from django.db import migrations


def validate(apps, schema_editor):
    """Check the existing charges against the key 0003 added (its own transaction, so that the
    lock of 0003 is gone: VALIDATE lets inserts and updates go on while it reads). A charge on
    another operator's charge point stops the deploy here, with the constraint's name."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE charging_charge VALIDATE CONSTRAINT charge_point_of_operator")


class Migration(migrations.Migration):

    dependencies = [("charging", "0003_charge_point_of_the_same_operator")]

    operations = [migrations.RunPython(validate, migrations.RunPython.noop)]
