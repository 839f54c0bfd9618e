from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.core.internal import ratelimit
from django.contrib import messages
from django.utils.translation import gettext as _

from accounts import services
from core.clientip import client_ip

# A cap per account over all client addresses (ACCOUNT_RATE_LIMITS), much higher than
# the per-(account, address) one allauth's "login_failed" key now counts.
LOGIN_FAILED_ACCOUNT = "login_failed_account"


class AccountAdapter(DefaultAccountAdapter):
    """Claims an imported customer record once its email address is proven.

    Also: the client's address comes from core.clientip (the trusted-proxy setting),
    and failed sign-ins are counted per (account, address) so that a stranger's
    guesses lock out the stranger, not the account's owner.
    """

    def get_client_ip(self, request) -> str:
        return client_ip(request)

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        # allauth's key is the account alone; its per-key limit then lets anyone lock
        # a named account. allauth hashes the key, so the address is not stored.
        account = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{account}:{self.get_client_ip(request)}"

    def pre_authenticate(self, request, **credentials) -> None:
        super().pre_authenticate(request, **credentials)
        account = super()._get_login_attempts_cache_key(request, **credentials)
        usage = ratelimit.consume(
            request, app="allauth.account", action=LOGIN_FAILED_ACCOUNT, key=account
        )
        if not usage:
            self._rollback_login_failed_rl_usage()
            raise self.validation_error("too_many_login_attempts")
        # A successful sign-in rolls back both counts (allauth rolls back this usage).
        self._login_failed_rl_usage.usage.extend(usage.usage)

    def _delete_login_attempts_cached_email(self, request, **credentials) -> None:
        # A completed password reset clears the account's counts, as allauth does.
        super()._delete_login_attempts_cached_email(request, **credentials)
        account = super()._get_login_attempts_cache_key(request, **credentials)
        ratelimit.clear(request, app="allauth.account", action=LOGIN_FAILED_ACCOUNT, key=account)

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
