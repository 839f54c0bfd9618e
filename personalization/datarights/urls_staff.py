from django.urls import path

from personalization.datarights import views

urlpatterns = [
    path("requests/", views.staff_data_requests, name="data_requests"),
    path(
        "requests/<int:request_id>/",
        views.staff_data_request_detail,
        name="data_request_detail",
    ),
    path(
        "requests/<int:request_id>/retry/",
        views.staff_data_request_retry,
        name="data_request_retry",
    ),
    path(
        "requests/<int:request_id>/note/",
        views.staff_data_request_note,
        name="data_request_note",
    ),
    path(
        "requests/<int:request_id>/handled/",
        views.staff_data_request_handled,
        name="data_request_handled",
    ),
]
