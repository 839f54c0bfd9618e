"""`seed_demo` loads Crumb & Co. through the importer, with working demo logins."""

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Max, Min, Sum
from django.urls import reverse

from accounts.models import AuditAttribute, CustomerProfile, User
from accounts.roles import Role
from accounts.selectors import user_role
from personalization.models import (
    Category,
    ConsentEvent,
    Interaction,
    Item,
    ModelVersion,
    Recommendation,
)

pytestmark = pytest.mark.django_db

PASSWORD = "demo-pass-1234"
LOGINS = {
    "gable@example.com": Role.CUSTOMER,
    "coeliac@example.com": Role.CUSTOMER,
    "staff@example.com": Role.STAFF,
    "owner@example.com": Role.OWNER,
}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def snapshot() -> dict[str, object]:
    """What a person browsing the admin would see change after a second run."""
    return {
        "items": list(
            Item.objects.order_by("sku").values_list(
                "sku", "name", "category__slug", "price", "active", "allergens_declared"
            )
        ),
        "attributes": Item.attributes.through.objects.count(),
        "categories": list(Category.objects.values_list("slug", flat=True)),
        "customers": list(
            CustomerProfile.objects.order_by("external_id").values_list(
                "external_id", "email", "name", "user__email", "restrictions", "liked_categories"
            )
        ),
        "audit_attributes": AuditAttribute.objects.count(),
        "interactions": Interaction.objects.aggregate(
            n=Count("id"),
            value=Sum("value"),
            first=Min("occurred_at"),
            last=Max("occurred_at"),
            ids=Count("event_id", distinct=True),
        ),
        "users": list(User.objects.order_by("email").values_list("email", "name", "is_staff")),
        "email_addresses": list(
            EmailAddress.objects.order_by("email").values_list("email", "verified", "primary")
        ),
        "groups": list(User.groups.through.objects.values_list("user__email", "group__name")),
        "consent_events": ConsentEvent.objects.count(),
        "model_versions": ModelVersion.objects.count(),
        "recommendations": Recommendation.objects.count(),
    }


@pytest.mark.slow
def test_seeding_twice_gives_the_same_shop_without_duplicates():
    # given
    first_output = seed()
    first = snapshot()
    # when
    second_output = seed()
    # then
    assert snapshot() == first
    assert 55 <= len(first["items"]) <= 70
    assert 280 <= len(first["customers"]) <= 320
    assert 25_000 <= first["interactions"]["n"] <= 35_000
    assert first["interactions"]["ids"] == first["interactions"]["n"]
    assert [email for email, _, _ in first["users"]] == sorted(LOGINS)
    assert "already imported" in second_output
    for output in (first_output, second_output):
        assert "Demo logins (password for all: demo-pass-1234)" in output
        for email in LOGINS:
            assert email in output


@pytest.mark.slow
def test_demo_logins_sign_in_with_their_roles_and_records(client):
    # when
    output = seed()
    # then
    for email, role in LOGINS.items():
        user = authenticate(username=email, password=PASSWORD)
        assert user is not None, f"{email} cannot sign in with the demo password"
        assert user_role(user=user) is role
        assert EmailAddress.objects.filter(user=user, email=email, verified=True, primary=True)
        line = next(line for line in output.splitlines() if email in line)
        assert role.value in line
    assert User.objects.count() == len(LOGINS)
    # Only the two demo customers have logins; everyone else was imported without one.
    linked = CustomerProfile.objects.exclude(user=None)
    assert sorted(linked.values_list("email", flat=True)) == [
        "coeliac@example.com",
        "gable@example.com",
    ]
    assert not CustomerProfile.objects.filter(email__in=["staff@example.com", "owner@example.com"])

    # Mandatory email verification does not stop a demo login at the sign-in page.
    response = client.post(
        reverse("account_login"), {"login": "gable@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] != reverse("account_email_verification_sent")
    assert client.session.get("_auth_user_id") == str(
        User.objects.get(email="gable@example.com").pk
    )


@pytest.mark.slow
def test_the_stories_of_mrs_gable_and_the_coeliac_are_in_the_database():
    # when
    seed()
    # then
    gable = CustomerProfile.objects.get(user__email="gable@example.com")
    bought = gable.interactions.values_list("item__name", "kind").distinct()
    span = gable.interactions.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    assert list(bought) == [("Wheat Sourdough Loaf", "purchase")]
    assert (span["last"] - span["first"]).days >= 3 * 365
    assert gable.restrictions == []

    coeliac = CustomerProfile.objects.get(user__email="coeliac@example.com")
    assert coeliac.restrictions == ["contains:gluten"]
    assert coeliac.interactions.count() >= 50
    assert not coeliac.interactions.filter(item__attributes__code="contains:gluten").exists()
    assert not coeliac.interactions.filter(item__allergens_declared=False).exists()

    assert 3 <= Item.objects.filter(allergens_declared=False).count() <= 5
    assert list(
        Item.objects.filter(attributes__code="alcohol").values_list("name", "category__slug")
    ) == [("Somerset Dry Cider", "drinks")]
    assert CustomerProfile.objects.exclude(liked_categories=[]).count() >= 5
    declaring = AuditAttribute.objects.values("customer").distinct().count()
    assert 0.5 <= declaring / CustomerProfile.objects.count() <= 0.7


def test_an_as_of_date_in_the_future_is_refused_before_anything_is_written():
    with pytest.raises(CommandError, match="--as-of 2999-01-01 is in the future"):
        seed("--as-of", "2999-01-01")
    assert not Item.objects.exists()
    assert not User.objects.exists()


def test_an_as_of_that_is_not_a_date_is_refused():
    with pytest.raises(CommandError, match="'20-11-2026' is not a date like 2026-11-20"):
        seed("--as-of", "20-11-2026")


@pytest.mark.slow
def test_the_demo_shows_recommendations_at_once_and_keeps_its_promises():
    seed()
    gable = CustomerProfile.objects.get(email="gable@example.com")
    coeliac = CustomerProfile.objects.get(email="coeliac@example.com")
    # consent was recorded on the ledger, and a first model made lists
    assert gable.consents.filter(purpose="personalization", granted=True).count() == 3
    assert ConsentEvent.objects.filter(method="import").exists()
    assert call_command("verify_consent_ledger", stdout=StringIO()) is None
    top = list(
        Recommendation.objects.filter(customer=gable, status="proposed")
        .order_by("rank")
        .values_list("item__name", flat=True)[:3]
    )
    assert top[0] == "Wheat Sourdough Loaf", top
    assert not any("gluten-free" in name.lower() for name in top)
    offered_to_coeliac = Item.objects.filter(
        recommendations__customer=coeliac, recommendations__status="proposed"
    )
    assert offered_to_coeliac.exists()
    assert not offered_to_coeliac.filter(attributes__code="contains:gluten").exists()
