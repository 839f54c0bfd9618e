from django.urls import path

from governance import views

# Included by personalization/urls_staff.py under the "staff" namespace.
urlpatterns = [
    path("policy/", views.ai_policy_staff, name="ai_policy"),
]
