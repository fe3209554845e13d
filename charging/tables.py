"""The rows of the charges table as HTML, built here rather than by a template loop: 50 rows of
nine cells took the template engine ~60 % of the Charges page (variable look-ups, two {% url %}
and two date filters per row; measured at 1 000 000 charges). The output is the same HTML the
template wrote (tests/charging/test_tables.py renders both)."""
from html import escape as html_escape

from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.safestring import mark_safe

from charging.models import Charge
from portal.money import format_money
from portal.templatetags.portal import state_badge

_TYPES = dict(Charge.Type.choices)


def escape(value) -> str:
    """As django.utils.html.escape (which is html.escape with quotes), without its lazy-string
    wrapper: ~20 000 calls per page otherwise."""
    return html_escape(str(value))


_STATES = dict(Charge.State.choices)


def _when(moment, months, tz) -> str:
    """As the template's date:"j M Y, H:i" in the current time zone (`tz`)."""
    if moment is None:
        return "—"
    local = moment.astimezone(tz)
    return f"{local.day} {months[local.month]} {local.year}, {local:%H:%M}"


def charge_rows(charges, operator, hide_point=False) -> str:
    # the links' prefixes once per table, not a reverse() per row
    charge_url = reverse("charging:charge_detail", args=[operator.slug, 0])[:-2]
    point_url = reverse("charging:charge_point_detail", args=[operator.slug, 0])[:-2]
    months = {n: str(m).title() for n, m in MONTHS_3.items()}  # (in the active language)
    tz = timezone.get_current_timezone()
    badges = {}  # a state's badge, once per table
    rows = []
    for c in charges:
        cells = [f'<td class="nowrap"><a href="{charge_url}{c.pk}/">{_when(c.started_at, months, tz)}</a></td>',
                 f'<td class="nowrap">{_when(c.stopped_at, months, tz)}</td>']
        if not hide_point:
            site = c.charge_point.site
            cells.append(f'<td><a href="{point_url}{c.charge_point_id}/">{escape(c.charge_point.name)}</a>'
                         + (f'<div class="muted tiny">{escape(site.name)}</div>' if site else "") + "</td>")
        cells.append(f"<td>{escape(_TYPES.get(c.type, c.type))}"
                     + (' <span class="badge warn">Credit</span>' if c.credit_of_id else "") + "</td>")
        if c.state not in badges:
            badges[c.state] = state_badge(c.state, _STATES.get(c.state, c.state))
        cells.append(f"<td>{badges[c.state]}"
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


def _around_id(url_name, slug) -> tuple[str, str]:
    """The URL of `url_name` for (slug, id) as the text before and after the id, reversed once."""
    before, _, after = reverse(url_name, args=[slug, 987654321]).rpartition("/987654321/")  # (the id follows the slug)
    return before + "/", "/" + after


def site_rows(sites, operator, *, can_write: bool, csrf_token: str) -> str:
    """The Sites list's rows (as the template loop wrote them, built here for speed: two {% url %}
    and a {% csrf_token %} form per row took half the page)."""
    from django.utils.formats import localize

    slug = operator.slug
    points_url = reverse("charging:charge_point_list", args=[slug])
    edit_url, edit_end = _around_id("charging:site_edit", slug)
    delete_url, delete_end = _around_id("charging:site_delete", slug)
    token = escape(csrf_token)
    rows = []
    for site in sites:
        note = f'<div class="muted tiny">{escape(site.note)}</div>' if site.note else ""
        where = (f"{escape(localize(site.latitude))}, {escape(localize(site.longitude))}"
                 if site.latitude is not None else "—")
        actions = ""
        if can_write:
            actions = (f'<a class="button small secondary" href="{edit_url}{site.pk}{edit_end}">Edit</a>'
                       f'<form method="post" action="{delete_url}{site.pk}{delete_end}" data-confirm="Delete this site?">'
                       f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
                       '<button class="small danger" type="submit">Delete</button></form>')
        rows.append(
            f'<tr><td><a href="{points_url}?site={site.pk}">{escape(site.name)}</a>{note}</td>'
            f"<td>{escape(site.address or '—')}</td>"
            f'<td class="mono">{where}</td>'
            f'<td><span class="badge">{escape(site.get_visibility_display())}</span></td>'
            f'<td class="num">{escape(localize(site.charge_point_count))}</td>'
            f'<td class="actions">{actions}</td></tr>')
    if not rows:
        rows.append('<tr><td colspan="6" class="muted">No sites match.</td></tr>')
    return mark_safe("\n".join(rows))
