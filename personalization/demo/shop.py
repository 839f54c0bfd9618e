"""The whole demo shop: `build_demo` puts the catalog, customers and histories together."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from personalization.demo.catalog import CATALOG, DemoItem
from personalization.demo.histories import (
    DemoEvent,
    _customer_history,
    _gable_history,
    _RawEvent,
)
from personalization.demo.people import (
    GABLE,
    LOGINS,
    SEGMENTS_BY_NAME,
    DemoCustomer,
    DemoLogin,
    _customers,
)

SHOP_NAME = "Crumb & Co."
DEFAULT_SEED = 1874  # the year the (fictional) bakery opened
DEFAULT_AS_OF = date(2026, 11, 20)


@dataclass(frozen=True)
class DemoShop:
    as_of: date
    seed: int
    items: tuple[DemoItem, ...]
    customers: tuple[DemoCustomer, ...]
    events: tuple[DemoEvent, ...]
    logins: tuple[DemoLogin, ...] = LOGINS

    def catalog_rows(self) -> list[dict[str, str]]:
        return [item.as_row() for item in self.items]

    def customer_rows(self) -> list[dict[str, str]]:
        return [customer.as_row() for customer in self.customers]

    def event_rows(self) -> list[dict[str, str]]:
        return [event.as_row() for event in self.events]


def build_demo(*, as_of: date = DEFAULT_AS_OF, seed: int = DEFAULT_SEED) -> DemoShop:
    """The whole demo shop for `as_of`: the same arguments always give the same shop."""
    customers = _customers(seed=seed)
    raw: list[_RawEvent] = []
    for index, customer in enumerate(customers):
        # One generator per customer, so a change to one history leaves the others alone.
        rng = random.Random(f"{seed}:{customer.external_id}")
        if customer.external_id == GABLE.external_id:
            history = _gable_history(rng)
        else:
            history = _customer_history(rng, SEGMENTS_BY_NAME[customer.segment])
        raw.extend(
            _RawEvent(minute, index, seq, kind, sku, quantity, value)
            for seq, (minute, kind, sku, quantity, value) in enumerate(history)
        )
    # Ids follow time, like a shop's event log; `minute` is relative to as-of, so the
    # order (and every id) is the same for any as-of date.
    raw.sort(key=lambda event: (event.minute, event.customer_index, event.seq))
    start = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    events = tuple(
        DemoEvent(
            event_id=f"demo-{number:08d}",
            customer_external_id=customers[event.customer_index].external_id,
            sku=event.sku,
            kind=event.kind,
            occurred_at=start + timedelta(minutes=event.minute),
            quantity=event.quantity,
            value=event.value,
        )
        for number, event in enumerate(raw, start=1)
    )
    return DemoShop(as_of=as_of, seed=seed, items=CATALOG, customers=customers, events=events)
