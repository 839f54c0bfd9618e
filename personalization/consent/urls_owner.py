from django.urls import path

from personalization.consent import views

# Included by audits/urls_owner.py under the "owner" namespace.
urlpatterns = [
    path("notice/", views.notice_list, name="notice_list"),
    path("notice/new/", views.notice_create, name="notice_create"),
    path("notice/<int:version>/", views.notice_detail, name="notice_detail"),
    path("notice/<int:version>/edit/", views.notice_edit, name="notice_edit"),
    path("notice/<int:version>/publish/", views.notice_publish, name="notice_publish"),
]
