"""Two-factor authentication (allauth's TOTP and recovery codes) for the shop's people."""

from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.conf import settings

from accounts.selectors import user_needs_mfa


class MfaAdapter(DefaultMFAAdapter):
    def get_totp_issuer(self) -> str:
        # The name people see next to the code in their authenticator app.
        return settings.SHOP_NAME

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        # Owners must keep their authenticator app; they can set up a new one by
        # generating new recovery codes, never switch the second factor off.
        if authenticator.type == Authenticator.Type.TOTP and user_needs_mfa(
            user=authenticator.user
        ):
            return False
        return super().can_delete_authenticator(authenticator)
