"""The three roles and what each may do, as Django groups with permissions."""

from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    OWNER = "owner"


STAFF_CONSOLE = "accounts.access_staff_console"
OWNER_CONSOLE = "accounts.access_owner_console"

# django_celery_beat's tasks and the schedules they run on.
SCHEDULE_PERMISSIONS = (
    "django_celery_beat.view_periodictask",
    "django_celery_beat.change_periodictask",
    *(
        f"django_celery_beat.{action}_{model}"
        for model in ("crontabschedule", "intervalschedule", "clockedschedule")
        for action in ("view", "add", "change")
    ),
)

# app_label.codename for every permission a role's group holds.
ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.CUSTOMER: (),
    Role.STAFF: (
        STAFF_CONSOLE,
        "accounts.view_customerprofile",
        "personalization.view_item",
        "personalization.view_interaction",
    ),
    Role.OWNER: (
        STAFF_CONSOLE,
        OWNER_CONSOLE,
        "accounts.view_customerprofile",
        "accounts.change_customerprofile",
        "personalization.view_item",
        "personalization.add_item",
        "personalization.change_item",
        "personalization.view_interaction",
        "personalization.view_category",
        "personalization.change_category",
        "personalization.add_category",
        "personalization.view_datacategory",
        "personalization.view_purpose",
        "personalization.import_data",
        "personalization.view_privacynotice",
        "personalization.change_privacynotice",
        "personalization.view_consentevent",
        "personalization.view_consent",
        "personalization.view_webhook",
        "personalization.view_webhookdelivery",
        # Schedules in /admin/ (the README's promise): edit the upserted tasks and their
        # timing, never add or delete tasks (a deploy upserts them by name).
        *SCHEDULE_PERMISSIONS,
    ),
}
