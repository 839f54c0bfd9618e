from django.urls import path

from personalization.dashboard import views

# Included by console/urls_me.py under the "me" namespace; "" (me:dashboard)
# is routed there to views.overview.
urlpatterns = [
    path("history/", views.history, name="history"),
    path("history/<int:interaction_id>/remove/", views.history_remove, name="history_remove"),
    path("history/<int:interaction_id>/undo/", views.history_restore, name="history_restore"),
    path("preferences/", views.preferences, name="preferences"),
]
