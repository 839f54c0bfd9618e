from django.urls import include, path

from console import views

app_name = "owner"

urlpatterns = [
    path("", views.owner_dashboard, name="dashboard"),
    path("", include("console.urls_governance")),
    path("", include("personalization.consent.urls_owner")),
    path("", include("personalization.datarights.urls_owner")),
    path("", include("personalization.oversight.urls_owner")),
    path("", include("personalization.webhooks.urls_owner")),
    path("", include("audits.reports.urls")),
    path("", include("personalization.campaigns.urls")),
    path("", include("personalization.importing.urls_owner")),
    path("", include("accounts.urls_owner")),
]
