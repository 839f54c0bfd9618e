"""factory_boy factories for the shared model."""

from datetime import UTC, datetime
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import AuditAttribute, CustomerProfile, User
from audits.models import AuditFinding
from personalization.models import (
    Attribute,
    Category,
    Feedback,
    Interaction,
    Item,
    ModelVersion,
    Recommendation,
    Webhook,
)
from personalization.registry import INTERACTION_KIND_CATEGORY


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Faker("name")
    password = factory.django.Password("correct-horse-battery")


class CustomerProfileFactory(factory.django.DjangoModelFactory[CustomerProfile]):
    class Meta:
        model = CustomerProfile

    external_id = factory.Sequence(lambda n: f"C{n:05d}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    name = factory.Faker("name")


class CategoryFactory(factory.django.DjangoModelFactory[Category]):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"category-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())


class AttributeFactory(factory.django.DjangoModelFactory[Attribute]):
    class Meta:
        model = Attribute
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"attribute-{n}")


class ItemFactory(factory.django.DjangoModelFactory[Item]):
    class Meta:
        model = Item
        skip_postgeneration_save = True

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Loaf {n}")
    category = factory.SubFactory(CategoryFactory)
    price = Decimal("3.50")
    allergens_declared = True

    @factory.post_generation
    def attribute_codes(self, create, extracted, **kwargs):
        if create and extracted:
            for code in extracted:
                self.attributes.add(Attribute.objects.get_or_create(code=code)[0])


class InteractionFactory(factory.django.DjangoModelFactory[Interaction]):
    class Meta:
        model = Interaction

    event_id = factory.Sequence(lambda n: f"evt-{n:07d}")
    customer = factory.SubFactory(CustomerProfileFactory)
    item = factory.SubFactory(ItemFactory)
    kind = "purchase"
    data_category = factory.LazyAttribute(lambda o: INTERACTION_KIND_CATEGORY[o.kind])
    quantity = 1
    value = Decimal("3.50")
    occurred_at = factory.LazyFunction(lambda: datetime(2026, 11, 20, 9, 30, tzinfo=UTC))


class AuditAttributeFactory(factory.django.DjangoModelFactory[AuditAttribute]):
    """A declared audit attribute (an age band from the shop's import unless told)."""

    class Meta:
        model = AuditAttribute

    customer = factory.SubFactory(CustomerProfileFactory)
    name = "age_band"
    value = "18-34"
    source = AuditAttribute.Source.IMPORT
    declared_at = factory.LazyFunction(timezone.now)


class ModelVersionFactory(factory.django.DjangoModelFactory[ModelVersion]):
    """A model version that serves (active) unless told; no trained artifact."""

    class Meta:
        model = ModelVersion

    status = ModelVersion.Status.ACTIVE


class RecommendationFactory(factory.django.DjangoModelFactory[Recommendation]):
    """One stored suggestion, rank 1 of an active model version unless told."""

    class Meta:
        model = Recommendation

    customer = factory.SubFactory(CustomerProfileFactory)
    item = factory.SubFactory(ItemFactory)
    model_version = factory.SubFactory(ModelVersionFactory)
    score = 1.0
    rank = 1


class FeedbackFactory(factory.django.DjangoModelFactory[Feedback]):
    """A customer's 'Not for me' on an item (on its recommendation when given one)."""

    class Meta:
        model = Feedback

    customer = factory.SubFactory(CustomerProfileFactory)
    item = factory.SubFactory(ItemFactory)
    recommendation = None
    kind = "not_for_me"


class WebhookFactory(factory.django.DjangoModelFactory[Webhook]):
    """A receiver of consent changes at a public test address."""

    class Meta:
        model = Webhook

    name = factory.Sequence(lambda n: f"hook-{n}")
    url = "https://hooks.example.com/fairshare"
    secret = "s"
    events = factory.LazyFunction(lambda: ["consent.changed"])


class AuditFindingFactory(factory.django.DjangoModelFactory[AuditFinding]):
    """A breach of an audit run (pass `run`): women were shown fewer different items."""

    class Meta:
        model = AuditFinding

    kind = AuditFinding.Kind.BREACH
    metric = "coverage"
    attributes = factory.LazyFunction(lambda: ["gender"])
    group = factory.LazyFunction(lambda: {"gender": "woman"})
    attributes_key = "gender"
    group_key = "gender=woman"
    value = 0.41
    compared_value = 0.6
    difference = -0.19
    sentence = "Women were shown fewer different items than men."
