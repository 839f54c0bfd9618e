"""Admin for bias audits: read-only records (runs, results, findings and their history).

Audits are started, and findings handled, in the owner's console (/owner/audits/), which
keeps each finding's history; the policy is edited there too, with its schedule.
"""

from django.contrib import admin

from audits.models import AuditFinding, AuditFindingEvent, AuditPolicy, AuditResult, AuditRun


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditPolicy)
class AuditPolicyAdmin(ReadOnlyAdmin):
    list_display = ("pk", "ratio_threshold", "difference_threshold", "min_group_size", "updated_at")


@admin.register(AuditRun)
class AuditRunAdmin(ReadOnlyAdmin):
    list_display = ("pk", "status", "trigger", "step", "percent", "created_at", "finished_at")
    list_filter = ("status", "trigger")


@admin.register(AuditResult)
class AuditResultAdmin(ReadOnlyAdmin):
    list_display = (
        "run",
        "metric",
        "segment",
        "attributes_key",
        "group_key",
        "suppressed",
        "value",
    )
    list_filter = ("metric", "suppressed", "finding")
    list_select_related = ("run",)


class FindingEventInline(admin.TabularInline):
    model = AuditFindingEvent
    extra = 0
    can_delete = False
    readonly_fields = ("action", "note", "actor", "at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditFinding)
class AuditFindingAdmin(ReadOnlyAdmin):
    list_display = ("run", "kind", "metric", "segment", "group_key", "status")
    list_filter = ("kind", "status", "metric")
    list_select_related = ("run",)
    inlines = [FindingEventInline]
