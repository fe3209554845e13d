"""The rows of the charges table as HTML, built here rather than by a template loop: 50 rows of
nine cells took the template engine ~60 % of the Charges page (variable look-ups, two {% url %}
and two date filters per row; measured at 1 000 000 charges). The output is the same HTML the
template wrote (tests/charging/test_tables.py renders both)."""
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import escape
from django.utils.safestring import mark_safe

from charging.models import Charge
from portal.money import format_money
from portal.templatetags.portal import state_badge

_TYPES = dict(Charge.Type.choices)
_STATES = dict(Charge.State.choices)


def _when(moment, months) -> str:
    """As the template's date:"j M Y, H:i" in the current time zone."""
    if moment is None:
        return "—"
    local = timezone.localtime(moment)
    return f"{local.day} {months[local.month]} {local.year}, {local:%H:%M}"


def charge_rows(charges, operator, hide_point=False) -> str:
    # the links' prefixes once per table, not a reverse() per row
    charge_url = reverse("charging:charge_detail", args=[operator.slug, 0])[:-2]
    point_url = reverse("charging:charge_point_detail", args=[operator.slug, 0])[:-2]
    months = {n: str(m).title() for n, m in MONTHS_3.items()}  # (in the active language)
    rows = []
    for c in charges:
        cells = [f'<td class="nowrap"><a href="{charge_url}{c.pk}/">{_when(c.started_at, months)}</a></td>',
                 f'<td class="nowrap">{_when(c.stopped_at, months)}</td>']
        if not hide_point:
            site = c.charge_point.site
            cells.append(f'<td><a href="{point_url}{c.charge_point_id}/">{escape(c.charge_point.name)}</a>'
                         + (f'<div class="muted tiny">{escape(site.name)}</div>' if site else "") + "</td>")
        cells.append(f"<td>{escape(_TYPES.get(c.type, c.type))}"
                     + (' <span class="badge warn">Credit</span>' if c.credit_of_id else "") + "</td>")
        cells.append(f"<td>{state_badge(c.state, _STATES.get(c.state, c.state))}"
                     + (f'<div class="muted tiny">{escape(c.failure_reason)}</div>' if c.failure_reason else "")
                     + "</td>")
        cells.append(f'<td class="num">{c.consumed_kwh:.3f}</td>')
        cells.append(f'<td class="num nowrap">{escape(format_money(c.price, c.currency))}</td>')
        cells.append(f'<td class="num nowrap">{escape(format_money(c.vat_amount, c.currency))}</td>')
        cells.append(f'<td class="mono tiny">{escape(c.external_id or "—")}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if not rows:
        rows.append('<tr><td colspan="9" class="muted">No charges.</td></tr>')
    return mark_safe("\n".join(rows))


def charge_point_rows(points, operator) -> str:
    """The charge points list's rows (as the template loop wrote them, built here for speed)."""
    from django.template.defaultfilters import floatformat

    point_url = reverse("charging:charge_point_detail", args=[operator.slug, 0])[:-2]
    rows = []
    for cp in points:
        connectors = ", ".join(escape(str(c)) for c in cp.connectors.all()) or "—"
        max_kw = floatformat(cp.max_kw if cp.max_kw is not None else "—", "-2")
        rows.append(
            f'<tr><td><a href="{point_url}{cp.pk}/">{escape(cp.name)}</a>'
            f'<div class="muted tiny mono">{escape(cp.serial_number)}</div></td>'
            f'<td class="mono">{escape(cp.evse_id or "—")}</td>'
            f'<td>{escape(cp.site.name if cp.site and cp.site.name else "—")}</td>'
            f"<td>{escape(cp.brand_name)} {escape(cp.model_name)}</td>"
            f"<td>{escape(cp.get_type_display())}</td>"
            f'<td class="num">{escape(max_kw)}</td>'
            f'<td class="small">{connectors}</td>'
            f"<td>{escape(cp.get_visibility_display())}</td>"
            f"<td>{state_badge(cp.state, cp.get_state_display())}</td></tr>")
    if not rows:
        rows.append('<tr><td colspan="9" class="muted">No charge points match.</td></tr>')
    return mark_safe("\n".join(rows))
