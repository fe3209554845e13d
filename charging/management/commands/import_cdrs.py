"""`python manage.py import_cdrs FILE --operator SLUG`: import OCPI 2.2.1 CDRs from a JSON file."""
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from charging.cdr_import import FileError, parse_file, run_import
from charging.models import CdrImport
from operators.models import Operator


class Command(BaseCommand):
    help = "Import OCPI 2.2.1 CDRs (a JSON list, or an OCPI response with \"data\") for one operator."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the JSON file.")
        parser.add_argument("--operator", required=True, help="The operator's slug.")

    def handle(self, *args, file, operator, **options):
        op = Operator.objects.filter(slug=operator).first()
        if op is None:
            raise CommandError(f"No operator with slug {operator!r}.")
        path = Path(file)
        try:
            records = parse_file(path.read_bytes())
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from None
        except FileError as exc:
            raise CommandError(str(exc)) from None
        cdr_import = CdrImport.objects.create(operator=op, filename=path.name[:255])
        started = time.perf_counter()

        def progress(imp):
            self.stderr.write(f"\r{imp.processed}/{imp.total} processed, {imp.error_count} error(s)", ending="")

        result = run_import(cdr_import=cdr_import, records=records, on_progress=progress)
        elapsed = time.perf_counter() - started
        self.stderr.write("")
        for error in result.errors:
            self.stdout.write(f"record {error['index']} (id {error['id'] or '?'}): {error['reason']}")
        if result.error_count > len(result.errors):
            self.stdout.write(f"… and {result.error_count - len(result.errors)} more error(s).")
        if result.state == CdrImport.State.FAILED:
            raise CommandError(result.message)
        self.stdout.write(self.style.SUCCESS(
            f"{result.total} CDR(s): {result.imported} imported, {result.skipped} already imported, "
            f"{result.error_count} with errors ({elapsed:.1f} s)."))
