"""The invoice PDF (WeasyPrint), rendered only from the invoice's issued snapshot (number, dates,
seller and buyer as copied at issue, lines, totals), never from live data, so rendering again gives
the same document. The stylesheet is a file (static/css/invoice-pdf.css), not inline."""
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string

CSS_FILE = Path(settings.BASE_DIR) / "static" / "css" / "invoice-pdf.css"


def invoice_context(invoice) -> dict:
    lines = list(invoice.lines.all())
    return {"invoice": invoice, "lines": lines, "seller": invoice.seller, "buyer": invoice.buyer,
            "breakdown": invoice.details.get("vat_breakdown", [])}


def render_invoice_html(invoice) -> str:
    return render_to_string("billing/invoice_pdf.html", invoice_context(invoice))


def render_invoice_pdf(invoice) -> bytes:
    from weasyprint import CSS, HTML

    html = HTML(string=render_invoice_html(invoice), base_url=str(settings.BASE_DIR))
    return html.write_pdf(stylesheets=[CSS(filename=str(CSS_FILE))])
