from django.urls import path

from personalization.oversight import views

urlpatterns = [
    path("oversight/", views.oversight_settings, name="oversight"),
    path("review-trail/", views.review_trail, name="review_trail"),
    path("escalations/", views.escalations, name="escalations"),
]
