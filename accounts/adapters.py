from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress

from accounts import services


class AccountAdapter(DefaultAccountAdapter):
    """Claims an imported customer record once its email address is proven."""

    def confirm_email(self, request, email_address: EmailAddress) -> bool:
        confirmed = super().confirm_email(request, email_address)
        if confirmed:
            services.customer_profile_claim(user=email_address.user, email=email_address.email)
        return confirmed

    def post_login(self, request, user, **kwargs):
        # Login by emailed code verifies the address before this point; a password
        # login with an unverified address never reaches here (verification is
        # mandatory), so only verified addresses can claim a record.
        verified = EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
        for email in verified:
            services.customer_profile_claim(user=user, email=email)
        return super().post_login(request, user, **kwargs)
