"""Thin API views: parse, call a service or selector, render."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import ApiKey, ApiScope, CustomerProfile, PersonalizationMode
from accounts.selectors import effective_mode
from core import inputs
from core.api import StrictQueryAPIView, error_body
from core.errors import ApplicationError
from core.sql import fetch_instance
from governance.features import API_RECOMMENDATIONS, MODEL_ITEM_KNN
from personalization.api import entries as E
from personalization.api import examples as X
from personalization.api import serializers as S
from personalization.campaigns import selectors as campaign_selectors
from personalization.consent.services import ConsentChange, RequestFingerprint, consent_set
from personalization.datarights.services import data_request_create
from personalization.importing.batches import customers_upsert, events_ingest, items_upsert
from personalization.importing.rows import AUDIT_PREFIX
from personalization.models import Consent, Item
from personalization.recommending.delivery import recommendations_deliver
from personalization.recommending.serving import customer_serving_state
from personalization.registry import PERSONALIZATION

ERRORS = {
    400: OpenApiResponse(S.ErrorSerializer, description="Invalid input; `error.field` names it."),
    401: OpenApiResponse(S.ErrorSerializer, description="No or unknown API key."),
    403: OpenApiResponse(S.ErrorSerializer, description="The key lacks the scope."),
    429: OpenApiResponse(S.ErrorSerializer, description="Too many requests for this key."),
}
NOT_FOUND = {404: OpenApiResponse(S.ErrorSerializer, description="Unknown customer.")}


def _batch_body(request: Request, name: str) -> tuple[list, bool]:
    """The batch list of a body and its `all_or_nothing` flag, or a 400 naming the field.

    The body is an object with the list and, optionally, the flag (a JSON boolean:
    `"true"` or `1` would otherwise pass for false and store a partial batch); other
    keys are refused, as the schema says.
    """
    body = request.data
    if not isinstance(body, dict) or not isinstance(body.get(name), list):
        raise ApplicationError(
            _("The body must be an object with a list '%(name)s'.") % {"name": name}, field=name
        )
    unknown = sorted(str(key) for key in body if key not in (name, "all_or_nothing"))
    if unknown:
        raise ApplicationError(
            _("Unknown field '%(field)s'.") % {"field": unknown[0]}, field=unknown[0]
        )
    if len(body[name]) > inputs.BATCH_MAX_ENTRIES:
        raise ApplicationError(
            _("A batch holds at most %(most)s entries; this one has %(count)s.")
            % {"most": f"{inputs.BATCH_MAX_ENTRIES:,}", "count": f"{len(body[name]):,}"},
            code="batch_too_large",
            field=name,
        )
    flag = body.get("all_or_nothing", False)
    if flag is not True and flag is not False:
        raise ApplicationError(
            _("all_or_nothing must be true or false (a JSON boolean)."), field="all_or_nothing"
        )
    return body[name], flag


def _batch_response(result) -> Response:
    data = S.BatchResultSerializer(asdict(result)).data
    if not result.stored:
        return Response(
            error_body(
                "invalid_batch",
                f"{len(result.rejected)} of {result.received} entries are invalid; "
                "nothing was stored (all_or_nothing).",
                details=result.rejected,
            ),
            status=status.HTTP_400_BAD_REQUEST,
        )
    return Response(data)


def _actor(request: Request) -> str:
    if isinstance(request.auth, ApiKey):
        return f"api:{request.auth.name}"
    return f"staff:{request.user.pk}"


class EventsView(StrictQueryAPIView):
    required_scope = ApiScope.EVENTS_WRITE

    @extend_schema(
        operation_id="events_ingest",
        summary="Send a batch of events (idempotent on event_id)",
        request=S.EventBatchSerializer,
        responses={200: S.BatchResultSerializer, **ERRORS},
        examples=[X.EVENTS_REQUEST, X.EVENTS_RESPONSE, X.EVENTS_RESPONSE_AGAIN],
    )
    def post(self, request: Request) -> Response:
        entries, all_or_nothing = _batch_body(request, "events")
        result = E.batch_checked(
            entries,
            all_or_nothing=all_or_nothing,
            types=E.EVENT_TYPES,
            store=lambda entries, all_or_nothing: events_ingest(
                events=entries, all_or_nothing=all_or_nothing
            ),
        )
        return _batch_response(result)


class ItemsView(StrictQueryAPIView):
    required_scope = ApiScope.CATALOG_WRITE

    @extend_schema(
        operation_id="items_upsert",
        summary="Create or update items by sku",
        request=S.ItemBatchSerializer,
        responses={200: S.BatchResultSerializer, **ERRORS},
        examples=[X.ITEMS_REQUEST, X.ITEMS_RESPONSE],
    )
    def put(self, request: Request) -> Response:
        entries, all_or_nothing = _batch_body(request, "items")
        result = E.batch_checked(
            entries,
            all_or_nothing=all_or_nothing,
            types=E.ITEM_TYPES,
            store=lambda entries, all_or_nothing: items_upsert(
                items=entries, all_or_nothing=all_or_nothing
            ),
        )
        return _batch_response(result)


class CustomersView(StrictQueryAPIView):
    required_scope = ApiScope.CUSTOMERS_WRITE

    @extend_schema(
        operation_id="customers_upsert",
        summary="Create or update customers by external_id",
        request=S.CustomerBatchSerializer,
        responses={200: S.BatchResultSerializer, **ERRORS},
        examples=[X.CUSTOMERS_REQUEST, X.CUSTOMERS_RESPONSE],
    )
    def put(self, request: Request) -> Response:
        entries, all_or_nothing = _batch_body(request, "customers")
        result = E.batch_checked(
            entries,
            all_or_nothing=all_or_nothing,
            types=E.CUSTOMER_TYPES,
            extra_text=lambda name: name.startswith(AUDIT_PREFIX),
            store=lambda entries, all_or_nothing: customers_upsert(
                customers=entries, all_or_nothing=all_or_nothing
            ),
        )
        return _batch_response(result)


def _consents_body(customer: CustomerProfile) -> dict:
    rows = (
        Consent.objects.filter(customer=customer)
        .select_related("event")
        .order_by("purpose", "data_category")
    )
    body = {
        "customer": customer.external_id,
        "consents": [
            {
                "purpose": row.purpose,
                "data_category": row.data_category,
                "granted": row.granted,
                "updated_at": row.updated_at,
                "method": row.event.method,
                "notice_version": row.event.notice_version,
            }
            for row in rows
        ],
    }
    return S.ConsentsSerializer(body).data


class ConsentsView(StrictQueryAPIView):
    required_scopes = {
        "GET": ApiScope.CONSENTS_READ,
        "PUT": ApiScope.CONSENTS_WRITE,
    }

    def _customer(self, external_id: str) -> CustomerProfile:
        return get_object_or_404(CustomerProfile, external_id=external_id)

    @extend_schema(
        operation_id="consents_read",
        summary="A customer's current consent per purpose and data category",
        description="Cells the customer never decided are absent and mean no (opt-in).",
        responses={200: S.ConsentsSerializer, **ERRORS, **NOT_FOUND},
        examples=[X.CONSENTS_RESPONSE],
    )
    def get(self, request: Request, external_id: str) -> Response:
        return Response(_consents_body(self._customer(external_id)))

    @extend_schema(
        operation_id="consents_write",
        summary="Record consent decisions the customer made in the shop's systems",
        description="Each change becomes a consent-ledger event with method 'api'.",
        request=S.ConsentsUpdateSerializer,
        responses={200: S.ConsentsSerializer, **ERRORS, **NOT_FOUND},
        examples=[X.CONSENTS_REQUEST, X.CONSENTS_RESPONSE],
    )
    def put(self, request: Request, external_id: str) -> Response:
        customer = self._customer(external_id)
        body = S.ConsentsUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        consent_set(
            customer=customer,
            changes=[
                ConsentChange(c["purpose"], c["data_category"], c["granted"])
                for c in body.validated_data["consents"]
            ],
            method="api",
            actor=_actor(request),
            notice_version=body.validated_data.get("notice_version"),
            fingerprint=RequestFingerprint.from_request(request._request),
        )
        return Response(_consents_body(customer))


def _customer_fast(external_id: str) -> CustomerProfile:
    """The customer by external id, in plain SQL (the recommendations read is the API's
    hot path; the ORM's query compiler costs more than the lookup)."""
    customer = fetch_instance(CustomerProfile, "external_id", external_id)
    if customer is None:
        raise Http404
    return customer


# Where the shop will show a customer's recommendations (the `channel` parameter).
ONSITE, EMAIL = "onsite", "email"
CHANNELS = (ONSITE, EMAIL)


class RecommendationsView(StrictQueryAPIView):
    required_scope = ApiScope.RECOMMENDATIONS_READ
    query_parameters = ("limit", "channel")

    @extend_schema(
        operation_id="recommendations_read",
        summary="A customer's recommendations with their explanations",
        description=(
            "`channel=onsite` (the default) is the customer's list for the shop's website, "
            "app or till: it respects the customer's mode (off and paused give the "
            "non-personalized list, none gives nothing), the shop's kill switch (the "
            "non-personalized list for everyone; also while recommendations through the "
            "API are switched off in the risk gate), consent, restrictions and review "
            "holds. `channel=email` is for the shop's own email tool: only offers a person "
            "approved in an offer campaign's review, and only while the customer's "
            "personalization is on, they allow offers by email for every data category an "
            "offer rests on, and offer emails are switched on; nothing is generated for "
            "it. Offer campaigns send their own emails too, so use one or the other. Each "
            "item's structured reasons sum to its score."
        ),
        parameters=[
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
                description="At most this many items (1-50, default 10).",
            ),
            OpenApiParameter(
                "channel",
                str,
                enum=list(CHANNELS),
                description="Where the shop will show the items (default onsite).",
            ),
        ],
        responses={200: S.RecommendationsSerializer, **ERRORS, **NOT_FOUND},
        examples=[X.RECOMMENDATIONS_RESPONSE, X.RECOMMENDATIONS_PAUSED, X.RECOMMENDATIONS_EMAIL],
    )
    def get(self, request: Request, external_id: str) -> Response:
        channel = request.query_params.get("channel", ONSITE)
        state = None
        if channel == ONSITE:
            # The hot path: the customer and their serving state in one statement.
            found = customer_serving_state(
                external_id=external_id,
                purpose=PERSONALIZATION,
                features=(API_RECOMMENDATIONS, MODEL_ITEM_KNN),
            )
            if found is None:
                raise Http404
            customer, state = found
        else:
            customer = _customer_fast(external_id)
        try:
            limit = int(request.query_params.get("limit", 10))
        except ValueError:
            limit = -1
        if not 1 <= limit <= 50:
            raise ApplicationError("limit must be a whole number from 1 to 50.", field="limit")
        if channel not in CHANNELS:
            raise ApplicationError(
                f"channel must be one of: {', '.join(CHANNELS)}.", field="channel"
            )
        if channel == EMAIL:
            return Response(_recommendations_answer(_email_offers_body(customer, limit)))
        page = recommendations_deliver(
            customer=customer, explain=False, feature=API_RECOMMENDATIONS, state=state
        )
        body = [
            {
                "rank": entry.rank,
                "sku": entry.sku,
                "name": entry.name,
                "category": entry.category_slug,
                "price": entry.price,
                "score": entry.score,
                "model_version": entry.model_version_id,
                "reason": entry.sentence,
                "reasons": entry.structured_reasons,
            }
            for entry in page.items[:limit]
        ]
        return Response(
            _recommendations_answer(
                {
                    "customer": customer.external_id,
                    "channel": ONSITE,
                    "mode": page.mode.value,
                    "personalized": page.personalized,
                    "shop_paused": page.shop_paused,
                    "under_review": page.under_review,
                    "complete": page.complete,
                    "marketing_consent": None,
                    "items": body,
                }
            )
        )


