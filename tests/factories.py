"""factory_boy factories for the shared model."""

from datetime import UTC, datetime
from decimal import Decimal

import factory

from accounts.models import CustomerProfile, User
from personalization.models import Attribute, Category, Interaction, Item
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
