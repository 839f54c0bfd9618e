from django.urls import path

from audits import views

app_name = "owner"

urlpatterns = [
    path("", views.owner_dashboard, name="dashboard"),
]
