"""Shared test builders: shops, consent, mail and page helpers that several test modules use.

Plain functions, classes and constants only; shared fixtures live in conftest files or in
tests/shared_fixtures.py (a plugin), never imported by name. No test module imports another
test module or a conftest (tests/test_layers.py checks). The pure engine's builders are in
tests/engine_builders.py (no Django there); browser-only helpers in tests/browser/support.py.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core import mail
from django.db.models import Max
from django.utils import timezone
from django.utils.html import strip_tags

from accounts.models import AuditAttribute, CustomerProfile, User
from accounts.roles import STAFF_CONSOLE, Role
from accounts.services import customer_profile_set_preferences, user_set_role
from personalization.campaigns import services as campaigns
from personalization.campaigns.models import Campaign, CampaignRecipient
from personalization.consent.services import ConsentChange, consent_set
from personalization.models import (
    Channel,
    ModelVersion,
    PrivacyNotice,
    Recommendation,
    RecommendationStatus,
    ReviewItem,
)
from personalization.oversight.services import review_decide
from personalization.recommending import services
from personalization.registry import (
    BROWSING_HISTORY,
    EMAIL_ENGAGEMENT,
    MARKETING,
    PERSONALIZATION,
    PURCHASE_HISTORY,
    STATED_PREFERENCES,
)
from tests.factories import (
    CategoryFactory,
    CustomerProfileFactory,
    InteractionFactory,
    ItemFactory,
    UserFactory,
)

# UserFactory's password for everyone made by make_user.
PASSWORD = "correct-horse-battery"
# A password people choose when they sign up in the account tests.
SIGN_UP_PASSWORD = "a-long-sourdough-passphrase"

# --- the bakery (recommendations) ------------------------------------------------------

ALL = (PURCHASE_HISTORY, BROWSING_HISTORY, STATED_PREFERENCES)


def grant(customer: CustomerProfile, *categories: str, granted: bool = True) -> None:
    consent_set(
        customer=customer,
        changes=[ConsentChange(PERSONALIZATION, c, granted) for c in categories],
        method="ui",
        actor="customer",
        notice_version=None,
    )


def bought(customer, item, times=3, kind="purchase", days=3):
    for n in range(times):
        InteractionFactory(
            customer=customer,
            item=item,
            kind=kind,
            value=Decimal("0") if kind in ("view", "cart") else item.price,
            occurred_at=timezone.now() - timedelta(days=days + 7 * n),
        )


class Shop:
    """A small bakery: breads with and without gluten, pastries, drinks, a premium cake."""

    def __init__(self):
        breads = CategoryFactory(slug="breads", name="Breads")
        pastries = CategoryFactory(slug="pastries", name="Pastries")
        drinks = CategoryFactory(slug="drinks", name="Drinks")
        cakes = CategoryFactory(slug="cakes", name="Cakes")
        gluten = ["contains:gluten", "vegan"]

        def item(name, category, codes, price="4.00", **kw):
            return ItemFactory(
                name=name, category=category, attribute_codes=codes, price=Decimal(price), **kw
            )

        self.wheat = item("Wheat Sourdough", breads, gluten, "4.20")
        self.rye = item("Rye Sourdough", breads, gluten, "4.80")
        self.seeded = item("Seeded Wheat", breads, [*gluten, "contains:sesame"], "4.60")
        self.bloomer = item("White Bloomer", breads, gluten, "3.20")
        self.gluten_free = item("Buckwheat Loaf", breads, ["contains:none", "gluten-free"], "5.20")
        self.guest = item("Guest Cob", breads, [], "3.80", allergens_declared=False)
        self.croissant = item("Croissant", pastries, ["contains:gluten", "contains:milk"], "2.10")
        self.bun = item("Cinnamon Bun", pastries, ["contains:gluten", "contains:milk"], "3.00")
        self.danish = item("Danish", pastries, ["contains:gluten", "contains:milk"], "2.90")
        self.coffee = item("Flat White", drinks, ["contains:milk"], "3.20")
        self.tea = item("Tea", drinks, ["contains:none", "vegan"], "2.30")
        self.cake = item("Celebration Cake", cakes, ["contains:gluten"], "32.00")
        self.old = item("Hot Cross Bun", pastries, ["contains:gluten"], "1.60", active=False)
        self.crowd = []
        loaves = [self.wheat, self.rye, self.seeded, self.bloomer, self.guest, self.gluten_free]
        mornings = [self.croissant, self.bun, self.danish, self.coffee, self.tea, self.cake]
        for n in range(12):
            customer = CustomerProfileFactory()
            grant(customer, *ALL)
            basket = loaves if n % 2 == 0 else mornings
            for offset, thing in enumerate(basket[n % 3 :: 1][:4]):
                bought(customer, thing, times=2, days=2 + offset)
            bought(customer, self.old, times=1, days=200)
            self.crowd.append(customer)
        self.alice = CustomerProfileFactory(external_id="ALICE")
        grant(self.alice, *ALL)
        bought(self.alice, self.wheat, times=6)
        bought(self.alice, self.rye, times=2)
        bought(self.alice, self.croissant, times=1)
        bought(self.alice, self.coffee, times=3, kind="view")


# --- held recommendations (review queue) ------------------------------------------------


class Held:
    """A shop with two held recommendations: a high-risk one (allergen data missing for
    a coeliac customer) and an ordinary one (a premium cake for a pastry fan)."""

    def __init__(self):
        self.shop = shop = Shop()
        services.model_version_train(
            model_version=services.model_version_create(), with_metrics=False
        )
        self.coeliac = CustomerProfileFactory(external_id="COELIAC", name="Cora Secretname")
        grant(self.coeliac, *ALL)
        bought(self.coeliac, shop.guest, times=4)
        bought(self.coeliac, shop.gluten_free, times=4)
        bought(self.coeliac, shop.tea, times=2)
        customer_profile_set_preferences(profile=self.coeliac, restrictions=["contains:gluten"])
        self.coeliac.refresh_from_db()
        services.recommendations_generate_for_customer(customer=self.coeliac)
        self.fan = CustomerProfileFactory(external_id="FAN")
        grant(self.fan, *ALL)
        bought(self.fan, shop.croissant, times=5)
        bought(self.fan, shop.bun, times=3)
        bought(self.fan, shop.coffee, times=3)
        services.recommendations_generate_for_customer(customer=self.fan)
        self.risky = ReviewItem.objects.get(customer=self.coeliac)
        self.cake = ReviewItem.objects.get(customer=self.fan, recommendation__item=shop.cake)
        # The cake waited longer.
        ReviewItem.objects.filter(pk=self.cake.pk).update(
            waiting_since=timezone.now() - timedelta(hours=30)
        )


def notice_read(profile: CustomerProfile) -> None:
    """The customer has read the current privacy notice (else /me/ asks for it first)."""
    latest = PrivacyNotice.objects.aggregate(v=Max("version"))["v"]
    if latest:
        CustomerProfile.objects.filter(pk=profile.pk).update(notice_version_seen=latest)


def bread_buyer(user: User) -> CustomerProfile:
    """`user`'s customer profile in a small bakery (`Shop`), with every data category
    allowed, five wheat loaves and three croissants bought, a trained model and the
    notice read."""
    shop = Shop()
    profile = CustomerProfile.objects.get(user=user)
    grant(profile, *ALL)
    bought(profile, shop.wheat, times=5)
    bought(profile, shop.croissant, times=3)
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    notice_read(profile)
    return profile


# --- offer campaigns --------------------------------------------------------------------

# Every category a customer can allow offer emails to use.
MARKETING_EVERYTHING = (PURCHASE_HISTORY, BROWSING_HISTORY, STATED_PREFERENCES, EMAIL_ENGAGEMENT)


def allow_marketing(customer, *categories: str, granted: bool = True) -> None:
    consent_set(
        customer=customer,
        changes=[ConsentChange(MARKETING, c, granted) for c in categories or MARKETING_EVERYTHING],
        method="ui",
        actor="customer",
        notice_version=None,
    )


def reviewer():
    user = UserFactory(email="reviewer@example.com")
    if not user.has_perm(STAFF_CONSOLE):
        user_set_role(user=user, role=Role.STAFF)
    return User.objects.get(pk=user.pk)


def decide(recommendation: Recommendation, status: str, **extra) -> None:
    """A reviewer's decision in the staff queue (approve, reject or replace); "held"
    puts an approved offer back, as if the approval had been taken back."""
    if status == RecommendationStatus.HELD:
        Recommendation.objects.filter(pk=recommendation.pk).update(status=status)
        return
    item = ReviewItem.objects.get(recommendation=recommendation)
    decision = {"approved": "approve", "rejected": "reject", "replace": "replace"}[status]
    review_decide(
        user=reviewer(),
        item_id=item.pk,
        decision=decision,
        reason_code={"approve": "fits_customer", "reject": "not_appropriate"}.get(
            decision, "better_item"
        ),
        explanation_seen=True,
        **extra,
    )


def trained_shop() -> Shop:
    """The bakery of the engine tests, a trained model, and seven customers who allow
    offer emails."""
    shop = Shop()
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    # Half the crowd and Alice allow offer emails.
    for customer in [shop.alice, *shop.crowd[:6]]:
        allow_marketing(customer)
    return shop


def generated(owner, django_capture_on_commit_callbacks, **fields) -> Campaign:
    campaign = campaigns.campaign_create(
        name=fields.get("name", "Bread week"),
        subject=fields.get("subject", "Fresh from the oven"),
        message=fields.get("message", "This week we bake twice a day."),
        created_by=owner,
    )
    with django_capture_on_commit_callbacks(execute=True):
        campaigns.campaign_generate_start(campaign=campaign)
    campaign.refresh_from_db()
    return campaign


def offers(campaign) -> list[CampaignRecipient]:
    return list(
        CampaignRecipient.objects.filter(campaign=campaign, recommendation__isnull=False)
        .select_related("recommendation", "customer")
        .order_by("pk")
    )


def email_offers(customer) -> list[Recommendation]:
    """Offers made for this customer's email, as a campaign makes them: held for review."""
    rows = services.recommendations_generate_for_channel(
        customers=[customer], channel=Channel.EMAIL
    )[customer.pk]
    assert rows and all(r.status == RecommendationStatus.HELD for r in rows)
    return rows


