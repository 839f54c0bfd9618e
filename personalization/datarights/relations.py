"""Every table that points at a customer, found by walking the model graph.

Export and erasure both start here, so a model added later that refers to a customer
(directly, or through the customer's login) is exported generically and makes erasure
stop until someone decides what erasure does to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import ForeignObjectRel

from accounts.models import CustomerProfile

CUSTOMER = "customer"
USER = "user"


@dataclass(frozen=True)
class Relation:
    """A field on `model` that points at a customer profile or at a login."""

    model: type[models.Model]
    field_name: str
    # Which side of the person it points at: CUSTOMER (the profile) or USER (the login).
    subject: str
    many_to_many: bool
    nullable: bool

    @property
    def key(self) -> str:
        """`app_label.Model.field`: the name the erasure policy classifies."""
        return f"{self.model._meta.label}.{self.field_name}"

    def rows_of(self, subject: models.Model) -> models.QuerySet:
        """The rows of `model` that refer to `subject` through this field."""
        return self.model._default_manager.filter(**{self.field_name: subject})


def _relations_to(model: type[models.Model], subject: str) -> list[Relation]:
    found = []
    for field in model._meta.get_fields(include_hidden=True):
        # Reverse relations only (another model's FK, O2O or M2M pointing here),
        # including hidden ones (related_name="+").
        if not isinstance(field, ForeignObjectRel):
            continue
        related = field.related_model
        # Auto-created M2M tables: a forward M2M of this model goes with its row; an
        # M2M of another model pointing here is listed through its ManyToManyRel.
        if not isinstance(related, type) or related._meta.auto_created:
            continue
        found.append(
            Relation(
                model=related,
                field_name=field.field.name,
                subject=subject,
                many_to_many=bool(field.many_to_many),
                nullable=bool(field.field.null),
            )
        )
    return found


def customer_relations() -> list[Relation]:
    """Every relation to CustomerProfile, then every relation to the login (User)."""
    return _relations_to(CustomerProfile, CUSTOMER) + _relations_to(get_user_model(), USER)
