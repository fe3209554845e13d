from django import template

from charging.tables import charge_point_rows as _charge_point_rows
from charging.tables import charge_rows as _charge_rows
from charging.tables import site_rows as _site_rows

register = template.Library()


@register.simple_tag(takes_context=True)
def charge_rows(context, charges, hide_point=False):
    """The charges table's rows (charging/tables.py)."""
    return _charge_rows(charges, context["current_operator"], hide_point=hide_point)


@register.simple_tag(takes_context=True)
def charge_point_rows(context, points):
    """The charge points list's rows (charging/tables.py)."""
    return _charge_point_rows(points, context["current_operator"])


@register.simple_tag(takes_context=True)
def site_rows(context, sites):
    """The Sites list's rows (charging/tables.py)."""
    from django.middleware.csrf import get_token

    can_write = "charging:write" in context.get("op_perms", ())
    return _site_rows(sites, context["current_operator"], can_write=can_write,
                      csrf_token=get_token(context["request"]) if can_write else "")
