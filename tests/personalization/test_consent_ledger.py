"""The consent ledger: append-only, hash-chained, current table in step."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from core.errors import ApplicationError
from personalization.consent import notices
from personalization.consent.selectors import consent_granted, consented_categories
from personalization.consent.services import ConsentChange, RequestFingerprint, consent_set
from personalization.models import Consent, ConsentEvent, PrivacyNotice
from tests.factories import CustomerProfileFactory

pytestmark = pytest.mark.django_db


def verify() -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_consent_ledger", stdout=out, stderr=err)
        return 0, out.getvalue()
    except SystemExit as exc:
        assert isinstance(exc.code, int), exc.code
        return exc.code, err.getvalue()


def grant(customer, purpose="personalization", category="purchase_history", granted=True, **kw):
    return consent_set(
        customer=customer,
        changes=[ConsentChange(purpose, category, granted)],
        method=kw.pop("method", "ui"),
        actor=kw.pop("actor", "customer"),
        notice_version=kw.pop("notice_version", 1),
        **kw,
    )


def test_consent_is_off_until_granted_and_follows_the_latest_change():
    customer = CustomerProfileFactory()
    assert not consent_granted(
        customer=customer, purpose="personalization", data_category="purchase_history"
    )
    grant(customer)
    assert consent_granted(
        customer=customer, purpose="personalization", data_category="purchase_history"
    )
    grant(customer, granted=False)
    assert not consent_granted(
        customer=customer, purpose="personalization", data_category="purchase_history"
    )
    assert ConsentEvent.objects.filter(customer=customer).count() == 2
    assert Consent.objects.get(customer=customer).event == ConsentEvent.objects.last()


def test_unchanged_answer_adds_no_event():
    customer = CustomerProfileFactory()
    grant(customer)
    assert grant(customer) == []
    assert ConsentEvent.objects.count() == 1


def publish_notices(upto: int) -> None:
    """Published notice versions 1 to `upto`."""
    notices.notice_ensure_initial()
    while (current := notices.notice_current()) is not None and current.version < upto:
        draft = notices.notice_draft_create(
            author=None, title="Privacy notice", body="What we hold.", ai_statement="Our AI."
        )
        notices.notice_publish(notice=draft)


def test_events_record_method_notice_and_only_hashed_fingerprints():
    customer = CustomerProfileFactory()
    publish_notices(3)
    fingerprint = RequestFingerprint(ip_hash="a" * 64, user_agent_hash="b" * 64)
    (event,) = grant(
        customer, method="api", actor="api:till", notice_version=3, fingerprint=fingerprint
    )
    assert (event.method, event.actor, event.notice_version) == ("api", "api:till", 3)
    assert event.customer_ref == customer.pk
    assert event.ip_hash == "a" * 64


@pytest.mark.parametrize("version", [999, 2])
def test_a_notice_version_that_was_never_published_is_refused_and_nothing_written(version):
    # given: version 1 is published and version 2 is a draft nobody was shown
    customer = CustomerProfileFactory()
    notices.notice_ensure_initial()
    notices.notice_draft_create(author=None, title="Next", body="Text.", ai_statement="AI.")

    # when
    with pytest.raises(ApplicationError) as refused:
        grant(customer, notice_version=version)

    # then
    assert refused.value.code == "unknown_notice_version"
    assert refused.value.field == "notice_version"
    assert refused.value.message == (
        f"There is no published privacy notice with version {version}."
    )
    assert not ConsentEvent.objects.exists()
    assert not Consent.objects.exists()


def test_version_1_is_published_by_the_first_consent_that_refers_to_it():
    customer = CustomerProfileFactory()
    assert not PrivacyNotice.objects.exists()
    (event,) = grant(customer, notice_version=1)
    assert event.notice_version == 1
    assert notices.notice_current().version == 1


def test_fingerprint_from_request_never_stores_raw_values(rf):
    request = rf.get("/", REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Mozilla/5.0 Test")
    fingerprint = RequestFingerprint.from_request(request)
    assert len(fingerprint.ip_hash) == 64 and "203.0.113.7" not in fingerprint.ip_hash
    assert (
        fingerprint.ip_hash
        != RequestFingerprint.from_request(rf.get("/", REMOTE_ADDR="203.0.113.8")).ip_hash
    )


def test_consented_categories_answers_for_many_customers_in_one_query(django_assert_num_queries):
    a, b = CustomerProfileFactory(), CustomerProfileFactory()
    grant(a, category="purchase_history")
    grant(a, category="browsing_history")
    grant(b, category="browsing_history", granted=False)
    with django_assert_num_queries(1):
        allowed = consented_categories(customer_ids=[a.pk, b.pk], purpose="personalization")
    assert allowed == {a.pk: {"purchase_history", "browsing_history"}}


def test_unknown_purpose_is_refused():
    from core.errors import ApplicationError

    with pytest.raises(ApplicationError) as error:
        grant(CustomerProfileFactory(), purpose="resale")
    assert error.value.field == "purpose"
    assert ConsentEvent.objects.count() == 0


def make_ledger(n=4):
    customer = CustomerProfileFactory()
    for i in range(n):
        grant(customer, granted=i % 2 == 0)
    return list(ConsentEvent.objects.order_by("pk"))


def test_intact_ledger_verifies():
    make_ledger()
    assert verify() == (0, "Consent ledger intact: 4 entries.\n")


def test_altered_entry_is_named():
    events = make_ledger()
    ConsentEvent.objects.filter(pk=events[1].pk).update(granted=not events[1].granted)
    status, message = verify()
    assert status == 1
    assert f"entry #{events[1].pk}" in message and "altered" in message


def test_deleted_entry_breaks_the_chain_at_the_next_one():
    events = make_ledger()
    Consent.objects.all().delete()  # the current table protects the latest event only
    ConsentEvent.objects.filter(pk=events[1].pk).delete()
    status, message = verify()
    assert status == 1
    assert f"entry #{events[2].pk}" in message


def test_reordered_entries_are_detected():
    events = make_ledger()
    first, second = events[1], events[2]
    table = ConsentEvent._meta.db_table
    with connection.cursor() as cursor:
        # swap the contents of two rows, keeping their ids
        for source, target in ((first, second), (second, first)):
            cursor.execute(
                f"UPDATE {table} SET granted=%s, prev_hash=%s, hash=%s WHERE id=%s",  # noqa: S608
                [source.granted, source.prev_hash, "x" + source.hash[1:], target.pk],
            )
    status, message = verify()
    assert status == 1
    assert f"entry #{first.pk}" in message