# --- fairness audits --------------------------------------------------------------------


@dataclass
class AuditShop:
    young: list[CustomerProfile]
    older: list[CustomerProfile]
    few: list[CustomerProfile]
    undeclared: list[CustomerProfile]
    breads: list
    pastries: list


def _declare(customers, *, age_band: str, consent: bool = True) -> None:
    AuditAttribute.objects.bulk_create(
        AuditAttribute(
            customer=c, name="age_band", value=age_band, source="import", declared_at=timezone.now()
        )
        for c in customers
    )
    if consent:
        for c in customers:
            consent_set(
                customer=c,
                changes=[ConsentChange("fairness_audit", "audit_attributes", True)],
                method="import",
                actor="system:test",
                notice_version=None,
            )


def build_audit_shop(
    *, young_share: float = 0.8, older_share: float = 0.2, per_group: int = 50, few: int = 4
) -> AuditShop:
    """`per_group` customers aged 18-34 and 55+ each, `few` aged 35-54 (too few to
    measure), 20 undeclared (so the small group is covered). Breads are shown to
    `young_share` of the young and `older_share` of the older customers; every customer
    is shown a pastry."""
    breads_cat = CategoryFactory(slug="breads", name="Breads")
    pastries_cat = CategoryFactory(slug="pastries", name="Pastries")
    breads = [ItemFactory.create(category=breads_cat) for _ in range(2)]
    pastries = [ItemFactory.create(category=pastries_cat) for _ in range(2)]
    version = ModelVersion.objects.create(status="active")

    def customers(prefix: str, n: int) -> list[CustomerProfile]:
        return list(
            CustomerProfile.objects.bulk_create(
                CustomerProfile(external_id=f"{prefix}{i:03d}", email=f"{prefix}{i}@example.com")
                for i in range(n)
            )
        )

    shop = AuditShop(
        young=customers("Y", per_group),
        older=customers("O", per_group),
        few=customers("F", few),
        undeclared=customers("U", 20),
        breads=breads,
        pastries=pastries,
    )
    _declare(shop.young, age_band="18-34")
    _declare(shop.older, age_band="55+")
    _declare(shop.few, age_band="35-54")
    recs = []
    for group, share in (
        (shop.young, young_share),
        (shop.older, older_share),
        (shop.few, 0.5),
        (shop.undeclared, 0.5),
    ):
        shown_breads = round(len(group) * share)
        for i, customer in enumerate(group):
            rank = 1
            if i < shown_breads:
                recs.append(
                    Recommendation(
                        customer=customer,
                        item=breads[0],
                        score=1.0,
                        rank=rank,
                        model_version=version,
                    )
                )
                rank += 1
            recs.append(
                Recommendation(
                    customer=customer, item=pastries[0], score=0.5, rank=rank, model_version=version
                )
            )
    Recommendation.objects.bulk_create(recs)
    return shop


