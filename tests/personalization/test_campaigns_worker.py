"""Sending with real Celery workers (Redis broker, PostgreSQL): at most once per customer.

The guarantee: no customer is ever sent the same campaign twice, whatever happens to the
tasks (duplicated, retried, workers killed). Each recipient row is claimed with one
conditional UPDATE before its email goes out and marked sent after; a worker killed
between the two leaves the row "sending (unconfirmed)" and it is never sent again. So:
- with workers that keep running, every approved recipient gets exactly one email, even
  when the send task is queued twice and two workers run it at the same time;
- with a worker killed right after an email went out but before it was marked sent
  (the worst moment, reached through a test-only pause hook, no timing guesses), a fresh
  worker finishes the rest and nobody gets a second email: at most once.

Emails are written by Django's file-based backend into a temporary folder (the worker's
environment points it there), and counted per address.
"""

from __future__ import annotations

import os
import re
import signal
from decimal import Decimal
from pathlib import Path

import pytest

from personalization.campaigns import selectors, sending, tasks
from personalization.campaigns.models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    RecipientStatus,
)
from personalization.campaigns.sending import PAUSE_DIR_ENV
from personalization.models import Channel, ModelVersion, Recommendation, RecommendationStatus
from tests.builders import allow_marketing
from tests.factories import CustomerProfileFactory, ItemFactory
from tests.workers import require_worker_services, wait_for, worker_pool

RECIPIENTS = 24

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mailbox(tmp_path) -> Path:
    folder = tmp_path / "mail"
    folder.mkdir()
    return folder


@pytest.fixture
def workers(tmp_path, mailbox, monkeypatch):
    """Starts worker processes on a queue of this test's own; stops them afterwards."""
    require_worker_services("the campaign worker test")
    with worker_pool(
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
        prefix="test-campaigns",
        tasks=[tasks.campaign_send],
        env={
            "FAIRSHARE_TEST_EMAIL_FILE_PATH": str(mailbox),
            "CAMPAIGN_EMAILS_PER_MINUTE": "100000",
        },
    ) as pool:
        yield pool.queue, pool.start


def emails_by_address(mailbox: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in mailbox.iterdir():
        for address in re.findall(r"^To: (.+)$", path.read_text(), flags=re.MULTILINE):
            counts[address.strip()] = counts.get(address.strip(), 0) + 1
    return counts


@pytest.fixture
def campaign_sending(make_user):
    """A campaign in review whose offers a reviewer approved."""
    from accounts.roles import Role

    owner = make_user(Role.OWNER)
    version = ModelVersion.objects.create(status=ModelVersion.Status.ACTIVE)
    item = ItemFactory(name="Rye Sourdough", price=Decimal("4.80"))
    campaign = Campaign.objects.create(
        name="Rye week",
        subject="Rye is back",
        message="Dark and chewy.",
        created_by=owner,
        status=CampaignStatus.IN_REVIEW,
    )
    for n in range(RECIPIENTS):
        customer = CustomerProfileFactory(email=f"worker-test-{n:02d}@example.com")
        allow_marketing(customer)
        rec = Recommendation.objects.create(
            customer=customer,
            item=item,
            score=1.0,
            rank=1,
            model_version=version,
            channel=Channel.EMAIL,
            reasons=[{"kind": "popularity", "contribution": 1.0}],
            sentence="Because it is popular with our customers",
            status=RecommendationStatus.APPROVED,
        )
        CampaignRecipient.objects.create(
            campaign=campaign, customer=customer, recommendation=rec, segment="breads"
        )
    return campaign, owner


def start_sending(campaign, owner) -> None:
    # As the owner's "send" button does; its task goes to this test's queue on commit.
    sending.campaign_send_start(campaign=campaign, user=owner, base_url="https://shop.test/")


def sent_all(campaign):
    def check() -> bool:
        campaign.refresh_from_db()
        return campaign.status == CampaignStatus.SENT

    return check


def test_a_send_task_queued_twice_on_two_workers_emails_everyone_exactly_once(
    workers, campaign_sending, mailbox
):
    queue, start = workers
    campaign, owner = campaign_sending
    first, first_log = start("first")
    second, second_log = start("second")

    # when: sending starts and the same task is queued a second time (a duplicate)
    start_sending(campaign, owner)
    tasks.campaign_send.apply_async(args=[campaign.pk], queue=queue)

    wait_for(
        sent_all(campaign),
        processes=[first, second],
        logs=[first_log, second_log],
        what="send the campaign",
    )
    # then: both workers ran the task, and every customer got exactly one email
    for log in (first_log, second_log):
        assert "campaigns.send" in log.read_text()
    counts = emails_by_address(mailbox)
    expected = {f"worker-test-{n:02d}@example.com" for n in range(RECIPIENTS)}
    assert set(counts) == expected
    assert set(counts.values()) == {1}
    statuses = set(
        CampaignRecipient.objects.filter(campaign=campaign).values_list("status", flat=True)
    )
    assert statuses == {RecipientStatus.SENT}
    assert selectors.campaign_progress(campaign=campaign).percent == 100


def test_a_worker_killed_mid_send_never_causes_a_second_email(
    workers, campaign_sending, mailbox, tmp_path
):
    queue, start = workers
    campaign, owner = campaign_sending
    pause_dir = tmp_path / "pause"
    pause_dir.mkdir()

    # given: a worker that has just sent its first email but not yet marked it sent...
    first, first_log = start("first", **{PAUSE_DIR_ENV: str(pause_dir)})
    start_sending(campaign, owner)
    wait_for(
        (pause_dir / "paused").exists,
        processes=[first],
        logs=[first_log],
        what="send a first email",
    )
    in_doubt = CampaignRecipient.objects.get(campaign=campaign, status=RecipientStatus.SENDING)
    assert emails_by_address(mailbox) == {in_doubt.customer.email: 1}

    # ...is killed there
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING

    # when: a fresh worker takes over ("resume sending" queues the task again)
    second, second_log = start("second")
    start_sending(campaign, owner)
    wait_for(
        sent_all(campaign),
        processes=[second],
        logs=[second_log],
        what="finish the campaign",
    )

    # then: everyone else got exactly one email, and the customer whose email was in
    # flight was not sent another (their row stays unconfirmed, shown on the page)
    counts = emails_by_address(mailbox)
    assert sum(counts.values()) == RECIPIENTS
    assert set(counts.values()) == {1}
    in_doubt.refresh_from_db()
    assert in_doubt.status == RecipientStatus.SENDING
    progress = selectors.campaign_progress(campaign=campaign)
    assert (progress.sent, progress.unconfirmed) == (RECIPIENTS - 1, 1)
