"""Writes for users, roles and customer profiles."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date

from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiKey, CustomerProfile, PersonalizationMode, User
from accounts.roles import ROLE_PERMISSIONS, Role
from core.errors import ApplicationError
from core.sql import fetch_instance

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
def customer_profile_claim(*, user: User, emails: Iterable[str]) -> CustomerProfile | None:
    """Link the shop's unclaimed record with one of these (verified) addresses to `user`.

    Callers must only pass addresses the user has proven to own. Returns the profile
    the user now has, creating an empty one for a new customer, or None for staff and
    owners.
    """
    if user.is_superuser or user.groups.filter(name__in=[Role.STAFF.value, Role.OWNER.value]):
        return None
    existing = CustomerProfile.objects.filter(user=user).first()
    if existing is not None:
        return existing
    addresses = [email.lower() for email in emails]
    if not addresses:
        return None
    match = Q()
    for email in addresses:
        match |= Q(email__iexact=email)
    profile = (
        CustomerProfile.objects.select_for_update()
        .filter(match, user__isnull=True)
        .order_by("pk")
        .first()
    )
    if profile is None:
        # An address still on another person's record (they changed their login) is
        # not copied: the shop's address book keeps one customer per address.
        email = addresses[0]
        if CustomerProfile.objects.filter(email__iexact=email).exists():
            email = ""
        profile = CustomerProfile.objects.create(user=user, email=email, name=user.name)
    else:
        profile.user = user
        profile.save(update_fields=["user", "updated_at"])
        logger.info("customer profile %s claimed by user %s", profile.pk, user.pk)
    if not user.groups.filter(name=Role.CUSTOMER.value).exists():
        roles_sync()
        user.groups.add(Group.objects.get(name=Role.CUSTOMER.value))
    return profile


@transaction.atomic
def user_upsert_verified(*, email: str, name: str, password: str, role: Role) -> User:
    """Create or update a login the shop sets up itself, with `role` (idempotent).

    Its email address counts as verified and primary, so the person can sign in with
    `password` without the emailed confirmation; the password is reset when it differs.
    Customers are linked to the shop's record with the same email address.
    """
    email = email.lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, name=name)
    else:
        changed = []
        if user.name != name:
            user.name = name
            changed.append("name")
        if not user.check_password(password):
            user.set_password(password)
            changed.append("password")
        if not user.is_active:
            user.is_active = True
            changed.append("is_active")
        if changed:
            user.save(update_fields=changed)
    address, _ = EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    EmailAddress.objects.filter(user=user, primary=True).exclude(pk=address.pk).update(
        primary=False
    )
    if not (address.verified and address.primary):
        address.verified = address.primary = True
        address.save(update_fields=["verified", "primary"])
    user_set_role(user=user, role=role)
    if role is Role.CUSTOMER:
        customer_profile_claim(user=user, emails=[email])
    return user


@transaction.atomic
def customer_profile_set_preferences(
    *,
    profile: CustomerProfile,
    restrictions: list[str] | None = None,
    liked_categories: list[str] | None = None,
) -> CustomerProfile:
    """Replace what the customer said: attribute codes never to recommend, liked categories.

    None leaves that list as it is; duplicates are dropped and the order kept.
    """
    changed = []
    if restrictions is not None:
        profile.restrictions = list(dict.fromkeys(code.strip().lower() for code in restrictions))
        changed.append("restrictions")
    if liked_categories is not None:
        profile.liked_categories = list(dict.fromkeys(liked_categories))
        changed.append("liked_categories")
    if changed:
        profile.save(update_fields=[*changed, "updated_at"])
    return profile


def user_has_proven_address(*, user: User) -> bool:
    """Whether anyone has yet proved they own one of the user's email addresses."""
    return EmailAddress.objects.filter(user=user, verified=True).exists()


@transaction.atomic
def user_unproven_password_revoke(*, user: User, email: str) -> bool:
    """Remove a password that was chosen before anyone proved they own `email`.

    Someone can sign up with another person's address and wait: once the owner proves
    the mailbox (a code sign-in, or the confirmation link opened in a browser other
    than the one that chose the password), the address counts as verified and the
    waiting password would open the owner's history. Call this just before such an
    address becomes verified. Returns whether a password was removed; removing it also
    ends every session opened with it (Django ties sessions to the password hash).
    """
    if EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists():
        return False
    if not user.has_usable_password():
        return False
    user.set_unusable_password()
    user.save(update_fields=["password"])
    logger.info("unproven password of user %s removed when the address was proven", user.pk)
    return True