# --- governance: pages and risk assessments ---------------------------------------------


def text_of(response) -> str:
    """The page's text with whitespace collapsed (assert on what a person reads); table
    cells, list items and blocks are separated by a space, as a browser shows them."""
    markup = _BLOCK_END.sub(r"\g<0> ", response.content.decode())
    return " ".join(html.unescape(strip_tags(markup)).split())


_BLOCK_END = re.compile(r"</(td|th|li|p|div|tr|h[1-6]|dt|dd|summary|span)>")


def waiting_fields(model) -> list[str]:
    """Where a review item's waiting starts (also `waiting_since` when the queue has it)."""
    names = {field.name for field in model._meta.get_fields()}
    return [name for name in ("created_at", "waiting_since") if name in names]


# A complete risk assessment's answers.
RISK_TEXTS = {
    "people_affected": "Customers who allowed marketing.",
    "harm_bias": "Thin histories get worse offers.",
    "harm_manipulation": "Urgency wording could push.",
    "harm_filter_bubble": "Offers repeat what people buy.",
    "harm_privacy": "Email engagement is tracked.",
    "mitigations": "Audit, review every offer, no urgency words.",
}


# --- accounts: mails and sessions -------------------------------------------------------


def last_mail_to(address: str):
    """The newest message in the locmem outbox addressed to `address`."""
    for message in reversed(mail.outbox):
        if address.lower() in (to.lower() for to in message.to):
            return message
    raise AssertionError(f"no mail to {address}; outbox: {[m.subject for m in mail.outbox]}")


def confirmation_link(message) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def login_code(message) -> str:
    match = re.search(r"^\s*([A-Z0-9]{3,5}-[A-Z0-9]{3,5})\s*$", message.body, re.MULTILINE)
    assert match, message.body
    return match.group(1)


def signed_in_user(client) -> User | None:
    user = client.session.get("_auth_user_id")
    return User.objects.get(pk=user) if user else None
