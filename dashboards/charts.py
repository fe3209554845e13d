"""Charts as server-rendered SVG, and the numbers formatted as the portal formats them.

Why SVG from the server rather than a chart library: the page is complete without JavaScript (a
shared link opened on a locked-down office PC or a wall screen shows its charts), nothing is
downloaded from elsewhere, there is no front-end build to install and pin, and the strict CSP of
public pages needs no exception — the SVG uses presentation attributes, never inline styles or
scripts. Every bar and cell carries a <title>, which browsers show on hover, and the numbers are in
the table beneath each chart anyway. Colours come from a fixed palette that stays readable for the
common colour-vision deficiencies (Okabe–Ito).
"""
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

from django.utils.safestring import mark_safe

from portal.money import format_money

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
NNBSP = "\u202f"
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 760, 260, 64, 36, 12


def _group(n: int) -> str:
    return f"{n:,}".replace(",", NNBSP)


def fmt(value, kind: str, currency: str = "") -> str:
    """A value as the table shows it: thousands with a narrow space, dates as "3 Dec 2026"."""
    if value is None or value == "":
        return "—"
    if kind == "text":
        return str(value)
    if kind == "month":
        return f"{value:%b %Y}"
    if kind == "day":
        return f"{value.day} {value:%b %Y}"
    if kind == "money":
        return format_money(Decimal(value), currency) if currency else f"{Decimal(value):.2f}"
    if kind == "pct":
        return f"{Decimal(value):.1f}{NNBSP}%"
    if kind == "kwh":
        whole, _, frac = f"{Decimal(value).quantize(Decimal('0.1')):f}".partition(".")
        sign = "-" if whole.startswith("-") else ""
        return f"{sign}{_group(abs(int(whole)))}.{frac}"
    return _group(int(value))


def csv_value(value, kind: str):
    """A value as the CSV carries it: numbers as numbers (portal.csv writes them plainly, a dot
    for decimals), months as 2026-01, days as ISO dates."""
    if value is None:
        return ""
    if kind == "month":
        return f"{value:%Y-%m}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _nice_max(value) -> Decimal:
    value = Decimal(value)
    if value <= 0:
        return Decimal(1)
    exponent = len(str(int(value))) - 1
    step = Decimal(10) ** exponent
    for m in (1, 2, 2.5, 5, 10):
        if value <= step * Decimal(str(m)):
            return step * Decimal(str(m))
    return step * 10


def _svg(body: list[str], title: str, height: int = HEIGHT) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
            f'aria-label="{escape(title, {chr(34): "&quot;"})}" class="chart" width="100%" '
            f'preserveAspectRatio="xMidYMid meet">' + "".join(body) + "</svg>")


def _axis(body, top_value, kind, currency, plot_h):
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        value = top_value * i / 4
        body.append(f'<line x1="{LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9dee5" stroke-width="1"/>')
        label = fmt(value, "kwh" if kind in ("money", "kwh") and value != int(value) else "int") \
            if kind != "pct" else fmt(value, "pct")
        body.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6572">'
                    f'{escape(label)}</text>')


def bars(chart, x_key: str, x_kind: str, stacked: bool = False, line: bool = False) -> str:
    """Vertical bars (grouped or stacked) or a line over the rows' first column."""
    rows, series = chart.rows, chart.series
    kinds = {c.key: c.fmt for c in chart.columns}
    labels = {c.key: c.label for c in chart.columns}
    plot_h, plot_w = HEIGHT - TOP - BOTTOM, WIDTH - LEFT - 8
    if stacked:
        top = max((sum(Decimal(r[s] or 0) for s in series) for r in rows), default=0)
    else:
        top = max((Decimal(r[s] or 0) for r in rows for s in series), default=0)
    low = min((Decimal(r[s] or 0) for r in rows for s in series), default=0)
    top = _nice_max(max(top, -low if low < 0 else 0))
    body = []
    kind = kinds[series[0]] if series else "int"
    _axis(body, top, kind, chart.currency, plot_h)
    n = max(len(rows), 1)
    slot = plot_w / n
    every = max(1, round(n / 12))
    scale = lambda v: float(Decimal(v or 0) / top) * plot_h  # noqa: E731
    points = []
    for i, row in enumerate(rows):
        x0 = LEFT + i * slot
        if line:
            points.append((x0 + slot / 2, TOP + plot_h - max(scale(row[series[0]]), 0)))
        elif stacked:
            base = 0.0
            for j, s in enumerate(series):
                h = max(scale(row[s]), 0)
                body.append(f'<rect x="{x0 + slot * .12:.1f}" y="{TOP + plot_h - base - h:.1f}" width="{slot * .76:.1f}" '
                            f'height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(fmt(row[x_key], x_kind))}'
                            f' · {escape(labels[s])}: {escape(fmt(row[s], kinds[s], chart.currency))}</title></rect>')
                base += h
        else:
            width = slot * .76 / max(len(series), 1)
            for j, s in enumerate(series):
                h = max(scale(row[s]), 0)
                body.append(f'<rect x="{x0 + slot * .12 + j * width:.1f}" y="{TOP + plot_h - h:.1f}" '
                            f'width="{width:.1f}" height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}">'
                            f'<title>{escape(fmt(row[x_key], x_kind))} · {escape(labels[s])}: '
                            f'{escape(fmt(row[s], kinds[s], chart.currency))}</title></rect>')
        if i % every == 0:
            body.append(f'<text x="{x0 + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11" '
                        f'fill="#5b6572">{escape(_short(row[x_key], x_kind))}</text>')
    if line and points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{PALETTE[0]}" stroke-width="2.5"/>')
        for (x, y), row in zip(points, rows, strict=True):
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{PALETTE[0]}"><title>'
                        f'{escape(fmt(row[x_key], x_kind))}: {escape(fmt(row[series[0]], kind, chart.currency))}'
                        f'</title></circle>')
    return _svg(body, chart.title)


