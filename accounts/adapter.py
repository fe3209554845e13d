from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """The single extension point for sign-up and sign-in behaviour (see django-allauth)."""

    def clean_email(self, email):
        return super().clean_email(email).lower()
