from django.urls import include, path

from audits import views

app_name = "owner"

urlpatterns = [
    path("", views.owner_dashboard, name="dashboard"),
    path("", include("personalization.consent.urls_owner")),
    path("", include("personalization.datarights.urls_owner")),
    path("", include("personalization.webhooks.urls_owner")),
    path("", include("accounts.urls_owner")),
]
