"""The audit log's rows as HTML, built here rather than by a template loop (two date filters and
the changes' loop per row were a third of the page at 200 000 events). The output is the HTML the
template loop wrote (tests/portal/test_audit_log.py renders both)."""
from html import escape as html_escape

from django.template import Context
from django.template.base import render_value_in_context
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

from portal.models import AuditEvent

_ACTIONS = dict(AuditEvent.Action.choices)


def _e(value) -> str:
    return html_escape(str(value))


def audit_rows(events) -> str:
    months = {n: str(m).title() for n, m in MONTHS_3.items()}  # (in the active language)
    tz = timezone.get_current_timezone()
    context = Context(autoescape=True)  # values as {{ value }} writes them (localized, escaped)
    rows = []
    for e in events:
        local = e.created_at.astimezone(tz)
        changes = []
        for field, change in (e.changes or {}).items():
            before, after = change.get("before"), change.get("after")
            changes.append(
                f'<div class="change"><span class="field">{_e(field)}</span> '
                + (f'<span class="before">{render_value_in_context(before, context)}</span>' if before is not None else "")
                + (" → " if before is not None and after is not None else "")
                + (f'<span class="after">{render_value_in_context(after, context)}</span>' if after is not None else "")
                + "</div>")
        rows.append(
            f"<tr><td>{local.day} {months[local.month]} {local.year} "
            f'<span class="nowrap">{local:%H:%M:%S}</span>'
            f'<span class="muted mono tiny event-id" title="Event id {_e(e.id)}">{_e(e.id)}</span></td>'
            f"<td>{_e(e.actor_label)}</td>"
            f'<td><span class="badge {_e(e.action)}">{_e(_ACTIONS.get(e.action, e.action))}</span>'
            + (f'<div class="muted tiny">{_e(e.verb)}</div>' if e.verb else "") + "</td>"
            f"<td><strong>{_e(capfirst(e.item_type))}</strong> {_e(e.item_repr)}"
            + (f'<div class="muted tiny">in {_e(e.parent_type)} {_e(e.parent_repr)}</div>' if e.parent_type else "")
            + "</td>"
            f"<td>{''.join(changes)}</td>"
            f'<td class="mono">{_e(e.ip_address or "—")}</td></tr>')
    if not rows:
        rows.append('<tr><td colspan="6" class="muted">No events match these filters.</td></tr>')
    return mark_safe("\n".join(rows))
