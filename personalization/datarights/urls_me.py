from django.urls import path

from personalization.datarights import views

urlpatterns = [
    path("requests/", views.data_requests, name="data_requests"),
    path("requests/export/", views.data_request_export, name="data_request_export"),
    path("requests/erasure/", views.data_request_erasure, name="data_request_erasure"),
    path("requests/objection/", views.data_request_objection, name="data_request_objection"),
    path(
        "requests/<int:request_id>/cancel/", views.data_request_cancel, name="data_request_cancel"
    ),
    path(
        "requests/<int:request_id>/download/",
        views.data_request_download,
        name="data_request_download",
    ),
]
