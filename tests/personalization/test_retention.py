"""Retention is enforced: expired data goes, nothing else, and each run records counts.
The owner sets the periods at /owner/retention/ and sees the last runs."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from accounts.models import AuditAttribute
from accounts.roles import Role
from personalization.datarights import services, tasks
from personalization.models import DataCategory, Interaction, RetentionRun
from tests.factories import CustomerProfileFactory, InteractionFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 27, 3, 30, tzinfo=UTC)
PAGE = "/owner/retention/"


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def text_of(response) -> str:
    return " ".join(response.content.decode().split())


@pytest.fixture
def owner_client(client, make_user):
    client.force_login(make_user(Role.OWNER))
    return client


def test_retention_deletes_only_what_is_older_than_its_category_keeps(
    django_assert_max_num_queries,
):
    # purchases are kept 1,825 days, browsing 180, stated preferences 730
    customer = CustomerProfileFactory()
    old_purchase = InteractionFactory(
        customer=customer, kind="purchase", occurred_at=days_ago(1826)
    )
    kept_purchase = InteractionFactory(
        customer=customer, kind="purchase", occurred_at=days_ago(1824)
    )
    old_views = InteractionFactory.create_batch(
        3, customer=customer, kind="view", occurred_at=days_ago(181)
    )
    old_removed_from_use = InteractionFactory(
        customer=customer, kind="cart", occurred_at=days_ago(200), excluded_at=days_ago(10)
    )
    kept_view = InteractionFactory(customer=customer, kind="view", occurred_at=days_ago(179))
    kept_rating = InteractionFactory(customer=customer, kind="rating", occurred_at=days_ago(400))
    AuditAttribute.objects.create(
        customer=customer,
        name="age_band",
        value="30-39",
        source="import",
        declared_at=days_ago(731),
    )
    kept_attribute = AuditAttribute.objects.create(
        customer=customer, name="gender", value="f", source="customer", declared_at=days_ago(5)
    )

    run = services.retention_enforce(now=NOW)

    remaining = set(Interaction.objects.values_list("pk", flat=True))
    assert remaining == {kept_purchase.pk, kept_view.pk, kept_rating.pk}
    assert old_purchase.pk not in remaining
    assert not {v.pk for v in old_views} & remaining
    assert old_removed_from_use.pk not in remaining
    assert list(AuditAttribute.objects.values_list("pk", flat=True)) == [kept_attribute.pk]
    run.refresh_from_db()
    assert run.removed == {
        "purchase_history": 1,
        "browsing_history": 4,
        "stated_preferences": 0,
        "email_engagement": 0,
        "audit_attributes": 1,
    }
    assert run.started_at == NOW and run.finished_at is not None

    # running again removes nothing more, and says so
    again = services.retention_enforce(now=NOW)
    assert sum(again.removed.values()) == 0
    assert RetentionRun.objects.count() == 2


def test_a_shorter_period_set_by_the_owner_applies_at_the_next_run():
    InteractionFactory(kind="purchase", occurred_at=days_ago(40))
    services.data_category_retention_set(days_by_code={"purchase_history": 30})
    run = services.retention_enforce(now=NOW)
    assert run.removed["purchase_history"] == 1
    assert not Interaction.objects.exists()


def test_the_beat_task_runs_retention():
    InteractionFactory(kind="view", occurred_at=datetime(2000, 1, 1, tzinfo=UTC))
    tasks.retention_enforce.delay()
    assert RetentionRun.objects.get().removed["browsing_history"] == 1


def test_retention_is_scheduled_daily_and_requests_every_minute():
    from personalization.schedules import SCHEDULES

    by_task = {task: when for _name, task, when, _description in SCHEDULES}
    assert by_task["datarights.retention_enforce"]["hour"] == "3"
    assert by_task["datarights.requests_dispatch"] == {"every_seconds": 60}
    assert "datarights.exports_purge" in by_task


def test_owner_sets_retention_days_per_category(owner_client):
    response = owner_client.get(PAGE)
    assert response.status_code == 200
    text = text_of(response)
    assert "Purchase history" in text and "Browsing history" in text

    data = {c.code: c.retention_days for c in DataCategory.objects.all()}
    data["browsing_history"] = 90
    response = owner_client.post(PAGE, data, follow=True)

    assert "Retention periods saved." in text_of(response)
    assert DataCategory.objects.get(code="browsing_history").retention_days == 90


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "Keep data at least 1 day."),
        ("3651", "Keep data at most 3650 days (ten years)."),
        ("soon", "Enter a whole number of days."),
        ("", "Enter a number of days."),
    ],
)
def test_out_of_range_retention_is_refused_next_to_the_field(owner_client, value, message):
    data = {c.code: c.retention_days for c in DataCategory.objects.all()}
    data["purchase_history"] = 100
    data["browsing_history"] = value

    response = owner_client.post(PAGE, data)

    assert response.status_code == 400
    assert message in text_of(response)
    # all or nothing: the valid change is not saved either
    assert DataCategory.objects.get(code="purchase_history").retention_days == 1825
    assert DataCategory.objects.get(code="browsing_history").retention_days == 180


def test_the_service_refuses_out_of_range_and_unknown_categories():
    from core.errors import ApplicationError

    with pytest.raises(ApplicationError) as error:
        services.data_category_retention_set(days_by_code={"browsing_history": 3651})
    assert error.value.field == "browsing_history"
    with pytest.raises(ApplicationError):
        services.data_category_retention_set(days_by_code={"shoe_size": 10})


def test_owner_page_shows_the_last_runs_with_counts(owner_client):
    InteractionFactory.create_batch(2, kind="view", occurred_at=datetime(2000, 1, 1, tzinfo=UTC))
    services.retention_enforce(now=NOW)
    RetentionRun.objects.create(started_at=NOW + timedelta(days=1))  # one that died

    text = text_of(owner_client.get(PAGE))

    assert "Last retention runs" in text
    assert "did not finish" in text
    assert "Total removed" in text
    run = owner_client.get(PAGE).context["runs"][1]
    assert run.total == 2


def test_owner_can_run_retention_now(owner_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post("/owner/retention/run/", follow=True)
    assert "Retention is running." in text_of(response)
    assert RetentionRun.objects.count() == 1


def test_retention_page_is_for_the_owner_only(client, make_user):
    client.force_login(make_user(Role.STAFF))
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"browsing_history": 1}).status_code == 403
    assert client.post("/owner/retention/run/").status_code == 403
    assert DataCategory.objects.get(code="browsing_history").retention_days == 180


def test_retention_forms_need_the_csrf_token(make_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(Role.OWNER))
    assert client.post(PAGE, {"browsing_history": 1}).status_code == 403
    assert client.post("/owner/retention/run/").status_code == 403
    assert not RetentionRun.objects.exists()


def test_sync_schedules_creates_the_data_request_and_retention_schedules():
    from django_celery_beat.models import PeriodicTask

    from core.services import schedules_sync

    schedules_sync()

    retention = PeriodicTask.objects.get(task="datarights.retention_enforce")
    assert (retention.crontab.hour, retention.crontab.minute) == ("3", "30")
    dispatch = PeriodicTask.objects.get(task="datarights.requests_dispatch")
    assert dispatch.interval.every == 60
    assert PeriodicTask.objects.filter(task="datarights.exports_purge").exists()
