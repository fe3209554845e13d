"""`python manage.py credit_note INV-2026-000123 --reason "…" [--net 100.00] --staff EMAIL`

Platform staff only: cancels an issued invoice with a credit note (series CN) that references it,
in full, or in part with --net (the net amount to credit; only for a paid invoice)."""
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from billing import services
from billing.models import Invoice
from portal.validators import bounded_decimal


class Command(BaseCommand):
    help = "Issue a credit note for an invoice (platform staff)."

    def add_arguments(self, parser):
        parser.add_argument("number", help="The invoice number, e.g. INV-2026-000123.")
        parser.add_argument("--reason", required=True, help="Printed on the credit note.")
        parser.add_argument("--net", help="Credit only this net amount (default: the whole invoice).")
        parser.add_argument("--staff", required=True, metavar="EMAIL", help="The staff user issuing it (audited).")

    def handle(self, *args, number, reason, net=None, staff, **options):
        user = get_user_model().objects.filter(email__iexact=staff, is_staff=True, is_active=True).first()
        if user is None:
            raise CommandError(f"{staff} is not an active platform staff user.")
        invoice = Invoice.objects.filter(number=number, series=Invoice.Series.INVOICE).first()
        if invoice is None:
            raise CommandError(f"No invoice {number}.")
        amount = None
        if net is not None:
            try:  # finite, ASCII digits, bounded (Decimal() alone takes 'NaN', '1e999999999', '٥')
                amount = bounded_decimal(net.strip(), limit_digits=12)
            except ValidationError:
                raise CommandError(f"--net {net!r} is not an amount, e.g. 100.00.") from None
        try:
            cn = services.credit_note_issue(invoice=invoice, actor=user, reason=reason, net=amount)
        except services.DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"{cn.number} credits {invoice.number}: {cn.total} {cn.currency}"))
