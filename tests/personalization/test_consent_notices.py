"""Privacy notice versions: drafts, publishing, immutability, "asks again", owner pages, admin."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.roles import Role
from core.errors import ApplicationError
from personalization import registry
from personalization.consent import notices
from personalization.models import Consent, ConsentEvent, DataCategory, PrivacyNotice, Purpose
from tests.factories import CustomerProfileFactory, UserFactory
from tests.mfa import totp_enrol

pytestmark = pytest.mark.django_db

TEXTS = {"title": "Privacy notice", "body": "We keep little.", "ai_statement": "We suggest bread."}


def draft(**changes):
    return notices.notice_draft_create(author=None, **{**TEXTS, **changes})


def publish_draft(**changes):
    return notices.notice_publish(notice=draft(**changes))


def page(client, url) -> str:
    response = client.get(url, follow=True)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def owner_client(make_user):
    client = Client()
    client.force_login(make_user(Role.OWNER))
    return client


# --- Services -----------------------------------------------------------------------


def test_first_version_is_published_once_with_the_registry_and_rights():
    first = notices.notice_ensure_initial()
    again = notices.notice_ensure_initial()

    assert first.pk == again.pk and PrivacyNotice.objects.count() == 1
    assert (first.version, first.status, first.asks_again) == (1, "published", True)
    assert first.published_at is not None
    assert [p["code"] for p in first.purposes] == [spec.code for spec in registry.PURPOSES]
    assert first.retention == {spec.code: spec.retention_days for spec in registry.DATA_CATEGORIES}
    for article in ("Art. 15", "Art. 16", "Art. 17", "Art. 18", "Art. 20", "Art. 21", "Art. 22"):
        assert article in first.body
    assert "Purchase history: 1,825 days (about 5 years)" in first.body
    assert "Global Privacy Control" in first.body
    assert "never" in first.ai_statement


def test_a_draft_can_be_edited_until_it_is_published_then_never_again():
    notices.notice_ensure_initial()
    second = draft(title="Draft title")
    notices.notice_draft_update(notice=second, **{**TEXTS, "title": "Better title"})
    published = notices.notice_publish(notice=second)

    with pytest.raises(ApplicationError) as error:
        notices.notice_draft_update(notice=published, **{**TEXTS, "title": "Sneaky change"})
    with pytest.raises(ApplicationError):
        notices.notice_publish(notice=published)

    assert error.value.code == "notice_published"
    assert "can no longer be changed" in error.value.message
    stored = PrivacyNotice.objects.get(version=2)
    assert (stored.title, stored.status) == ("Better title", "published")


def test_published_versions_keep_what_they_covered_when_the_registry_changes():
    first = notices.notice_ensure_initial()
    DataCategory.objects.filter(code="purchase_history").update(
        name="Till receipts", retention_days=30
    )

    first.refresh_from_db()
    shown = notices.notice_display(notice=first)
    purchase = next(c for c in shown.categories if c.code == "purchase_history")
    assert (purchase.name, purchase.retention) == ("Purchase history", "1,825 days (about 5 years)")
    assert first.retention["purchase_history"] == 1825


def test_only_one_draft_at_a_time_and_texts_are_required():
    notices.notice_ensure_initial()
    draft()
    with pytest.raises(ApplicationError) as error:
        draft()
    assert error.value.code == "draft_exists"

    PrivacyNotice.objects.filter(status="draft").delete()
    with pytest.raises(ApplicationError) as error:
        draft(body="   ")
    assert error.value.field == "body"
    assert not PrivacyNotice.objects.filter(status="draft").exists()


def test_new_wording_or_retention_does_not_ask_again_but_a_new_purpose_or_category_does():
    notices.notice_ensure_initial()

    reworded = publish_draft(body="Shorter words.")
    DataCategory.objects.filter(code="browsing_history").update(retention_days=90)
    retention_only = publish_draft()
    Purpose.objects.create(code="sms_offers", name="Offer texts", description="SMS offers.")
    new_purpose = publish_draft()
    DataCategory.objects.create(
        code="loyalty_card", name="Loyalty card", description="Stamps.", retention_days=365
    )
    new_category = publish_draft()
    Purpose.objects.filter(code="sms_offers").delete()
    purpose_gone = publish_draft()

    assert [reworded.asks_again, retention_only.asks_again] == [False, False]
    assert retention_only.retention["browsing_history"] == 90
    assert [new_purpose.asks_again, new_category.asks_again, purpose_gone.asks_again] == [
        True,
        True,
        True,
    ]
    assert notices.notice_changes(notice=new_purpose).added_purposes == ("Offer texts",)
    assert notices.notice_changes(notice=new_category).added_categories == ("Loyalty card",)
    assert notices.notice_changes(notice=purpose_gone).removed_purposes == ("Offer texts",)
    assert notices.notice_latest_asking_version() == purpose_gone.version
    assert notices.notice_current() == purpose_gone


def test_notice_text_becomes_headings_paragraphs_and_lists():
    blocks = notices.notice_blocks(
        "## Rights\nYou can\nask us.\n\n- See it\n- Erase it\n  today\nEnd."
    )
    assert [(b.kind, b.text, b.items) for b in blocks] == [
        ("heading", "Rights", ()),
        ("paragraph", "You can ask us.", ()),
        ("list", "", ("See it", "Erase it today")),
        ("paragraph", "End.", ()),
    ]


# --- Owner console ------------------------------------------------------------------


def test_owner_writes_previews_and_publishes_a_version_that_does_not_ask_again(owner_client):
    # given the shop's first version (the seed or the first choice publishes it)
    notices.notice_ensure_initial()
    listing = page(owner_client, reverse("owner:notice_list"))
    assert "Version 1" in listing and "shown to customers" in listing

    # when the owner starts a draft, pre-filled with the current text, and saves it
    form = page(owner_client, reverse("owner:notice_create"))
    assert "Your rights" in form
    response = owner_client.post(
        reverse("owner:notice_create"),
        {"title": "Privacy notice", "body": "## Hello\nNew words.", "ai_statement": "Same AI."},
        follow=True,
    )
    html = response.content.decode()
    assert "Draft version 2 saved. Customers do not see it until you publish it." in html
    assert "Draft: customers do not see this yet" in html and "New words." in html

    # then the customers still see version 1
    assert "Version 1, published" in page(Client(), reverse("transparency"))

    # when the owner asks to publish, the confirmation says nobody is asked again
    confirm = page(owner_client, reverse("owner:notice_publish", args=[2]))
    assert "Customers will not be asked again:" in confirm
    response = owner_client.post(reverse("owner:notice_publish", args=[2]), follow=True)
    assert "Version 2 is published. Customers will not be asked again" in response.content.decode()
    public = page(Client(), reverse("transparency"))
    assert "Version 2, published" in public and "New words." in public


def test_publish_confirmation_says_when_customers_will_be_asked_again(owner_client):
    notices.notice_ensure_initial()
    Purpose.objects.create(code="sms_offers", name="Offer texts", description="SMS offers.")
    second = draft()

    confirm = page(owner_client, reverse("owner:notice_publish", args=[second.version]))
    assert "Customers will be asked to read it again," in confirm
    assert "New purposes: Offer texts" in confirm

    response = owner_client.post(reverse("owner:notice_publish", args=[2]), follow=True)
    assert "Customers will be asked to read it the next time" in response.content.decode()


def test_a_published_version_cannot_be_edited_from_the_console(owner_client):
    first = notices.notice_ensure_initial()
    url = reverse("owner:notice_edit", args=[first.version])

    response = owner_client.post(url, {**TEXTS, "title": "Changed"}, follow=True)

    assert "Version 1 is published and can no longer be changed" in response.content.decode()
    first.refresh_from_db()
    assert first.title == "Privacy notice"


def test_draft_form_reports_missing_text_next_to_the_field(owner_client):
    notices.notice_ensure_initial()
    response = owner_client.post(
        reverse("owner:notice_create"), {"title": "T", "body": "", "ai_statement": "AI"}
    )
    assert response.status_code == 400
    assert 'id="id_body_error"' in response.content.decode()
    assert not PrivacyNotice.objects.filter(status="draft").exists()


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.STAFF])
def test_only_the_owner_manages_the_notice(make_user, role):
    notices.notice_ensure_initial()
    client = Client()
    client.force_login(make_user(role))
    for name, args in [("notice_list", []), ("notice_create", []), ("notice_detail", [1])]:
        assert client.get(reverse(f"owner:{name}", args=args)).status_code == 403
    assert client.post(reverse("owner:notice_create"), TEXTS).status_code == 403
    assert PrivacyNotice.objects.count() == 1


def test_anonymous_visitors_are_sent_to_sign_in_for_the_console():
    response = Client().get(reverse("owner:notice_list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- Admin --------------------------------------------------------------------------


@pytest.fixture
def admin_client_(db):
    client = Client()
    admin = UserFactory(is_staff=True, is_superuser=True)
    totp_enrol(admin)  # the admin opens only with an authenticator app set up
    client.force_login(admin)
    return client


def test_admin_shows_published_notices_read_only(admin_client_):
    first = notices.notice_ensure_initial()
    url = reverse("admin:personalization_privacynotice_change", args=[first.pk])

    html = admin_client_.get(url).content.decode()
    response = admin_client_.post(url, {**TEXTS, "title": "Changed in admin"})

    assert 'name="_save"' not in html and "Privacy notice" in html
    assert response.status_code == 403
    first.refresh_from_db()
    assert first.title == "Privacy notice"
    delete = reverse("admin:personalization_privacynotice_delete", args=[first.pk])
    assert admin_client_.post(delete, {"post": "yes"}).status_code == 403
    assert admin_client_.get(reverse("admin:personalization_privacynotice_add")).status_code == 403


def test_admin_never_changes_or_deletes_consent_events(admin_client_):
    from personalization.consent.services import ConsentChange, consent_set

    customer = CustomerProfileFactory()
    (event,) = consent_set(
        customer=customer,
        changes=[ConsentChange("marketing", "purchase_history", True)],
        method="ui",
        actor="customer",
        notice_version=1,
    )
    change = reverse("admin:personalization_consentevent_change", args=[event.pk])
    delete = reverse("admin:personalization_consentevent_delete", args=[event.pk])
    changelist = reverse("admin:personalization_consentevent_changelist")

    assert admin_client_.get(changelist).status_code == 200
    assert 'name="_save"' not in admin_client_.get(change).content.decode()
    assert admin_client_.post(change, {"granted": ""}).status_code == 403
    assert admin_client_.post(delete, {"post": "yes"}).status_code == 403
    bulk = admin_client_.post(
        changelist, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)
    assert ConsentEvent.objects.filter(pk=event.pk, granted=True).exists()
    assert Consent.objects.filter(customer=customer, granted=True).count() == 1
