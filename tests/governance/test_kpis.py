"""The owner's trust KPIs, computed on a small seeded shop whose right answers are
worked out by hand below, and the pure arithmetic behind them."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import CustomerProfile
from console.kpis import owner_kpis
from governance import services
from governance.trustmath import LedgerEntry, consent_by_month, count_mentions, month_starts
from personalization.consent.services import ConsentChange, consent_set
from personalization.models import (
    ConsentEvent,
    DataRequest,
    Feedback,
    ModelVersion,
    Recommendation,
)
from tests.builders import text_of, waiting_fields
from tests.factories import CustomerProfileFactory, ItemFactory

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.get_current_timezone())


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=timezone.get_current_timezone())


# --- Pure arithmetic ------------------------------------------------------------------


def test_month_starts_cross_the_year_boundary():
    assert month_starts(date(2026, 2, 14), 4) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]


def test_mentions_count_each_text_once_per_theme_and_ignore_parts_of_words():
    texts = [
        "I trust it, trust it fully",
        "Unfair and not transparent",
        "The explanations help",
        "A trustee? No.",  # not the word trust
        "",
    ]
    assert count_mentions(texts) == {"trust": 1, "fairness": 1, "transparency": 2}


def test_the_ledger_replay_keeps_the_latest_answer_per_cell_at_each_month_end():
    t = lambda d: datetime(2026, 1, d, tzinfo=UTC)  # noqa: E731
    entries = [
        LedgerEntry(1, "marketing", "purchase_history", True, t(2)),
        LedgerEntry(2, "marketing", "purchase_history", True, t(3)),
        LedgerEntry(2, "marketing", "email_engagement", True, t(4)),
        LedgerEntry(2, "marketing", "purchase_history", False, t(20)),
        LedgerEntry(1, "marketing", "purchase_history", False, t(21)),
    ]
    ends = [t(10), t(25)]
    assert consent_by_month(entries, ends, ["marketing", "personalization"]) == {
        # customer 2 still allows email engagement after withdrawing purchase history
        "marketing": [{1, 2}, {2}],
        "personalization": [set(), set()],
    }


# --- On seeded data ---------------------------------------------------------------------


def _grant(customer, purpose, category, when, granted=True):
    events = consent_set(
        customer=customer,
        changes=[ConsentChange(purpose, category, granted)],
        method="ui",
        actor="customer",
        notice_version=None,
    )
    ConsentEvent.objects.filter(pk__in=[e.pk for e in events]).update(created_at=when)


def _recommendation(customer, model, *, status, when, rank, flags=()):
    row = Recommendation.objects.create(
        customer=customer,
        item=ItemFactory(),
        score=1.0,
        rank=rank,
        model_version=model,
        status=status,
        flags=list(flags),
    )
    Recommendation.objects.filter(pk=row.pk).update(created_at=when)
    return row


def _feedback(customer, row, when):
    feedback = Feedback.objects.create(
        customer=customer, item=row.item, recommendation=row, kind="not_for_me"
    )
    Feedback.objects.filter(pk=feedback.pk).update(created_at=when)


def _review_item(*, created, decided=None):
    from personalization.models.oversight import ReviewItem, ReviewStatus

    item = ReviewItem.objects.create(
        source="other",
        title="check",
        status=ReviewStatus.DECIDED if decided else ReviewStatus.OPEN,
    )
    ReviewItem.objects.filter(pk=item.pk).update(
        decided_at=decided, **dict.fromkeys(waiting_fields(ReviewItem), created)
    )


@pytest.fixture
def shop(db):
    """Ten customers (all since August) and three months of what they did:

    - personalization allowed by C0-C5 on 10 Sep; C1 also allowed browsing on 1 Oct;
      C0 withdrew on 2 Nov, C1 withdrew purchase history on 3 Nov (browsing stays)
    - offer emails allowed by C0-C2 on 5 Oct
    - modes now: C2 paused until December, C3's pause ended on 1 Nov, C4 off, C5 none
    - suggestions: 4 shown in October (1 complaint); 8 shown, 2 held and 1 rejected
      (both flagged) in November (2 complaints)
    - review: two decisions in November after 2 and 4 hours; one item waiting 2 days
      with a 24-hour target
    - data requests: one due in 5 days, one 2 days overdue, one completed
    - trust survey this quarter: 4 and 2, one comment about trust; one customer's note
      asks whether it is fair
    """
    from personalization.models.oversight import OversightSettings

    customers = [CustomerProfileFactory() for _ in range(10)]
    CustomerProfile.objects.update(created_at=at(2026, 8, 1))
    c = customers
    for customer in c[:6]:
        _grant(customer, "personalization", "purchase_history", at(2026, 9, 10))
    _grant(c[1], "personalization", "browsing_history", at(2026, 10, 1))
    for customer in c[:3]:
        _grant(customer, "marketing", "purchase_history", at(2026, 10, 5))
    _grant(c[0], "personalization", "purchase_history", at(2026, 11, 2), granted=False)
    _grant(c[1], "personalization", "purchase_history", at(2026, 11, 3), granted=False)

    CustomerProfile.objects.filter(pk=c[2].pk).update(
        personalization_mode="paused", paused_until=date(2026, 12, 1)
    )
    CustomerProfile.objects.filter(pk=c[3].pk).update(
        personalization_mode="paused", paused_until=date(2026, 11, 1)
    )
    CustomerProfile.objects.filter(pk=c[4].pk).update(personalization_mode="off")
    CustomerProfile.objects.filter(pk=c[5].pk).update(personalization_mode="none")
    CustomerProfile.objects.filter(pk=c[7].pk).update(notes_for_staff="Is this fair to me?")

    model = ModelVersion.objects.create(status="active")
    october = [
        _recommendation(c[6], model, status="delivered", when=at(2026, 10, 12), rank=r)
        for r in range(1, 5)
    ]
    _feedback(c[6], october[0], at(2026, 10, 13))
    november = [
        _recommendation(c[7], model, status="delivered", when=at(2026, 11, 12), rank=r)
        for r in range(1, 9)
    ]
    _feedback(c[7], november[0], at(2026, 11, 13))
    _feedback(c[7], november[1], at(2026, 11, 14))
    for rank in (1, 2):
        _recommendation(
            c[8], model, status="held", when=at(2026, 11, 15), rank=rank, flags=["premium_price"]
        )
    _recommendation(
        c[9], model, status="rejected", when=at(2026, 11, 15), rank=1, flags=["sensitive"]
    )

    OversightSettings.objects.update_or_create(pk=1, defaults={"sla_hours": 24})
    _review_item(created=at(2026, 11, 10, 8), decided=at(2026, 11, 10, 10))
    _review_item(created=at(2026, 11, 11, 8), decided=at(2026, 11, 11, 12))
    _review_item(created=NOW - timedelta(days=2))

    def request(status, requested, due):
        DataRequest.objects.create(
            customer=c[0],
            customer_ref=c[0].pk,
            kind="export",
            status=status,
            requested_at=requested,
            due_at=due,
        )

    request("pending", at(2026, 10, 25), NOW + timedelta(days=5))
    request("pending", at(2026, 10, 18), NOW - timedelta(days=2))
    request("completed", at(2026, 9, 3), at(2026, 10, 3))

    services.trust_survey_answer(customer=c[0], score=4, comment="I trust you", now=NOW)
    services.trust_survey_answer(customer=c[1], score=2, now=NOW)
    return customers


def test_consent_rates_per_purpose_month_by_month(shop):
    kpis = owner_kpis(now=NOW, months=3)

    assert kpis.months == [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
    assert kpis.customers == 10
    by_code = {row.code: row for row in kpis.consent}
    assert by_code["personalization"].history == [0.6, 0.6, 0.5]
    assert (by_code["personalization"].customers, by_code["personalization"].rate) == (5, 0.5)
    assert by_code["marketing"].history == [0.0, 0.3, 0.3]
    assert by_code["fairness_audit"].history == [0.0, 0.0, 0.0]


def test_pause_off_and_opt_out_rates(shop):
    kpis = owner_kpis(now=NOW, months=3)

    modes = {row.mode: (row.customers, row.rate) for row in kpis.modes}
    # C3's pause ended on 1 November, so C3 counts as on
    assert modes == {"on": (7, 0.7), "paused": (1, 0.1), "off": (1, 0.1), "none": (1, 0.1)}
    assert kpis.withdrawals.parts["withdrew"] == [0, 0, 2]
    assert kpis.withdrawals.share("withdrew") == [0.0, 0.0, 0.2]


def test_complaint_flagged_and_rejected_rates(shop):
    kpis = owner_kpis(now=NOW, months=3)

    assert kpis.complaints.whole == [0, 4, 8]
    assert kpis.complaints.share("feedback") == [None, 0.25, 0.25]
    assert kpis.flagged.whole == [0, 4, 11]
    assert kpis.flagged.share("flagged") == [None, 0.0, 3 / 11]
    assert kpis.flagged.share("rejected") == [None, 0.0, 1 / 11]


def test_review_speed_and_data_requests(shop):
    kpis = owner_kpis(now=NOW, months=3)

    assert (kpis.review.median_hours, kpis.review.p90_hours) == (3.0, pytest.approx(3.8))
    assert (kpis.review.open, kpis.review.overdue, kpis.review.sla_hours) == (1, 1, 24)
    assert kpis.review_history["median"] == [None, None, 3.0]
    requests = kpis.data_requests
    assert (requests.open, requests.overdue, requests.nearest_days_left) == (2, 1, -2)
    assert requests.filed == [1, 2, 0]


def test_survey_and_mentions_in_free_text(shop):
    kpis = owner_kpis(now=NOW, months=3)

    assert [(r.period, r.answers, r.average) for r in kpis.survey] == [(date(2026, 10, 1), 2, 3.0)]
    assert kpis.survey[0].distribution == (0, 1, 0, 1, 0)
    assert kpis.mentions == {"trust": 1, "fairness": 1, "transparency": 0}
    assert kpis.mention_texts == 2


def test_the_dashboard_shows_the_figures_each_with_a_link_where_to_act(make_user):
    from django.test import Client

    from accounts.roles import Role

    # given a shop whose figures do not depend on the day the test runs
    now = timezone.now()
    customers = [CustomerProfileFactory() for _ in range(3)]
    CustomerProfile.objects.filter(pk=customers[0].pk).update(
        personalization_mode="paused", paused_until=timezone.localdate() + timedelta(days=30)
    )
    CustomerProfile.objects.filter(pk=customers[1].pk).update(personalization_mode="off")
    for days in (5, -2):
        DataRequest.objects.create(
            customer=customers[2],
            customer_ref=customers[2].pk,
            kind="export",
            requested_at=now - timedelta(days=20),
            due_at=now + timedelta(days=days),
        )
    _review_item(created=now - timedelta(days=3))  # past the default 24-hour target
    services.vendor_save(
        name="DataCo",
        service="Address checks",
        receives="Postcodes",
        dpa_status="requested",
        next_review=timezone.localdate() - timedelta(days=1),
    )
    client = Client()
    client.force_login(make_user(Role.OWNER))

    # when the owner opens the dashboard
    response = client.get(reverse("owner:dashboard"))

    # then each figure is there, with the place to act on it
    assert response.status_code == 200
    page, html = text_of(response), response.content.decode()
    assert "Paused until a date 33.3% 1 customer " in page
    assert "Off (same list as any visitor) 33.3% 1 customer " in page
    assert "Open 2 Data requests" in page and "Overdue 1 Data requests" in page
    assert "Fewest days left -2" in page
    assert "Waiting past the target 1 1 waiting; target 24.0 h" in page
    assert "Vendor reviews overdue 1 DataCo" in page
    assert "Staff who have not read the AI policy no policy yet" in page
    assert html.count("<svg") >= 6
    for name in (
        "owner:kill_switch",
        "owner:features",
        "owner:vendors",
        "owner:ai_policy",
        "owner:trust_survey",
        "owner:notice_list",
        "owner:audit_list",
        "staff:data_requests",
        "staff:review_queue",
    ):
        assert f'href="{reverse(name)}"' in html, name


def test_the_dashboard_and_the_transparency_page_do_not_query_per_row(make_user):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.roles import Role

    owner = Client()
    owner.force_login(make_user(Role.OWNER))

    def queries() -> tuple[int, int]:
        counts = []
        for client, url in ((owner, reverse("owner:dashboard")), (Client(), "/transparency/")):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            counts.append(len(captured))
        owner_page, public_page = counts
        return owner_page, public_page

    def more_of_everything(n: int) -> None:
        for index in range(n):
            customer = CustomerProfileFactory.create()
            _grant(customer, "personalization", "purchase_history", timezone.now())
            services.trust_survey_answer(customer=customer, score=1 + index % 5, comment="fair")
            services.vendor_save(
                name=f"Vendor {customer.pk}",
                service="x",
                receives="y",
                dpa_status="none",
                next_review=timezone.localdate() - timedelta(days=1),
            )
            make_user(Role.STAFF)

    queries()  # the first visit to the public page writes the initial privacy notice
    more_of_everything(2)
    few = queries()
    more_of_everything(10)
    assert queries() == few


def test_pause_and_off_rates_over_time_come_from_the_daily_snapshots(shop):
    from governance.models import ModeSnapshot
    from governance.tasks import record_mode_snapshot

    # given October's last snapshot (earlier ones in the month do not count)
    ModeSnapshot.objects.create(day=date(2026, 10, 3), customers=10, on=10, paused=0, off=0, none=0)
    services.mode_snapshot_record(today=date(2026, 10, 31))
    # September has none

    kpis = owner_kpis(now=NOW, months=3)

    # on 31 October C2 was paused (until December) and C3 too (until 1 November)
    assert kpis.mode_history["paused"] == [None, 0.2, 0.1]
    assert kpis.mode_history["off"] == [None, 0.1, 0.1]
    assert kpis.mode_history["none"] == [None, 0.1, 0.1]

    # the daily task records today's figures once, however often it runs
    record_mode_snapshot()
    record_mode_snapshot()
    today = ModeSnapshot.objects.get(day=timezone.localdate())
    assert (today.customers, today.off, today.none) == (10, 1, 1)
