"""Recommendations as customers see them: lists, "Why this?", feedback."""

from django.urls import path

from personalization.recommendations import views

# Included by personalization/urls_me.py under the "me" namespace.
urlpatterns = [
    path("recommendations/", views.recommendations, name="recommendations"),
    path(
        "recommendations/<int:pk>/feedback/",
        views.recommendation_feedback,
        name="recommendation_feedback",
    ),
    path(
        "recommendations/<int:pk>/cant-have/",
        views.recommendation_cant_have,
        name="recommendation_cant_have",
    ),
    path(
        "recommendations/feedback/<int:feedback_id>/undo/",
        views.feedback_undo,
        name="feedback_undo",
    ),
]
