from django import template

from portal.money import format_money

register = template.Library()


@register.simple_tag
def money(amount, currency):
    return format_money(amount, currency)
