"""Request and response shapes: requests are validated by them, and every answer is produced
by its output serializer, so the schema and the answers cannot drift apart."""

from datetime import UTC

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import ApiScope  # noqa: F401 - referenced in docs
from core import inputs
from personalization import registry
from personalization.importing import rows as R


class StrictBooleanField(serializers.BooleanField):
    """Only JSON true and false (DRF's own also takes "yes", 1, "on"...)."""

    default_error_messages = {"invalid": _("Must be true or false (a JSON boolean).")}

    def to_internal_value(self, data):
        if data is True or data is False:
            return data
        self.fail("invalid")


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine code, e.g. 'invalid', 'not_found'.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    field = serializers.CharField(required=False, help_text="The input at fault, if any.")
    details = serializers.JSONField(required=False)


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def _money_schema(digits: tuple[int, int]) -> dict:
    whole = digits[0] - digits[1]
    largest = float(f"{'9' * whole}.{'9' * digits[1]}")
    return {
        "oneOf": [
            {"type": "string", "pattern": rf"^\d{{1,{whole}}}(\.\d{{1,{digits[1]}}})?$"},
            {"type": "number", "minimum": 0, "maximum": largest},
        ],
        "description": (
            f'A decimal string like "4.20" or a JSON number: at least 0, at most '
            f"{whole} digits before the point and {digits[1]} after it."
        ),
    }


@extend_schema_field(_money_schema(inputs.EVENT_VALUE_DIGITS))
class EventValueField(serializers.Field):
    """Schema only: the row checks parse it (`core.inputs.parse_money`)."""


@extend_schema_field(_money_schema(inputs.PRICE_DIGITS))
class PriceField(serializers.Field):
    """Schema only: the row checks parse it (`core.inputs.parse_money`)."""


def _id(max_length: int, **kwargs) -> serializers.CharField:
    return serializers.CharField(min_length=1, max_length=max_length, **kwargs)


class EventSerializer(serializers.Serializer):
    event_id = _id(
        inputs.EVENT_ID_MAX_LENGTH, help_text="Unique per event; sent again, it is skipped."
    )
    customer_external_id = _id(inputs.EXTERNAL_ID_MAX_LENGTH)
    sku = _id(inputs.SKU_MAX_LENGTH)
    kind = serializers.ChoiceField(choices=list(R.EVENT_KINDS))
    occurred_at = serializers.DateTimeField(
        help_text=(
            f"ISO 8601 with a UTC offset, from {inputs.EARLIEST_EVENT_TIME:%Y-%m-%d} (UTC) to "
            "one day after the server's clock."
        )
    )
    quantity = serializers.IntegerField(min_value=1, max_value=inputs.EVENT_QUANTITY_MAX, default=1)
    value = EventValueField(required=False, help_text="0 when absent; a rating's stars (1-5).")


class EventBatchSerializer(serializers.Serializer):
    events = EventSerializer(
        many=True,
        help_text=f"Up to {inputs.BATCH_MAX_ENTRIES:,} events.",
    )
    all_or_nothing = StrictBooleanField(
        default=False, help_text="Refuse the whole batch if any event is invalid."
    )


class ItemSerializer(serializers.Serializer):
    sku = _id(inputs.SKU_MAX_LENGTH)
    name = _id(200)
    category = _id(100, help_text="A name with letters or digits; 'Breads' and 'breads' are one.")
    price = PriceField()
    attributes = serializers.ListField(
        child=serializers.RegexField(
            r"^\s*([A-Za-z0-9][A-Za-z0-9:_.-]*)?\s*$", max_length=60, allow_blank=True
        ),
        help_text="e.g. ['contains:gluten', 'vegan']; 'contains:none' when it has no allergens.",
    )
    active = StrictBooleanField()
    consumable = StrictBooleanField(required=False, default=True)


class ItemBatchSerializer(serializers.Serializer):
    items = ItemSerializer(many=True)
    all_or_nothing = StrictBooleanField(default=False)


class CustomerSerializer(serializers.Serializer):
    external_id = _id(inputs.EXTERNAL_ID_MAX_LENGTH)
    email = serializers.EmailField(allow_blank=True, max_length=254)
    name = serializers.CharField(max_length=150, allow_blank=True)