def hbars(chart, label_key: str, limit: int = 12) -> str:
    """Horizontal bars, one per row (the first `limit`), labelled with the row's first column."""
    rows = chart.rows[:limit]
    s = chart.series[0]
    kind = next(c.fmt for c in chart.columns if c.key == s)
    row_h, label_w = 24, 210
    height = max(len(rows), 1) * row_h + 16
    top = _nice_max(max((Decimal(r[s] or 0) for r in rows), default=0))
    body = []
    for i, row in enumerate(rows):
        y = 8 + i * row_h
        w = float(Decimal(row[s] or 0) / top) * (WIDTH - label_w - 90)
        label = str(row[label_key])
        body.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" font-size="12" fill="#1f2933">'
                    f'{escape(label[:32] + ("…" if len(label) > 32 else ""))}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 0):.1f}" height="{row_h - 8}" fill="{PALETTE[0]}">'
                    f'<title>{escape(label)}: {escape(fmt(row[s], kind, chart.currency))}</title></rect>')
        body.append(f'<text x="{label_w + max(w, 0) + 6:.1f}" y="{y + 15}" font-size="12" fill="#5b6572">'
                    f'{escape(fmt(row[s], kind, chart.currency))}</text>')
    return _svg(body, chart.title, height)


def heatmap(chart) -> str:
    """Weekdays × hours; the darker the cell, the higher its share."""
    cell_w, cell_h, left, top = (WIDTH - 50) / 24, 26, 44, 22
    height = top + 7 * cell_h + 6
    body = [f'<text x="{left + h * cell_w + cell_w / 2:.1f}" y="14" text-anchor="middle" font-size="10" '
            f'fill="#5b6572">{h:02d}</text>' for h in range(0, 24, 2)]
    peak = max((Decimal(r[k]) for r in chart.rows for k in chart.series), default=Decimal(0)) or Decimal(1)
    for i, row in enumerate(chart.rows):
        y = top + i * cell_h
        body.append(f'<text x="{left - 6}" y="{y + 17}" text-anchor="end" font-size="11" fill="#1f2933">'
                    f'{escape(row["weekday"])}</text>')
        for h, key in enumerate(chart.series):
            share = Decimal(row[key])
            opacity = float(share / peak) if share else 0.0
            body.append(f'<rect x="{left + h * cell_w:.1f}" y="{y}" width="{cell_w - 2:.1f}" height="{cell_h - 2}" '
                        f'fill="{PALETTE[0]}" fill-opacity="{0.06 + 0.94 * opacity:.2f}"><title>{escape(row["weekday"])} '
                        f'{h:02d}:00–{h + 1:02d}:00: {escape(fmt(share, "pct"))}</title></rect>')
    return _svg(body, chart.title, height)


def _short(value, kind):
    if kind == "month":
        return f"{value:%b %y}"
    if kind == "day":
        return f"{value.day} {value:%b}"
    return str(value)[:10]


def render(chart) -> str:
    """The SVG of a chart, by its style; "" for a chart without rows."""
    if not chart.rows or not chart.series:
        return ""
    first = chart.columns[0]
    if chart.style == "heatmap":
        return heatmap(chart)
    if chart.style == "hbars":
        return hbars(chart, first.key)
    return bars(chart, first.key, first.fmt, stacked=chart.style == "stacked", line=chart.style == "line")


def legend(chart) -> list[str]:
    """The series' names, in their colours' order, when a chart draws more than one."""
    if chart.style not in ("bars", "stacked") or len(chart.series) < 2:
        return []
    labels = {c.key: c.label for c in chart.columns}
    return [labels[s] for s in chart.series]


def table(chart) -> dict:
    """The table beneath a chart: headers, and the body's rows as HTML (numbers right-aligned).
    The body is built here rather than by a template loop: a table of 500 sites is 2 000 cells,
    which the template engine took ~40 ms to render (measured at 10 000 charge points)."""
    numeric = [c.fmt not in ("text", "month", "day") for c in chart.columns]
    opening = ['<td class="num nowrap">' if num else "<td>" for num in numeric]
    body = "".join(
        "<tr>" + "".join(f"{o}{escape(fmt(row[c.key], c.fmt, chart.currency))}</td>"
                         for o, c in zip(opening, chart.columns, strict=True)) + "</tr>"
        for row in chart.rows)
    return {"headers": [(c.label, num) for c, num in zip(chart.columns, numeric, strict=True)], "body": mark_safe(body)}


def csv_header(chart) -> list[str]:
    return [(c.label or c.key) + (f" ({chart.currency})" if c.fmt == "money" and chart.currency else "")
            for c in chart.columns]


def csv_rows(chart):
    for row in chart.rows:
        yield [csv_value(row[c.key], c.fmt) for c in chart.columns]
