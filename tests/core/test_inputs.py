"""core.inputs: the bounds the importer and the API share, checked before any arithmetic."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core import inputs
from personalization.importing import batches

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0001-01-01T00:00:00+14:00", "occurred_at '0001-01-01T00:00:00+14:00' is before 1970"),
        ("1969-12-31T23:59:59+00:00", "occurred_at '1969-12-31T23:59:59+00:00' is before 1970"),
        # 01:00 at +02:00 is 23:00 UTC the day before: the window is in UTC.
        ("1970-01-01T01:00:00+02:00", "occurred_at '1970-01-01T01:00:00+02:00' is before 1970"),
        ("9999-12-31T23:59:59-14:00", "occurred_at '9999-12-31T23:59:59-14:00' is in the future"),
        ("2026-11-21T09:30:01+00:00", "occurred_at '2026-11-21T09:30:01+00:00' is in the future"),
    ],
)
def test_event_times_outside_the_window_are_refused(raw, message):
    with pytest.raises(inputs.InputError) as refused:
        inputs.check_event_time(datetime.fromisoformat(raw), now=NOW, name="occurred_at", raw=raw)
    assert str(refused.value) == message


def test_event_times_inside_the_window_come_back_in_utc():
    raw = "1970-01-01T00:00:00-05:00"
    value = inputs.check_event_time(datetime.fromisoformat(raw), now=NOW, name="t", raw=raw)
    assert value == datetime(1970, 1, 1, 5, tzinfo=UTC) and value.tzinfo is UTC
    edge = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
    assert inputs.check_event_time(edge, now=NOW, name="t", raw="") == edge


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1e27", "value is too large: 1e27 (at most 10 digits)"),
        ("1e400", "value is too large: 1e400 (at most 10 digits)"),
        ("1E+999999999", "value is too large: 1E+999999999 (at most 10 digits)"),
        ("10000000000", "value is too large: 10000000000 (at most 10 digits)"),
        ("NaN", "value must be a number like 3.50, got 'NaN'"),
        ("sNaN", "value must be a number like 3.50, got 'sNaN'"),
        ("Infinity", "value must be a number like 3.50, got 'Infinity'"),
        ("-inf", "value must be a number like 3.50, got '-inf'"),
        ("four", "value must be a number like 3.50, got 'four'"),
        ("-0.01", "value must not be negative, got -0.01"),
        ("1.005", "value has more than 2 decimal places: 1.005"),
        ("1e-400", "value has more than 2 decimal places: 1e-400"),
    ],
)
def test_money_outside_its_field_is_refused_before_any_arithmetic(raw, message):
    with pytest.raises(inputs.InputError) as refused:
        inputs.parse_money(raw, name="value", digits=inputs.EVENT_VALUE_DIGITS)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("9999999999.99", Decimal("9999999999.99")),
        ("4.2", Decimal("4.20")),
        ("1.000", Decimal("1.00")),
        ("-0", Decimal("0.00")),
        ("0E+1000", Decimal("0.00")),
        ("1E+5", Decimal("100000.00")),
    ],
)
def test_money_inside_its_field_is_kept_at_two_places(raw, expected):
    value = inputs.parse_money(raw, name="value", digits=inputs.EVENT_VALUE_DIGITS)
    assert value == expected and str(value) == str(expected)


def test_prices_have_fewer_digits_than_event_values():
    with pytest.raises(inputs.InputError, match="price is too large: 100000000"):
        inputs.parse_money("100000000", name="price", digits=inputs.PRICE_DIGITS)
    assert inputs.parse_money("99999999.99", name="price", digits=inputs.PRICE_DIGITS)


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
def test_json_nested_deeper_than_32_is_refused(depth):
    with pytest.raises(inputs.InputError, match="the body nests deeper than 32 levels"):
        inputs.json_loads("[" * depth + "]" * depth)
    with pytest.raises(inputs.InputError, match="deeper than 32"):
        inputs.json_loads('{"a":' * depth + "1" + "}" * depth)


def test_json_nested_32_deep_is_parsed():
    assert inputs.json_loads("[" * 32 + "]" * 32) == json.loads("[" * 32 + "]" * 32)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"value": NaN}', "NaN is not a JSON number"),
        ('{"value": -Infinity}', "-Infinity is not a JSON number"),
        ('{"value": 1e400}', "the number 1e400 is out of range"),
    ],
)
def test_json_numbers_that_are_not_finite_are_refused(text, message):
    with pytest.raises(inputs.InputError) as refused:
        inputs.json_loads(text)
    assert str(refused.value) == message


@pytest.mark.parametrize("value", ["true", "false", 1, 0, None, {}, []])
def test_only_json_booleans_are_booleans(value):
    with pytest.raises(inputs.InputError, match="flag must be true or false"):
        inputs.strict_bool(value, name="flag")
    assert inputs.strict_bool(True, name="flag") is True
    assert inputs.strict_bool(False, name="flag") is False


def test_the_api_body_limit_holds_the_documented_batch_at_its_widest():
    # given the largest valid event: every id at its maximum length in 4-byte characters
    wide = "\U0001f950"
    event = {
        "event_id": wide * inputs.EVENT_ID_MAX_LENGTH,
        "customer_external_id": wide * inputs.EXTERNAL_ID_MAX_LENGTH,
        "sku": wide * inputs.SKU_MAX_LENGTH,
        "kind": "purchase",
        "occurred_at": "2026-11-14T08:05:00.999999-12:00",
        "quantity": inputs.EVENT_QUANTITY_MAX,
        "value": "9999999999.99",
    }
    body = {"events": [event] * inputs.BATCH_MAX_ENTRIES, "all_or_nothing": True}
    # then the whole batch fits, compact or pretty-printed
    limit = inputs.max_event_batch_bytes()
    assert len(json.dumps(body, ensure_ascii=False).encode()) <= limit
    assert len(json.dumps(body, indent=2, ensure_ascii=False).encode()) <= limit
    # and the limit is Django's page limit of 2.5 MiB many times over, not unbounded
    assert 2_621_440 < limit < 16 * 2**20


def test_the_batch_size_is_one_definition():
    assert batches.MAX_BATCH == inputs.BATCH_MAX_ENTRIES
