"""Writes for users, roles and customer profiles."""

from __future__ import annotations

import logging

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from accounts.models import CustomerProfile, User
from accounts.roles import ROLE_PERMISSIONS, Role

logger = logging.getLogger(__name__)


def roles_sync(*, using: str = "default") -> None:
    """Create the role groups and give each exactly its permissions (idempotent)."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role.value)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".", 1)
            permission = (
                Permission.objects.using(using)
                .filter(content_type__app_label=app_label, codename=codename)
                .first()
            )
            # A permission of an app not migrated yet appears on a later post_migrate.
            if permission is not None:
                wanted.append(permission)
        group.permissions.set(wanted)


@transaction.atomic
def user_set_role(*, user: User, role: Role) -> User:
    """Put `user` in exactly one role group; owners may also use /admin/."""
    roles_sync()
    user.groups.remove(*Group.objects.filter(name__in=[r.value for r in Role]))
    user.groups.add(Group.objects.get(name=role.value))
    user.is_staff = role is Role.OWNER
    user.save(update_fields=["is_staff"])
    return user


@transaction.atomic
def customer_profile_claim(*, user: User, email: str) -> CustomerProfile | None:
    """Link the shop's record with this (verified) email address to `user`.

    Callers must only pass an address the user has proven to own. Returns the
    profile the user now has, creating an empty one for a new customer, or None for
    staff and owners.
    """
    if user.groups.filter(name__in=[Role.STAFF.value, Role.OWNER.value]).exists():
        return None
    existing = CustomerProfile.objects.filter(user=user).first()
    if existing is not None:
        return existing
    profile = (
        CustomerProfile.objects.select_for_update()
        .filter(Q(email__iexact=email), user__isnull=True)
        .first()
    )
    if profile is None:
        profile = CustomerProfile.objects.create(user=user, email=email.lower(), name=user.name)
    else:
        profile.user = user
        profile.save(update_fields=["user", "updated_at"])
        logger.info("customer profile %s claimed by user %s", profile.pk, user.pk)
    if not user.groups.filter(name=Role.CUSTOMER.value).exists():
        roles_sync()
        user.groups.add(Group.objects.get(name=Role.CUSTOMER.value))
    return profile
