from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.core import context as allauth_context
from allauth.core.internal import ratelimit
from django.contrib import messages
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts import credentials, services
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

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        credentials.remember_password_set_here(request, user)
        return user

    def set_password(self, user, password: str) -> None:
        # Reset links, "change password" and "set password" all end here.
        super().set_password(user, password)
        credentials.remember_password_set_here(allauth_context.request, user)

    def confirm_email(self, request, email_address: EmailAddress) -> bool:
        """Verify the address; claim the shop's record only for whoever holds the login.

        On an account's first proven address, a password is kept only when this browser
        chose it; otherwise it is dropped (ending its sessions) and this browser may
        choose a new one, which is when the record is claimed.
        """
        user = email_address.user
        first_proof = not services.user_has_proven_address(user=user)
        chosen_here = credentials.password_set_here(request, user) or (
            request.user.is_authenticated and request.user.pk == user.pk
        )
        with transaction.atomic():
            if first_proof and not chosen_here:
                services.user_unproven_password_revoke(user=user, email=email_address.email)
            confirmed = super().confirm_email(request, email_address)
            if not confirmed:
                return False
            if first_proof and not chosen_here:
                user.refresh_from_db(fields=["password"])
                credentials.allow_choosing_password(request, user)
            else:
                services.customer_profile_claim(user=user, emails=[email_address.email])
        return True

    def get_email_verification_redirect_url(self, email_address: EmailAddress) -> str:
        request = allauth_context.request
        chooser = credentials.user_who_may_choose_password(request)
        if chooser is not None and chooser.pk == email_address.user_id:
            return reverse("account_choose_password")
        return super().get_email_verification_redirect_url(email_address)

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
    if credentials.password_set_here(request, user):
        # This browser chose the password at sign-up and now proved the mailbox.
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
