"""Each key has its own request budget per minute; the answer says when to come back."""

import pytest

from accounts.api_auth import ApiKeyRateThrottle
from accounts.models import ApiScope

pytestmark = pytest.mark.django_db
URL = "/api/v1/customers/nobody/consents/"


@pytest.fixture
def three_per_minute(monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "3/min"})


def test_a_key_over_its_budget_gets_429_with_retry_after_and_others_are_unaffected(
    api, three_per_minute
):
    till = api(ApiScope.CONSENTS_READ, name="till")
    shop = api(ApiScope.CONSENTS_READ, name="web shop")
    assert [till.get(URL).status_code for _ in range(3)] == [404, 404, 404]
    refused = till.get(URL)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60
    assert shop.get(URL).status_code == 404


def test_the_budget_comes_back_in_the_next_minute(api, three_per_minute, monkeypatch):
    clock = [1_000_020.0]
    monkeypatch.setattr(ApiKeyRateThrottle, "timer", lambda self: clock[0])
    till = api(ApiScope.CONSENTS_READ)
    assert [till.get(URL).status_code for _ in range(4)] == [404, 404, 404, 429]
    clock[0] += 60
    assert till.get(URL).status_code == 404
