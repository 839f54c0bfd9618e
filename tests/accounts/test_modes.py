from datetime import date

import pytest

from accounts.models import PersonalizationMode
from accounts.selectors import effective_mode
from accounts.services import customer_profile_set_mode
from core.errors import ApplicationError
from tests.factories import CustomerProfileFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 27)


def test_pause_resumes_by_itself_after_its_date():
    profile = CustomerProfileFactory()
    customer_profile_set_mode(
        profile=profile,
        mode=PersonalizationMode.PAUSED,
        paused_until=date(2026, 12, 1),
        today=TODAY,
    )
    assert effective_mode(profile=profile, today=date(2026, 12, 1)) is PersonalizationMode.PAUSED
    assert effective_mode(profile=profile, today=date(2026, 12, 2)) is PersonalizationMode.ON


def test_pause_needs_a_future_date():
    profile = CustomerProfileFactory()
    with pytest.raises(ApplicationError) as error:
        customer_profile_set_mode(
            profile=profile, mode=PersonalizationMode.PAUSED, paused_until=TODAY, today=TODAY
        )
    assert error.value.field == "paused_until"
    profile.refresh_from_db()
    assert profile.personalization_mode == PersonalizationMode.ON


def test_switching_off_clears_the_pause_date():
    profile = CustomerProfileFactory()
    customer_profile_set_mode(
        profile=profile,
        mode=PersonalizationMode.PAUSED,
        paused_until=date(2026, 12, 1),
        today=TODAY,
    )
    customer_profile_set_mode(profile=profile, mode=PersonalizationMode.NONE, today=TODAY)
    profile.refresh_from_db()
    assert (profile.personalization_mode, profile.paused_until) == ("none", None)
    assert effective_mode(profile=profile, today=TODAY) is PersonalizationMode.NONE
