from __future__ import annotations

from accounts.models import CustomerProfile, User
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
