from django.urls import include, path

from console import governance
from personalization.dashboard import views as dashboard_views
from personalization.recommendations.preview import consent_preview

app_name = "me"

urlpatterns = [
    path("", dashboard_views.overview, name="dashboard"),
    path("", include("personalization.dashboard.urls_me")),
    path("", include("personalization.consent.urls_me")),
    path("consent/preview/<slug:data_category>/", consent_preview, name="consent_preview"),
    path("", include("personalization.datarights.urls_me")),
    path("", include("personalization.recommendations.urls_me")),
    path("trust/", governance.trust_survey_answer, name="trust_survey"),
]
