from django.urls import path

from personalization.oversight import views

urlpatterns = [
    path("review/", views.review_queue, name="review_queue"),
    path("review/claim/", views.review_claim, name="review_claim"),
    path("review/bulk/", views.review_bulk, name="review_bulk"),
    path("review/<int:item_id>/", views.review_item, name="review_item"),
    path("review/<int:item_id>/claim/", views.review_claim_item, name="review_claim_item"),
    path("review/<int:item_id>/release/", views.review_release, name="review_release"),
    path("review/<int:item_id>/decide/", views.review_decide, name="review_decide"),
    path("review/<int:item_id>/escalate/", views.review_escalate, name="review_escalate"),
    path("review/<int:item_id>/policy-level/", views.review_mark_policy, name="review_policy"),
    path("review/<int:item_id>/confirm/", views.review_confirm, name="review_confirm"),
]
