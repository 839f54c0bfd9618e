"""The personalization app's models, one module per area."""

from personalization.models.catalog import (
    Attribute,
    Category,
    DataCategory,
    Interaction,
    InteractionKind,
    Item,
    Purpose,
)
from personalization.models.consent import Consent, ConsentEvent, ConsentMethod, PrivacyNotice
from personalization.models.engine import (
    Channel,
    Feedback,
    FeedbackKind,
    GenerationRun,
    ModelVersion,
    Recommendation,
    RecommendationStatus,
)
from personalization.models.import_runs import ImportRun, ImportRunStatus
from personalization.models.importing import GuestSale, NonProductCode
from personalization.models.oversight import (
    OversightSettings,
    ReasonCode,
    ReviewAction,
    ReviewActionKind,
    ReviewDecision,
    ReviewItem,
    ReviewKind,
    ReviewSource,
    ReviewStatus,
)
from personalization.models.requests import (
    DataRequest,
    DataRequestEvent,
    DataRequestKind,
    DataRequestStatus,
    RetentionRun,
)
from personalization.models.webhooks import Webhook, WebhookDelivery, WebhookEvent

__all__ = [
    "Attribute",
    "Category",
    "Consent",
    "ConsentEvent",
    "ConsentMethod",
    "DataCategory",
    "DataRequest",
    "DataRequestEvent",
    "DataRequestKind",
    "DataRequestStatus",
    "GuestSale",
    "ImportRun",
    "ImportRunStatus",
    "NonProductCode",
    "Interaction",
    "InteractionKind",
    "Item",
    "PrivacyNotice",
    "Purpose",
    "RetentionRun",
    "Webhook",
    "WebhookDelivery",
    "WebhookEvent",
    "Channel",
    "Feedback",
    "FeedbackKind",
    "GenerationRun",
    "ModelVersion",
    "Recommendation",
    "RecommendationStatus",
    "OversightSettings",
    "ReasonCode",
    "ReviewAction",
    "ReviewActionKind",
    "ReviewDecision",
    "ReviewItem",
    "ReviewKind",
    "ReviewSource",
    "ReviewStatus",
]
