from django.urls import path

from governance import views as governance_views
from personalization.dashboard import views

# Included by personalization/urls_me.py under the "me" namespace; "" (me:dashboard)
# is routed there to views.overview.
urlpatterns = [
    path("history/", views.history, name="history"),
    path("history/<int:interaction_id>/remove/", views.history_remove, name="history_remove"),
    path("history/<int:interaction_id>/undo/", views.history_restore, name="history_restore"),
    path("preferences/", views.preferences, name="preferences"),
    path("trust/", governance_views.trust_survey_answer, name="trust_survey"),
]
