from django.urls import path

from personalization.datarights import views

urlpatterns = [
    path("retention/", views.owner_retention, name="retention"),
    path("retention/run/", views.owner_retention_run, name="retention_run"),
]
