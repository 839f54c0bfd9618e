"""Admin for the privacy records: read-only wherever the law needs proof.

Published notice versions and the consent ledger are never changed here. Notices are
written through the owner console (/owner/notice/), which numbers versions and
snapshots what they cover; consent only through `consent_set`, which keeps the hash
chain and the current-consent table in step.
"""

from django.contrib import admin

from personalization.models import (
    Consent,
    ConsentEvent,
    NonProductCode,
    PrivacyNotice,
    ReviewAction,
    ReviewItem,
)

_NOTICE_TEXT_FIELDS = ("title", "body", "ai_statement")
_NOTICE_FIELDS = (
    "version",
    "status",
    *_NOTICE_TEXT_FIELDS,
    "purposes",
    "data_categories",
    "retention",
    "asks_again",
    "created_by",
    "created_at",
    "published_at",
)


@admin.register(PrivacyNotice)
class PrivacyNoticeAdmin(admin.ModelAdmin):
    list_display = ("version", "title", "status", "published_at", "asks_again")
    list_filter = ("status", "asks_again")
    ordering = ("-version",)
    fields = _NOTICE_FIELDS

    def get_readonly_fields(self, request, obj=None):
        # A draft's texts may be corrected here; everything else comes from the services.
        if obj is not None and obj.status == PrivacyNotice.Status.DRAFT:
            return tuple(f for f in _NOTICE_FIELDS if f not in _NOTICE_TEXT_FIELDS)
        return _NOTICE_FIELDS

    def has_add_permission(self, request):
        # New versions start in the owner console, which numbers them.
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status == PrivacyNotice.Status.PUBLISHED:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is None or obj.status == PrivacyNotice.Status.PUBLISHED:
            return False
        return super().has_delete_permission(request, obj)


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ConsentEvent)
class ConsentEventAdmin(_ReadOnlyAdmin):
    """The hash-chained ledger: altering or deleting a row would break the chain."""

    list_display = (
        "id",
        "created_at",
        "customer_ref",
        "purpose",
        "data_category",
        "granted",
        "method",
        "actor",
        "notice_version",
    )
    list_filter = ("method", "purpose", "data_category", "granted")
    search_fields = ("=customer_ref",)
    ordering = ("-id",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "customer",
        "customer_ref",
        "purpose",
        "data_category",
        "granted",
        "notice_version",
        "method",
        "actor",
        "created_at",
        "ip_hash",
        "user_agent_hash",
        "prev_hash",
        "hash",
    )
    list_select_related = False


@admin.register(Consent)
class ConsentAdmin(_ReadOnlyAdmin):
    """The current answers; written only together with their ledger event."""

    list_display = ("customer", "purpose", "data_category", "granted", "updated_at")
    list_filter = ("purpose", "data_category", "granted")
    search_fields = ("customer__external_id",)
    readonly_fields = ("customer", "purpose", "data_category", "granted", "event", "updated_at")
    list_select_related = ("customer",)


@admin.register(ReviewAction)
class ReviewActionAdmin(_ReadOnlyAdmin):
    """The oversight trail: append-only proof of who decided what (browse and export it
    at /owner/review-trail/)."""

    list_display = ("at", "action", "actor", "item_ref", "customer_ref", "reason_code")
    list_filter = ("action",)
    search_fields = ("=item_ref", "=customer_ref")
    ordering = ("-at", "-pk")
    date_hierarchy = "at"
    readonly_fields = (
        "item",
        "item_ref",
        "customer_ref",
        "actor",
        "at",
        "action",
        "reason_code",
        "note",
        "snapshot",
    )
    list_select_related = ("actor",)


@admin.register(ReviewItem)
class ReviewItemAdmin(_ReadOnlyAdmin):
    """Queue items are decided in the staff console (/staff/review/), which keeps the
    recommendation, the claim and the trail in step."""

    list_display = ("pk", "created_at", "source", "status", "rules", "high_risk", "decided_at")
    list_filter = ("status", "source", "high_risk", "channel")
    ordering = ("created_at", "pk")
    exclude = ("customer",)
    readonly_fields = (
        "source",
        "recommendation",
        "channel",
        "flags",
        "rules",
        "high_risk",
        "title",
        "detail",
        "link",
        "status",
        "claimed_by",
        "claim_expires_at",
        "escalated_at",
        "policy_level",
        "decision",
        "reason_code",
        "note",
        "replacement_item",
        "replacement",
        "decided_by",
        "confirmed_by",
        "decided_at",
        "created_at",
    )


@admin.register(NonProductCode)
class NonProductCodeAdmin(admin.ModelAdmin):
    """The owner's list of stock codes that are not products (postage, fees): imports
    keep their lines out, and an item with such a code is never recommended."""

    list_display = ("code", "note")
    search_fields = ("code", "note")
