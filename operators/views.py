from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from operators import selectors, services
from operators.forms import BankAccountForm, SettingsForm
from portal.errors import DomainError
from portal.forms import posted
from portal.tenancy import operator_view


def _overview_url(request, anchor=""):
    return reverse("operators:overview", args=[request.operator.slug]) + anchor


@operator_view(GET="overview:read")
def overview(request):
    operator = request.operator
    context = {
        "overview": selectors.operator_overview(operator=operator),
        "settings_form": SettingsForm(instance=operator) if "settings:write" in request.operator_perms else None,
        "tab": "overview",
    }
    if "payouts:read" in request.operator_perms:
        from payouts.services import next_payout

        context["next_payout"] = next_payout(operator)
    if "bank_accounts:read" in request.operator_perms:
        context["bank_accounts"] = selectors.bank_accounts(operator=operator).select_related("created_by")
    return render(request, "operators/overview.html", context)


@operator_view(GET="settings:read", POST="settings:write")
def settings_edit(request):
    operator = request.operator
    # A ModelForm writes cleaned values onto its instance: validate a fresh copy, so an invalid
    # POST leaves the request's operator (and the database) untouched.
    instance = type(operator).objects.get(pk=operator.pk) if request.method == "POST" else operator
    form = SettingsForm(posted(request), instance=instance)
    if request.method == "POST":
        if form.is_valid():
            changes = services.operator_update_settings(
                operator=operator, actor=request.user,
                data={f: form.cleaned_data[f] for f in form.Meta.fields},
            )
            messages.success(request, "Settings saved." if changes else "Nothing changed.")
            return redirect(_overview_url(request, "#settings"))
        messages.error(request, "Settings were not saved. Please correct the fields marked below.")
    return render(request, "operators/settings.html", {"form": form, "tab": "overview",
                                      "can_edit": "settings:write" in request.operator_perms},
                  status=400 if form.errors else 200)


@operator_view(GET="bank_accounts:read")
def bank_accounts(request):
    accounts = selectors.bank_accounts(operator=request.operator).select_related("created_by")
    return render(request, "operators/bank_accounts.html", {"bank_accounts": accounts, "tab": "overview"})


@operator_view(GET="bank_accounts:read")
def bank_account_detail(request, account_id):
    account = get_object_or_404(
        selectors.bank_accounts(operator=request.operator).select_related("created_by"), pk=account_id
    )
    return render(request, "operators/bank_account_detail.html", {"account": account, "tab": "overview"})


@operator_view(GET="bank_accounts:read", POST="bank_accounts:write")
def bank_account_new(request):
    form = BankAccountForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            account = services.bank_account_create(
                operator=request.operator, actor=request.user, **form.cleaned_data
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(request, f"Bank account {account.masked_iban} added.")
            return redirect(_overview_url(request, "#bank-accounts"))
    return render(request, "operators/bank_account_new.html", {"form": form, "tab": "overview"},
                  status=400 if form.errors else 200)


def _bank_account_action(request, account_id, service, success):
    try:
        service(operator=request.operator, actor=request.user, account_id=account_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect(_overview_url(request, "#bank-accounts"))


@operator_view(POST="bank_accounts:write")
def bank_account_make_default(request, account_id):
    return _bank_account_action(request, account_id, services.bank_account_set_default,
                                "Default payout account changed.")


@operator_view(POST="bank_accounts:write")
def bank_account_delete(request, account_id):
    return _bank_account_action(request, account_id, services.bank_account_delete, "Bank account removed.")