class CustomerBatchSerializer(serializers.Serializer):
    customers = CustomerSerializer(
        many=True,
        help_text="Objects may add 'audit:<attribute>' keys for declared audit attributes.",
    )
    all_or_nothing = StrictBooleanField(default=False)


class RejectedSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    field = serializers.CharField(required=False)
    message = serializers.CharField()


class BatchResultSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    already_stored = serializers.IntegerField()
    rejected = RejectedSerializer(many=True)
    stored = serializers.BooleanField(help_text="False when all_or_nothing refused the batch.")


class ConsentSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=[p.code for p in registry.PURPOSES])
    data_category = serializers.ChoiceField(choices=[c.code for c in registry.DATA_CATEGORIES])
    granted = StrictBooleanField()


class ConsentStateSerializer(ConsentSerializer):
    updated_at = serializers.DateTimeField(read_only=True, default_timezone=UTC)
    method = serializers.CharField(read_only=True)
    notice_version = serializers.IntegerField(read_only=True, allow_null=True)


class ConsentsSerializer(serializers.Serializer):
    customer = serializers.CharField(read_only=True)
    consents = ConsentStateSerializer(many=True, read_only=True)


class ConsentsUpdateSerializer(serializers.Serializer):
    consents = ConsentSerializer(many=True, allow_empty=False)
    notice_version = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2_147_483_647,
        help_text="The privacy notice version the customer saw when deciding.",
    )


class ReasonSerializer(serializers.Serializer):
    """One term of a score, as stored with the list; the evidence item is named by its SKU
    (context `skus`: item key -> SKU), never by an internal key."""

    kind = serializers.CharField(help_text="history, liked_category, popularity, feedback...")
    contribution = serializers.FloatField(help_text="Contributions of one item sum to its score.")
    data_category = serializers.CharField(required=False, allow_null=True)
    item_sku = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="history: the item the customer bought or viewed.",
    )
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        required=False,
        help_text="history: how many events of each kind the evidence item has.",
    )
    category = serializers.CharField(required=False, allow_null=True)
    items = serializers.IntegerField(
        required=False, help_text="other_history: how many further history items the term sums."
    )

    def to_representation(self, instance: dict) -> dict:
        reason = {key: value for key, value in instance.items() if key != "item"}
        if instance.get("item") is not None:
            reason["item_sku"] = self.context.get("skus", {}).get(instance["item"])
        data = super().to_representation(reason)
        # Keys a term does not have stay out, as the engine wrote it.
        return {key: value for key, value in data.items() if key in reason}


class RecommendedItemSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    score = serializers.FloatField(allow_null=True, help_text="Null on the non-personalized list.")
    model_version = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(help_text="The plain-language sentence shown to the customer.")
    reasons = ReasonSerializer(many=True)


class RecommendationsSerializer(serializers.Serializer):
    customer = serializers.CharField()
    channel = serializers.ChoiceField(
        choices=["onsite", "email"], help_text="Where the shop will show these items."
    )
    mode = serializers.CharField(help_text="on, paused, off or none (the customer's choice).")
    personalized = serializers.BooleanField(
        help_text=(
            "False when the customer's mode, the shop's kill switch or no model yet gives "
            "the non-personalized list."
        )
    )
    shop_paused = serializers.BooleanField(
        help_text=(
            "True while the shop has paused AI personalization: its kill switch, or "
            "recommendations through the API switched off in its risk gate."
        )
    )
    under_review = serializers.BooleanField(
        help_text=(
            "True when every item of the customer's own list waits for a person's review; "
            "the non-personalized list is sent meanwhile. A list with some flagged items "
            "is not under review: those wait, and the next safe items take their places."
        )
    )
    complete = serializers.BooleanField(
        help_text=(
            "False when the personalized list is shorter than a full one because too few "
            "items pass the customer's restrictions and the shop's checks (some may wait "
            "for a person's review); show the customer a note. True otherwise."
        )
    )
    marketing_consent = serializers.BooleanField(
        allow_null=True,
        help_text=(
            "Email channel: whether the customer allows offers by email at all (without it "
            "the list is empty). Null on the onsite channel."
        ),
    )
    items = RecommendedItemSerializer(many=True)


class DataRequestCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["export", "erasure", "objection"])


class DataRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    requested_at = serializers.DateTimeField(default_timezone=UTC)
    due_at = serializers.DateTimeField(default_timezone=UTC)
    not_before = serializers.DateTimeField(allow_null=True, default_timezone=UTC)
