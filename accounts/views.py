from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from accounts.forms import ProfileForm
from portal.forms import posted


@login_required
def my_account(request):
    user = request.user
    form = ProfileForm(posted(request), instance=user)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, "Your account was saved.")
            return redirect("my_account")
        messages.error(request, "Your account was not saved. Please correct the fields marked below.")
    return render(request, "accounts/my_account.html", {
        "form": form,
        "emails": EmailAddress.objects.filter(user=user).order_by("-primary", "email"),
        "authenticators": {a.type for a in Authenticator.objects.filter(user=user)},
    }, status=400 if form.errors else 200)
