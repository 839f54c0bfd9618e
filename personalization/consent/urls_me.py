from django.urls import path

from personalization.consent import views

# Included by personalization/urls_me.py under the "me" namespace.
urlpatterns = [
    path("consent/", views.consent, name="consent"),
    path("consent/preview/<slug:data_category>/", views.consent_preview, name="consent_preview"),
    path("notice/", views.notice, name="notice"),
]
