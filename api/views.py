"""The API keys page (Operator › API keys): create (the secret shown once), list, revoke."""
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from api import selectors, services
from api.forms import ApiKeyForm
from api.scopes import SCOPES
from portal.errors import DomainError
from portal.forms import posted
from portal.tenancy import operator_view


@operator_view(GET="api_keys:read")
def key_list(request):
    return render(request, "api/keys.html", {
        "keys": selectors.keys(operator=request.operator), "scopes": SCOPES.items(), "tab": "api",
        "can_write": "api_keys:write" in request.operator_perms,
    })


@operator_view(GET="api_keys:write", POST="api_keys:write")
def key_new(request):
    form = ApiKeyForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            new = services.key_create(operator=request.operator, actor=request.user, name=form.cleaned_data["name"],
                                      scopes=form.cleaned_data["scopes"], expires_at=form.cleaned_data["expires_at"])
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            # the secret is in this response only: not in a redirect, the session or a message
            response = render(request, "api/key_created.html", {"key": new.key, "secret": new.secret, "tab": "api"})
            add_never_cache_headers(response)
            return response
    return render(request, "api/key_new.html", {"form": form, "tab": "api"}, status=400 if form.errors else 200)


@operator_view(POST="api_keys:write")
def key_revoke(request, key_id):
    try:
        key = services.key_revoke(operator=request.operator, actor=request.user, key_id=key_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"API key {key.name} revoked: its tokens no longer work.")
    return redirect(reverse("api_keys:list", args=[request.operator.slug]))
