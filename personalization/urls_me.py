from django.urls import include, path

from personalization import views

app_name = "me"

urlpatterns = [
    path("", views.me_dashboard, name="dashboard"),
    path("", include("personalization.dashboard.urls_me")),
    path("", include("personalization.consent.urls_me")),
    path("", include("personalization.datarights.urls_me")),
    path("", include("personalization.recommendations.urls_me")),
]
