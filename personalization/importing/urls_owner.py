"""The owner's data import, mounted under /owner/ (namespace "owner")."""

from django.urls import path

from personalization.importing import views

urlpatterns = [
    path("import/", views.import_page, name="import"),
    path("import/<int:pk>/", views.import_detail, name="import_detail"),
    path("import/<int:pk>/confirm/", views.import_confirm, name="import_confirm"),
    path("import/<int:pk>/discard/", views.import_discard, name="import_discard"),
    path("import/<int:pk>/progress.json", views.import_progress, name="import_progress"),
    path("import/non-product-codes/", views.non_product_codes, name="import_non_product_codes"),
    path(
        "import/non-product-codes/<int:pk>/remove/",
        views.non_product_code_remove,
        name="import_non_product_code_remove",
    ),
]
