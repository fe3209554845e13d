"""`python manage.py monthly_close --month 2026-11 [--operator SLUG] [--dry-run]`

Runs the monthly close (billing/services.py) in this process, operator by operator, and prints one
line per operator. Safe to run again: closed operators report "Already closed". Exits with status
1 when any operator failed (the others are still closed)."""
from django.core.management.base import BaseCommand, CommandError

from billing import pricing, services
from operators.models import Operator


class Command(BaseCommand):
    help = "Invoice, number, settle and send the month's invoices (one operator or all)."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="The month to close, YYYY-MM (e.g. 2026-11).")
        parser.add_argument("--operator", metavar="SLUG", help="Only this operator.")
        parser.add_argument("--dry-run", action="store_true", help="Show what would be invoiced; write nothing.")

    def handle(self, *args, month, operator=None, dry_run=False, **options):
        try:
            period = pricing.parse_month(month)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        operators = Operator.objects.order_by("id")
        if operator:
            operators = operators.filter(slug=operator)
            if not operators.exists():
                raise CommandError(f"No operator with slug {operator!r}.")
        try:
            results = services.close_month(period=period, operators=operators, dry_run=dry_run)
        except services.DomainError as exc:
            raise CommandError(exc.message) from None
        failed = 0
        for r in results:
            style = self.style.ERROR if r.outcome == "failed" else (lambda s: s)
            failed += r.outcome == "failed"
            self.stdout.write(style(f"{r.operator.slug:<24} {r.outcome:<10} {r.message}"))
            if dry_run and r.preview is not None:
                for line in r.preview.lines:
                    self.stdout.write(f"    {line.description:<60} {line.net:>12} {r.preview.currency}")
        self.stdout.write(f"{period:%Y-%m}: {len(results)} operator(s), {failed} failed"
                          + (" (dry run: nothing written)" if dry_run else ""))
        if failed:
            raise CommandError(f"{failed} operator(s) failed; see above and the log. Run again to retry them.")
