from django import template
from django.template.loader import get_template
from django.urls import reverse

from members.models import Invitation

register = template.Library()


@register.simple_tag(takes_context=True)
def invitations_notice(context):
    """The notice to accept or decline, shown to a signed-in user with open invitations (one
    query, on every page: the columns the notice shows only, and no template when there is none)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith(reverse("invitations:mine")):
        return ""
    invitations = list(Invitation.objects.for_user(user).select_related("operator")
                       .only("id", "role", "operator__id", "operator__name").order_by("-created_at"))
    if not invitations:
        return ""
    return get_template("members/_invitations_notice.html").render({"invitations": invitations})
