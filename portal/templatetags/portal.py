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
