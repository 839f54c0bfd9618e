"""Campaign pages, mounted under /owner/campaigns/ and /staff/campaigns/ (same views; the
owner console's copy needs the owner's permission, sending always does)."""

from django.urls import path

from personalization.campaigns import views

urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/new/", views.campaign_create, name="campaign_create"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/generate/", views.campaign_generate, name="campaign_generate"),
    path("campaigns/<int:pk>/preview/", views.campaign_preview, name="campaign_preview"),
    path(
        "campaigns/<int:pk>/preview/<int:recipient_pk>/email.html",
        views.campaign_preview_html,
        name="campaign_preview_html",
    ),
    path("campaigns/<int:pk>/send/", views.campaign_send, name="campaign_send"),
    path("campaigns/<int:pk>/send-test/", views.campaign_send_test, name="campaign_send_test"),
    path("campaigns/<int:pk>/stop/", views.campaign_stop, name="campaign_stop"),
    path("campaigns/<int:pk>/progress.json", views.campaign_progress, name="campaign_progress"),
]