def _recommendations_answer(body: dict) -> dict:
    """The answer as its serializer gives it; reasons name evidence items by SKU (one
    query for the items the reasons cite)."""
    cited = {r["item"] for i in body["items"] for r in i["reasons"] if r.get("item") is not None}
    skus = dict(Item.objects.filter(pk__in=cited).values_list("pk", "sku")) if cited else {}
    return S.RecommendationsSerializer(body, context={"skus": skus}).data


def _email_offers_body(customer: CustomerProfile, limit: int) -> dict:
    """The email channel: approved campaign offers that may reach the customer now."""
    mode = effective_mode(profile=customer)
    body: dict[str, Any] = {
        "customer": customer.external_id,
        "channel": EMAIL,
        "mode": mode.value,
        "personalized": False,
        "shop_paused": False,
        "under_review": False,
        "complete": True,
        "marketing_consent": None,
        "items": [],
    }
    if mode is not PersonalizationMode.ON:
        # Offer emails are personal marketing: none while personalization is not on.
        return body
    if campaign_selectors.offer_emails_halt_reason() is not None:
        return {**body, "shop_paused": True}
    found = campaign_selectors.email_offers_of(customer=customer)
    return {
        **body,
        "personalized": bool(found.offers),
        "under_review": found.waiting and not found.offers,
        "marketing_consent": found.marketing_consent,
        "items": [
            {
                "rank": offer.rank,
                "sku": offer.item.sku,
                "name": offer.item.name,
                "category": offer.item.category.slug,
                "price": offer.item.price,
                "score": offer.score,
                "model_version": offer.model_version_id,
                "reason": offer.sentence,
                "reasons": offer.reasons,
            }
            for offer in found.offers[:limit]
        ],
    }


class DataRequestsView(StrictQueryAPIView):
    required_scope = ApiScope.REQUESTS_WRITE

    @extend_schema(
        operation_id="data_requests_create",
        summary="File a customer's data request received by the shop (export, erasure, objection)",
        request=S.DataRequestCreateSerializer,
        responses={201: S.DataRequestSerializer, **ERRORS, **NOT_FOUND},
        examples=[X.DATA_REQUEST_REQUEST, X.DATA_REQUEST_RESPONSE],
    )
    def post(self, request: Request, external_id: str) -> Response:
        customer = get_object_or_404(CustomerProfile, external_id=external_id)
        body = S.DataRequestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        created = data_request_create(
            customer=customer,
            kind=body.validated_data["kind"],
            method="api",
            ledger_actor=_actor(request),
            fingerprint=RequestFingerprint.from_request(request._request),
        )
        return Response(S.DataRequestSerializer(created).data, status=status.HTTP_201_CREATED)
