from django.urls import path

from personalization.api import views

urlpatterns = [
    path("events/", views.EventsView.as_view(), name="api-events"),
    path("items/", views.ItemsView.as_view(), name="api-items"),
    path("customers/", views.CustomersView.as_view(), name="api-customers"),
    path(
        "customers/<str:external_id>/recommendations/",
        views.RecommendationsView.as_view(),
        name="api-recommendations",
    ),
    path(
        "customers/<str:external_id>/data-requests/",
        views.DataRequestsView.as_view(),
        name="api-data-requests",
    ),
    path(
        "customers/<str:external_id>/consents/",
        views.ConsentsView.as_view(),
        name="api-consents",
    ),
]
