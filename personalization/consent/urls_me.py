from django.urls import path

from personalization.consent import views

# Included by console/urls_me.py under the "me" namespace (the consent preview is routed
# there too: it reads the recommender, which sits above consent).
urlpatterns = [
    path("consent/", views.consent, name="consent"),
    path("notice/", views.notice, name="notice"),
]
