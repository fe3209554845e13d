"""Export the pending payouts as pain.001 files (one per currency) and write them to a folder.
`--batch N` writes an earlier batch's file again (the same bytes)."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from payouts import export
from payouts.models import PayoutBatch
from portal.errors import DomainError


class Command(BaseCommand):
    help = "Export pending payouts to ISO 20022 pain.001 files (one per currency)."

    def add_arguments(self, parser):
        parser.add_argument("--out", default=".", help="Folder to write the files to (default: here).")
        parser.add_argument("--currency", help="Only this currency (e.g. EUR).")
        parser.add_argument("--batch", type=int, help="Write the file of this existing batch again.")

    def handle(self, *args, out, currency, batch, **options):
        folder = Path(out)
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        if batch is not None:
            found = PayoutBatch.objects.filter(pk=batch).first()
            if found is None:
                raise CommandError(f"No payout batch {batch}.")
            batches = [found]
        else:
            problems = []
            try:
                batches = ([b for b in [export.export_batch(currency=currency.upper(), problems=problems)] if b]
                           if currency else export.export_all(problems=problems))
            except DomainError as exc:
                raise CommandError(exc.message) from None
            for problem in problems:
                self.stderr.write(problem)
        if not batches:
            self.stdout.write("No pending payouts.")
        for b in batches:
            target = folder / b.filename
            target.write_bytes(bytes(b.xml))
            self.stdout.write(f"{target}: {b.count} payouts, {b.total} {b.currency} ({b.get_scheme_display()})")