@transaction.atomic
def user_password_choose(*, user: User, password: str) -> CustomerProfile | None:
    """The password chosen by the person who just proved the account's mailbox.

    Only now may the account claim the shop's record behind its verified addresses:
    the person who proved the mailbox also holds the only credentials. Returns the
    claimed (or new) customer profile, None for staff and owners.
    """
    if not user_has_proven_address(user=user):
        raise ApplicationError(
            _("Confirm your email address first."), code="unverified", field="email"
        )
    user.set_password(password)
    user.save(update_fields=["password"])
    verified = EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True)
    return customer_profile_claim(user=user, emails=list(verified))


def customer_profile_lock(*, profile_id: int, for_delete: bool = False) -> CustomerProfile:
    """Lock the customer's profile row for the rest of the transaction; the fresh row.

    The first lock of every write to a customer's consent, mode or data requests (the
    consent ledger's lock comes second: personalization/consent/locking.py). FOR NO KEY
    UPDATE, so rows that only refer to the customer (events, recommendations) can still
    be written meanwhile; `for_delete` takes FOR UPDATE, which deleting the row needs.
    Raises CustomerProfile.DoesNotExist when the row is gone (erased meanwhile).
    """
    return CustomerProfile.objects.select_for_update(no_key=not for_delete).get(pk=profile_id)


@transaction.atomic
def customer_profile_set_mode(
    *,
    profile: CustomerProfile,
    mode: PersonalizationMode,
    paused_until: date | None = None,
    today: date | None = None,
) -> CustomerProfile:
    """Switch personalization on, pause it until a future date, off, or to none at all."""
    today = today or timezone.localdate()
    if mode is PersonalizationMode.PAUSED:
        if paused_until is None:
            raise ApplicationError(
                _("Choose the date personalization resumes."), code="required", field="paused_until"
            )
        if paused_until <= today:
            raise ApplicationError(
                _("The resume date must be in the future."), code="past_date", field="paused_until"
            )
    else:
        paused_until = None
    # The row first, as every consent write does: a mode change inside an objection
    # keeps the one lock order.
    customer_profile_lock(profile_id=profile.pk)
    profile.personalization_mode = mode.value
    profile.paused_until = paused_until
    profile.save(update_fields=["personalization_mode", "paused_until", "updated_at"])
    return profile


def _api_key_hash(key: str) -> str:
    import hashlib

    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *, name: str, scopes: Iterable[str], created_by: User | None = None
) -> tuple[ApiKey, str]:
    """Create a key for one of the shop's systems; the plain key is returned only here."""
    import secrets

    from accounts.models import ApiScope

    scopes = list(dict.fromkeys(scopes))
    unknown = [scope for scope in scopes if scope not in ApiScope.values]
    if unknown:
        raise ApplicationError(
            _("Unknown scope(s): %(scopes)s. Known: %(known)s.")
            % {"scopes": ", ".join(unknown), "known": ", ".join(ApiScope.values)},
            code="unknown_scope",
            field="scopes",
        )
    if not scopes:
        raise ApplicationError(
            _("Give the key at least one scope."), code="required", field="scopes"
        )
    name = name.strip()
    if not name:
        raise ApplicationError(_("Give the key a name."), code="required", field="name")
    if ApiKey.objects.filter(name=name).exists():
        raise ApplicationError(
            _("A key named '%(name)s' already exists.") % {"name": name},
            code="duplicate",
            field="name",
        )
    key = f"fs_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        name=name,
        prefix=key[:10],
        key_hash=_api_key_hash(key),
        scopes=scopes,
        created_by=created_by,
    )
    return api_key, key


def api_key_authenticate(*, key: str) -> ApiKey | None:
    """The active key matching `key`, with its last use recorded (at most once a minute)."""
    # Every API request runs this: plain SQL on a unique column (core/sql.py) spares the
    # ORM's query compiler, which costs more than the lookup itself.
    api_key = fetch_instance(ApiKey, "key_hash", _api_key_hash(key))
    if api_key is None or api_key.revoked_at is not None:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def user_language_set(*, user: User, language: str) -> None:
    """Remember `language` (a code of LANGUAGES) as the language `user` reads the site in."""
    if user.language != language:
        user.language = language
        User.objects.filter(pk=user.pk).update(language=language)
