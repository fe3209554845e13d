from django import template

from portal.money import format_money

register = template.Library()


@register.simple_tag
def money(amount, currency):
    return format_money(amount, currency)


_BADGE = {"available": "ok", "completed": "ok", "error": "danger", "disconnected": "danger", "failed": "danger",
          "maintenance": "warn", "busy": "warn", "busy-charging": "warn", "charging": "warn"}


@register.simple_tag
def state_badge(state, label):
    """A state as a coloured badge (a tag, not an include: list pages show 50 of them)."""
    from django.utils.html import format_html

    cls = _BADGE.get(state, "")
    return format_html('<span class="badge{}">{}</span>', f" {cls}" if cls else " ", label)


@register.filter
def grouped(value, decimals=0):
    """A count or quantity with its thousands grouped as amounts are (narrow no-break spaces):
    1 000 000, 34 391 770.2."""
    from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

    if value is None or value == "":
        return "—"
    try:
        number = Decimal(value).quantize(Decimal(1).scaleb(-int(decimals)), rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        return value
    sign = "-" if number < 0 else ""
    whole, _, frac = f"{abs(number):f}".partition(".")
    return f"{sign}{int(whole):,}".replace(",", "\u202f") + (f".{frac}" if frac else "")


@register.simple_tag
def form_fields(form):
    """Every field of `form` as includes/field.html writes it (label, widget, help, errors), built
    here: the include per field took a tenth of a list page for its filter form."""
    from django.utils.html import conditional_escape
    from django.utils.safestring import mark_safe

    out = []
    for field in form:
        optional = "" if field.field.required else ' <span class="optional">(optional)</span>'
        help_text = f'<div class="help">{conditional_escape(field.help_text)}</div>' if field.help_text else ""
        errors = "".join(f'<div class="error" role="alert">{conditional_escape(e)}</div>' for e in field.errors)
        out.append(f'<div class="field{" has-error" if field.errors else ""}">'
                   f'<label for="{conditional_escape(field.id_for_label)}">{conditional_escape(field.label)}{optional}'
                   f"</label>{field}{help_text}{errors}</div>")
    return mark_safe("".join(out))


@register.simple_tag
def audit_rows(events):
    """The audit log's rows (portal/tables.py)."""
    from portal.tables import audit_rows as rows

    return rows(events)
