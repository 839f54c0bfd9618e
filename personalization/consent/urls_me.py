from django.urls import path

from personalization.consent import views

# Included by personalization/urls_me.py under the "me" namespace.
urlpatterns = [
    path("consent/", views.consent, name="consent"),
    path("notice/", views.notice, name="notice"),
]
