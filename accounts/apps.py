from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Role groups need the permissions Django creates after migrating, so they are
        # synced after each app migrates (cheap and idempotent; see docs/decisions.md).
        post_migrate.connect(_sync_roles, dispatch_uid="accounts.sync_roles")
        # allauth's only hook between "code accepted" and "address verified"
        # (see accounts.adapters.revoke_unproven_password).
        from allauth.account.signals import authentication_step_completed

        from accounts.adapters import revoke_unproven_password

        authentication_step_completed.connect(
            revoke_unproven_password, dispatch_uid="accounts.revoke_unproven_password"
        )


def _sync_roles(sender: AppConfig, **kwargs: object) -> None:
    from accounts.services import roles_sync

    roles_sync(using=str(kwargs.get("using", "default")))
