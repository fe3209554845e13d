"""django-allauth hooks: a sign-up through an invitation link, and a verified email address."""
from allauth.account.signals import email_confirmed, user_signed_up
from django.contrib import messages
from django.dispatch import receiver

from members import services
from members.forms import SESSION_KEY
from portal.errors import DomainError


@receiver(user_signed_up, dispatch_uid="members.invitation_signup")
def accept_invitation_after_signup(sender, request, user, **kwargs):
    pending = request.session.pop(SESSION_KEY, None) if request is not None else None
    if not pending:
        return
    try:
        membership = services.invitation_signup_completed(
            invitation_id=pending["id"], token_hash=pending["token_hash"], user=user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return
    if membership is not None:
        messages.success(request, f"Welcome to {membership.operator.name}: you joined as "
                                  f"{membership.get_role_display()}.")
    else:
        messages.info(request, "Verify your email address to join the operator that invited you.")


@receiver(email_confirmed, dispatch_uid="members.invitation_email_verified")
def accept_invitations_after_verification(sender, request, email_address, **kwargs):
    for membership in services.invitation_email_verified(user=email_address.user, email=email_address.email):
        if request is not None:
            messages.success(request, f"Welcome to {membership.operator.name}: you joined as "
                                      f"{membership.get_role_display()}.")
