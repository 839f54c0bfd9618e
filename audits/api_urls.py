from django.urls import path

from audits import api

urlpatterns = [
    path("", api.AuditRunsView.as_view(), name="api-audits"),
    path("<str:run_id>/", api.AuditRunView.as_view(), name="api-audit"),
]
