from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from credentials import catalogue, crypto, selectors, services
from credentials.forms import CredentialForm
from portal.errors import DomainError
from portal.forms import posted
from portal.tenancy import operator_view


def _list_url(request):
    return reverse("credentials:list", args=[request.operator.slug])


def _unavailable(request, message):
    """The credentials pages' answer when no usable key is configured: a clear page, 503 (the
    service is unavailable on this server), the rest of the portal unaffected."""
    return render(request, "credentials/unavailable.html", {"message": message, "tab": "credentials"},
                  status=503)


def _get_credential(request, credential_id):
    credential = selectors.credential(operator=request.operator, credential_id=credential_id)
    if credential is None:
        raise Http404("No such credentials")
    return credential


@operator_view(GET="credentials:read")
def credential_list(request):
    credentials = list(selectors.credentials_for(operator=request.operator))
    return render(request, "credentials/list.html", {
        "credentials": credentials,
        "key_problem": crypto.key_problem(),
        "unreadable": selectors.unreadable_secrets(credentials=credentials),
        "can_write": "credentials:write" in request.operator_perms,
        "tab": "credentials",
    })


@operator_view(GET="credentials:write")
def select_platform(request):
    problem = crypto.key_problem()
    if problem:
        return _unavailable(request, problem)
    return render(request, "credentials/select_platform.html",
                  {"categories": catalogue.by_category(), "tab": "credentials"})


@operator_view(GET="credentials:write", POST="credentials:write")
def credential_new(request, platform):
    entry = catalogue.get(platform)
    if entry is None:
        raise Http404("No such platform")
    problem = crypto.key_problem()
    if problem:
        return _unavailable(request, problem)
    form = CredentialForm(posted(request), platform=entry, initial={"name": entry.name})
    if request.method == "POST" and form.is_valid():
        try:
            credential = services.credential_create(
                operator=request.operator, actor=request.user, platform=entry.slug,
                name=form.cleaned_data["name"], values=form.values,
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(request, f"Credentials “{credential.name}” for {entry.name} saved.")
            return redirect(_list_url(request))
    return render(request, "credentials/form.html", {"form": form, "platform": entry, "tab": "credentials"},
                  status=400 if form.errors else 200)


@operator_view(GET="credentials:read", POST="credentials:write")
def credential_edit(request, credential_id):
    credential = _get_credential(request, credential_id)
    entry = credential.platform_entry
    problem = crypto.key_problem()
    if problem:
        return _unavailable(request, problem)
    if entry is None:
        messages.error(request, f"The platform “{credential.platform}” is no longer offered: these "
                                "credentials can only be deleted.")
        return redirect(_list_url(request))
    form = CredentialForm(posted(request), platform=entry, credential=credential)
    if request.method == "POST" and form.is_valid():
        try:
            changes = services.credential_update(
                operator=request.operator, actor=request.user, credential_id=credential.pk,
                name=form.cleaned_data["name"], values=form.values, replacements=form.replacements,
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            if not changes:
                messages.info(request, "Nothing changed.")
            elif form.replacements:
                messages.success(request, f"Credentials “{form.cleaned_data['name']}” saved; "
                                          f"{len(form.replacements)} secret(s) replaced.")
            else:
                messages.success(request, f"Credentials “{form.cleaned_data['name']}” saved.")
            return redirect(_list_url(request))
    return render(request, "credentials/form.html", {
        "form": form, "platform": entry, "credential": credential, "tab": "credentials",
        "unreadable": [entry.field(n).label for n in credential.unreadable_secrets() if n in
                       {f.name for f in entry.fields}],
        "can_write": "credentials:write" in request.operator_perms,
    }, status=400 if form.errors else 200)


@operator_view(GET="credentials:write", POST="credentials:write")
def credential_delete(request, credential_id):
    credential = _get_credential(request, credential_id)
    if request.method == "POST":
        try:
            services.credential_delete(operator=request.operator, actor=request.user, credential_id=credential.pk)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Credentials “{credential.name}” deleted.")
        return redirect(_list_url(request))
    return render(request, "credentials/delete.html", {"credential": credential, "tab": "credentials"})
