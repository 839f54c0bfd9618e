"""Fixtures shared by the API tests."""

import pytest

from personalization.recommending import services
from tests.builders import ALL, Shop, bought, grant
from tests.factories import CustomerProfileFactory


@pytest.fixture
def shop_customer(db):
    """Customer C1 of a small bakery, with consent and a history; a model is trained."""
    shop = Shop()
    profile = CustomerProfileFactory(external_id="C1")
    grant(profile, *ALL)
    bought(profile, shop.wheat, times=5)
    bought(profile, shop.croissant, times=3)
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    return profile
