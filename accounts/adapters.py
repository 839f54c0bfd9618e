from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from django.contrib import messages
from django.utils.translation import gettext as _

from accounts import services


class AccountAdapter(DefaultAccountAdapter):
    """Claims an imported customer record once its email address is proven."""

    def confirm_email(self, request, email_address: EmailAddress) -> bool:
        confirmed = super().confirm_email(request, email_address)
        if confirmed:
            services.customer_profile_claim(user=email_address.user, emails=[email_address.email])
        return confirmed

    def post_login(self, request, user, **kwargs):
        # Login by emailed code verifies the address before this point; a password
        # login with an unverified address never reaches here (verification is
        # mandatory), so only verified addresses can claim a record.
        verified = EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
        services.customer_profile_claim(user=user, emails=list(verified))
        return super().post_login(request, user, **kwargs)


def revoke_unproven_password(sender, request, method, user, **kwargs) -> None:
    """Receiver of allauth's `authentication_step_completed` (see AccountsConfig.ready).

    A sign-in by emailed code proves the mailbox just before allauth marks the address
    verified; it is the only hook that runs while the address is still unverified, so
    a password someone else may have chosen at sign-up can be removed in time.
    """
    email = kwargs.get("email")
    if method != "code" or not email or kwargs.get("reauthenticated"):
        return
    if services.user_unproven_password_revoke(user=user, email=email):
        messages.info(
            request,
            _(
                "For your safety, the password chosen when this account was created has "
                "been removed, because the email address had not been confirmed. You can "
                "set a new password at any time."
            ),
            fail_silently=True,
        )
