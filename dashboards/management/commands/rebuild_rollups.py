from django.core.management.base import BaseCommand, CommandError

from dashboards import rollups
from operators.models import Operator


class Command(BaseCommand):
    help = "Recompute every rollup table from the charges (all operators, or one with --operator)."

    def add_arguments(self, parser):
        parser.add_argument("--operator", metavar="SLUG", help="Only this operator.")

    def handle(self, *args, operator=None, **options):
        operator_id = None
        if operator:
            operator_id = Operator.objects.filter(slug=operator).values_list("id", flat=True).first()
            if operator_id is None:
                raise CommandError(f"No operator with the slug {operator!r}.")
        slugs = dict(Operator.objects.values_list("id", "slug"))
        total = 0
        for op, (days, seconds) in rollups.rebuild(operator_id).items():
            total += days
            self.stdout.write(f"{slugs.get(op, op)}: {days} days rebuilt in {seconds:.2f} s")
        self.stdout.write(self.style.SUCCESS(f"Rollups rebuilt: {total} operator-days."))
