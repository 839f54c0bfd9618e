from django.urls import path

from console import governance as views

# Included by console/urls_owner.py under the "owner" namespace.
urlpatterns = [
    path("kill-switch/", views.kill_switch, name="kill_switch"),
    path("policy/", views.ai_policy_owner, name="ai_policy"),
    path("features/", views.features, name="features"),
    path("features/new/", views.feature_create, name="feature_create"),
    path("features/<slug:code>/", views.feature_detail, name="feature_detail"),
    path("features/<slug:code>/switch/", views.feature_switch, name="feature_switch"),
    path("features/<slug:code>/scope/", views.feature_scope, name="feature_scope"),
    path("features/<slug:code>/assessments/new/", views.assessment_new, name="assessment_new"),
    path(
        "features/<slug:code>/assessments/<int:version>/",
        views.assessment_detail,
        name="assessment_detail",
    ),
    path(
        "features/<slug:code>/assessments/<int:version>/approve/",
        views.assessment_approve,
        name="assessment_approve",
    ),
    path("vendors/", views.vendors, name="vendors"),
    path("vendors/new/", views.vendor_edit, name="vendor_create"),
    path("vendors/<int:pk>/", views.vendor_edit, name="vendor_edit"),
    path("trust/", views.trust_survey, name="trust_survey"),
]
