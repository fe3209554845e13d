from django import template
from django.urls import reverse

from members.selectors import invitations_for_user

register = template.Library()


@register.inclusion_tag("members/_invitations_notice.html", takes_context=True)
def invitations_notice(context):
    """The notice to accept or decline, shown to a signed-in user with open invitations (one query)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith(reverse("invitations:mine")):
        return {"invitations": []}
    return {"invitations": list(invitations_for_user(user=user))}
