"""Apply a bank status report (pain.002 or camt.054) to the payouts it names."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from payouts import bank_reports
from portal.errors import DomainError


class Command(BaseCommand):
    help = "Mark payouts paid or returned from the bank's pain.002 / camt.054 file."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if path.stat().st_size > bank_reports.MAX_BYTES:
            raise CommandError("The file is larger than 20 MB; a bank status report is much smaller.")
        try:
            result = bank_reports.apply(path.read_bytes())
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(result.summary())
