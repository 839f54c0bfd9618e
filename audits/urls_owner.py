from django.urls import include, path

from governance import views as governance_views

app_name = "owner"

urlpatterns = [
    path("", governance_views.owner_dashboard, name="dashboard"),
    path("", include("governance.urls_owner")),
    path("", include("personalization.consent.urls_owner")),
    path("", include("personalization.datarights.urls_owner")),
    path("", include("personalization.oversight.urls_owner")),
    path("", include("personalization.webhooks.urls_owner")),
    path("", include("audits.reports.urls")),
    path("", include("personalization.campaigns.urls")),
    path("", include("accounts.urls_owner")),
]
