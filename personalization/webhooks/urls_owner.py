from django.urls import path

from personalization.webhooks import views

urlpatterns = [
    path("webhooks/", views.webhook_list, name="webhooks"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhook-detail"),
    path("webhooks/<int:pk>/toggle/", views.webhook_toggle, name="webhook-toggle"),
]
