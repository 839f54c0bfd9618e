"""The links in offer emails (/offers/...): work without signing in."""

from django.urls import path

from personalization.campaigns import views_public

app_name = "offers"

urlpatterns = [
    path("unsubscribe/<str:token>/", views_public.unsubscribe, name="unsubscribe"),
    path(
        "stop-personalizing/<str:token>/",
        views_public.stop_personalizing,
        name="stop_personalizing",
    ),
]
