from __future__ import annotations

from datetime import date

from django.utils import timezone

from accounts.models import CustomerProfile, PersonalizationMode, User
from accounts.roles import OWNER_CONSOLE, STAFF_CONSOLE, Role


def user_role(*, user: User) -> Role | None:
    """The user's most powerful role, or None for anonymous visitors."""
    if not user.is_authenticated:
        return None
    if user.has_perm(OWNER_CONSOLE):
        return Role.OWNER
    if user.has_perm(STAFF_CONSOLE):
        return Role.STAFF
    return Role.CUSTOMER


def customer_profile_for_user(*, user: User) -> CustomerProfile | None:
    if not user.is_authenticated:
        return None
    return CustomerProfile.objects.filter(user=user).first()


def effective_mode(*, profile: CustomerProfile, today: date | None = None) -> PersonalizationMode:
    """The mode in force today: a pause whose date has passed has ended by itself."""
    today = today or timezone.localdate()
    mode = PersonalizationMode(profile.personalization_mode)
    if mode is PersonalizationMode.PAUSED and (
        profile.paused_until is None or profile.paused_until < today
    ):
        return PersonalizationMode.ON
    return mode


def user_needs_mfa(*, user: User) -> bool:
    """Owners and anyone who may use /admin/ must sign in with a second factor."""
    if not user.is_authenticated:
        return False
    return user.is_staff or user.is_superuser or user_role(user=user) is Role.OWNER


def user_has_totp(*, user: User) -> bool:
    """Whether the user has an authenticator app (TOTP) set up."""
    from allauth.mfa.models import Authenticator

    if not user.is_authenticated:
        return False
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
