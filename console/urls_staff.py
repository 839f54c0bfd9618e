from django.urls import include, path

from console import governance, views

app_name = "staff"

urlpatterns = [
    path("", views.staff_dashboard, name="dashboard"),
    path("", include("personalization.datarights.urls_staff")),
    path("", include("personalization.oversight.urls_staff")),
    path("", include("personalization.campaigns.urls")),
    path("policy/", governance.ai_policy_staff, name="ai_policy"),
]
