from django.urls import path

from accounts import views_api_keys

urlpatterns = [
    path("api-keys/", views_api_keys.api_key_list, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", views_api_keys.api_key_revoke, name="api_key_revoke"),
]
