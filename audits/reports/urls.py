from django.urls import path

from audits.reports import views

urlpatterns = [
    path("audits/", views.audit_list, name="audit_list"),
    path("audits/start/", views.audit_start, name="audit_start"),
    path("audits/policy/", views.audit_policy, name="audit_policy"),
    path("audits/<int:pk>/", views.audit_detail, name="audit_detail"),
    path("audits/<int:pk>/progress/", views.audit_progress, name="audit_progress"),
    path("audits/<int:pk>/export.csv", views.audit_export_csv, name="audit_export_csv"),
    path("audits/<int:pk>/export.json", views.audit_export_json, name="audit_export_json"),
    path("audits/findings/<int:pk>/", views.finding_action, name="audit_finding_action"),
]
