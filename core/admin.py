from django.contrib import admin

from core.models import Heartbeat


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "seen_at", "beats")
    readonly_fields = ("name", "seen_at", "beats")
