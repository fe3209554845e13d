"""Members & Access (operator pages) and the invited person's pages (accept or decline)."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from members import selectors, services
from members.forms import (
    SESSION_KEY,
    ExtendForm,
    InviteForm,
    MemberFilterForm,
    MemberSettingsForm,
    expiry_date,
    expiry_datetime,
)
from portal.errors import DomainError
from portal.forms import posted
from portal.permissions import role_choices_with_descriptions
from portal.tenancy import operator_view


def mask_email(email: str) -> str:
    """Enough of an address to recognise it, not to harvest it: "a•••n@nordlys.example"."""
    local, _, domain = email.partition("@")
    shown = local[0] + "•••" + (local[-1] if len(local) > 2 else "") if local else "•••"
    return f"{shown}@{domain}"

PAGE_SIZE = 50


def _list_url(request):
    return reverse("members:list", args=[request.operator.slug])


def _base_url(request):
    return request.build_absolute_uri("/")


def _form_error(form, exc: DomainError):
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@operator_view(GET="members:read")
def member_list(request):
    operator = request.operator
    form = MemberFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    members = selectors.member_list(operator=operator, **filters)
    page = Paginator(members, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [(m, selectors.member_status(m, now)) for m in page]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "members/list.html", {
        "tab": "members", "form": form, "page": page, "rows": rows, "query": query.urlencode(),
        "invitations": list(selectors.invitation_list(operator=operator, **filters)),
        "filtered": any(filters.values()), "can_manage": "members:write" in request.operator_perms,
        "now": now, "show_members": filters.get("status") != selectors.STATUS_INVITED,
        "show_invitations": filters.get("status") in (None, "", selectors.STATUS_INVITED),
    }, status=400 if form.errors else 200)


@operator_view(GET="members:write", POST="members:write")
def invite(request):
    operator = request.operator
    form = InviteForm(posted(request), actor_role=request.membership.role)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_create(
                operator=operator, actor=request.user, contact=form.cleaned_data["contact"],
                role=form.cleaned_data["role"], expires_at=expiry_datetime(form.cleaned_data["expires_at"]),
                base_url=_base_url(request))
        except DomainError as exc:
            _form_error(form, exc)
        else:
            if invitation.user_id:
                # Name the account that receives it: phone numbers are not verified, so the Admin
                # must be able to see that the number belongs to the person they mean.
                messages.success(request, f"{invitation.contact} was invited as {invitation.get_role_display()}: "
                                          f"the account of {invitation.user.get_full_name()} "
                                          f"({mask_email(invitation.user.email)}). They get an email and a "
                                          "notice to accept when they sign in.")
            else:
                messages.success(request, f"An invitation to sign up was sent to {invitation.contact} "
                                          f"(link valid for 14 days).")
            return redirect(_list_url(request))
    return render(request, "members/invite.html", {"tab": "members", "form": form,
                                                   "role_choices": role_choices_with_descriptions()},
                  status=400 if form.errors else 200)


@operator_view(GET="members:write", POST="members:write")
def member_settings(request, membership_id):
    operator = request.operator
    member = selectors.member_detail(operator=operator, membership_id=membership_id)
    initial = {"role": member.role, "expires_at": expiry_date(member.expires_at)}
    form = MemberSettingsForm(posted(request), initial=initial, actor_role=request.membership.role)
    if request.method == "POST" and form.is_valid():
        day = form.cleaned_data["expires_at"]
        # An unchanged date keeps the exact expiry instant (it may not be at midnight).
        expires_at = member.expires_at if day == expiry_date(member.expires_at) else expiry_datetime(day)
        try:
            changes = services.membership_update(operator=operator, actor=request.user, membership_id=member.pk,
                                                 role=form.cleaned_data["role"], expires_at=expires_at)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Member settings of {member.user.get_full_name()} saved."
                             if changes else "Nothing changed.")
            return redirect(_list_url(request))
    return render(request, "members/settings.html", {
        "tab": "members", "form": form, "member": member, "status": selectors.member_status(member),
        "role_choices": role_choices_with_descriptions(),
    }, status=400 if form.errors else 200)


@operator_view(POST="members:write")
def member_delete(request, membership_id):
    operator = request.operator
    member = selectors.member_detail(operator=operator, membership_id=membership_id)
    try:
        services.membership_remove(operator=operator, actor=request.user, membership_id=member.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("members:settings", operator.slug, member.pk)
    messages.success(request, f"{member.user.get_full_name()} was removed from {operator.name}.")
    if member.user_id == request.user.pk:
        return redirect("home")
    return redirect(_list_url(request))


@operator_view(GET="members:write", POST="members:write")
def member_extend(request, membership_id):
    operator = request.operator
    member = selectors.member_detail(operator=operator, membership_id=membership_id)
    form = ExtendForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_extend(operator=operator, actor=request.user, membership_id=member.pk,
                                       expires_at=expiry_datetime(form.cleaned_data["expires_at"]))
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Access of {member.user.get_full_name()} extended until "
                                      f"{form.cleaned_data['expires_at']:%d %b %Y}.")
            return redirect(_list_url(request))
    return render(request, "members/extend.html", {
        "tab": "members", "form": form, "member": member, "status": selectors.member_status(member),
    }, status=400 if form.errors else 200)


def _invitation_action(request, invitation_id, action):
    try:
        if action == "resend":
            invitation = services.invitation_resend(operator=request.operator, actor=request.user,
                                                    invitation_id=invitation_id, base_url=_base_url(request))
            messages.success(request, f"The invitation to {invitation.contact} was sent again; the previous "
                                      "link no longer works.")
        else:
            invitation = services.invitation_revoke(operator=request.operator, actor=request.user,
                                                    invitation_id=invitation_id)
            messages.success(request, f"The invitation to {invitation.contact} was revoked.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(_list_url(request) + "#invitations")


@operator_view(POST="members:write")
def invitation_resend(request, invitation_id):
    return _invitation_action(request, invitation_id, "resend")


@operator_view(POST="members:write")
def invitation_revoke(request, invitation_id):
    return _invitation_action(request, invitation_id, "revoke")


# --- the invited person --------------------------------------------------------------------------

def _answer(request, invitation, token_hash=None):
    """Accept or decline (POST field `answer`); returns a response, or None to show the page again."""
    answer = request.POST.get("answer")
    operator = invitation.operator
    try:
        if answer == "accept":
            membership = services.invitation_accept(operator=operator, actor=request.user,
                                                    invitation_id=invitation.pk, token_hash=token_hash)
            messages.success(request, f"Welcome to {operator.name}: you joined as {membership.get_role_display()}.")
            return redirect("operators:overview", operator.slug)
        if answer == "decline":
            services.invitation_decline(operator=operator, actor=request.user, invitation_id=invitation.pk,
                                        token_hash=token_hash)
            messages.success(request, f"You declined the invitation to {operator.name}.")
            return redirect("invitations:mine")
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("invitations:mine")
    return HttpResponseBadRequest("Choose accept or decline.")


@login_required
def my_invitations(request):
    invitations = list(selectors.invitations_for_user(user=request.user))
    return render(request, "members/my_invitations.html", {"invitations": invitations})


@login_required
def invitation_respond(request, invitation_id):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    # Only invitations addressed to this account can be found here.
    invitation = get_object_or_404(selectors.invitations_for_user(user=request.user), pk=invitation_id)
    return _answer(request, invitation)


def invitation_link(request, token):
    """The link from the invitation email."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    invitation = selectors.invitation_by_token(token)
    refusal = services.invitation_refusal(invitation)
    if refusal:
        status = 404 if invitation is None else 410
        return render(request, "members/invitation_link.html", {"refusal": refusal}, status=status)
    user = request.user
    if not user.is_authenticated:
        has_account = invitation.user_id is not None or (
            invitation.email and services.find_user_by_email(invitation.email) is not None)
        if has_account or request.method == "POST":
            messages.info(request, f"Sign in to answer the invitation to {invitation.operator.name}.")
            return redirect_to_login(request.get_full_path())
        # A new address: sign up with it. The link was sent to this address, so opening it proves
        # the address is the visitor's (django-allauth's "verified by invitation" hook).
        from allauth.account.adapter import get_adapter

        get_adapter(request).stash_verified_email(request, invitation.email)
        request.session[SESSION_KEY] = {"id": invitation.pk, "token_hash": invitation.token_hash,
                                        "email": invitation.email}
        messages.info(request, f"Create your account to join {invitation.operator.name} as "
                               f"{invitation.get_role_display()}.")
        return redirect(reverse("account_signup"))
    if not services.invitation_addressed_to(invitation, user):
        return render(request, "members/invitation_link.html", {
            "refusal": f"This invitation was sent to {invitation.contact}, which is not an address or phone "
                       f"number of the account you are signed in with ({user.email}). Sign out and sign in with "
                       "the invited account to accept it.",
            "wrong_account": True,
        }, status=403)
    if request.method == "POST":
        return _answer(request, invitation, token_hash=invitation.token_hash)
    return render(request, "members/invitation_link.html", {"invitation": invitation, "token": token})
