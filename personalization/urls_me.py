from django.urls import path

from personalization import views

app_name = "me"

urlpatterns = [
    path("", views.me_dashboard, name="dashboard"),
]
