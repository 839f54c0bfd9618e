"""Read-only audits API for keys with scope audits:read (thin: selectors render)."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import ApiScope
from audits import api_serializers as S
from audits.models import AuditRun
from audits.reports.selectors import audit_run_export, audit_runs
from core.api import StrictQueryAPIView
from core.errors import ApplicationError
from personalization.api.serializers import ErrorSerializer

ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="No or unknown API key."),
    403: OpenApiResponse(ErrorSerializer, description="The key lacks the scope audits:read."),
    429: OpenApiResponse(ErrorSerializer, description="Too many requests for this key."),
}
# The largest id the database can hold; a bigger one is simply not found.
_MAX_ID = 2**63 - 1

RUN_EXAMPLE = {
    "id": 7,
    "status": "completed",
    "trigger": "schedule",
    "step": "completed",
    "percent": 100,
    "created_at": "2026-11-23T06:00:00Z",
    "started_at": "2026-11-23T06:00:01Z",
    "finished_at": "2026-11-23T06:00:09Z",
    "findings": 1,
    "open_findings": 1,
}


class AuditPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_number(self, request, paginator):
        """`page` a whole number from 1, or a 400 naming it (DRF's own reads "" as 1)."""
        raw = request.query_params.getlist(self.page_query_param)
        if not raw:
            return 1
        value = raw[0] if len(raw) == 1 else ""
        if value.isascii() and value.isdigit() and int(value) >= 1:
            return int(value)
        raise ApplicationError(
            _("page must be a whole number from 1."), field=self.page_query_param
        )

    def get_page_size(self, request):
        """`page_size` from 1 to 100, or a 400 naming it (DRF's own falls back to 20)."""
        raw = request.query_params.getlist(self.page_size_query_param)
        if not raw:
            return self.page_size
        if (
            len(raw) == 1
            and raw[0].isascii()
            and raw[0].isdigit()
            and 1 <= int(raw[0]) <= self.max_page_size
        ):
            return int(raw[0])
        raise ApplicationError(
            _("page_size must be a whole number from 1 to %(most)d.")
            % {"most": self.max_page_size},
            field=self.page_size_query_param,
        )


def _summary(run: AuditRun) -> dict:
    return {
        "id": run.pk,
        "status": run.status,
        "trigger": run.trigger,
        "step": run.step,
        "percent": run.percent,
        "created_at": run.created_at.isoformat(),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        # Annotated by `audit_runs()`.
        "findings": run.findings_total,  # type: ignore[attr-defined]
        "open_findings": run.findings_open,  # type: ignore[attr-defined]
    }


class AuditRunsView(StrictQueryAPIView):
    required_scope = ApiScope.AUDITS_READ
    query_parameters = ("page", "page_size")

    @extend_schema(
        operation_id="audits_list",
        summary="Bias audit runs, newest first",
        description=(
            "Every audit run with its status, progress and how many findings it has (and how "
            "many are still open). Paginated: `page` (from 1) and `page_size` (1-100)."
        ),
        parameters=[
            OpenApiParameter(
                "page", {"type": "integer", "minimum": 1}, description="Page number, from 1."
            ),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                description="Runs per page (1-100, default 20).",
            ),
        ],
        responses={
            200: S.AuditRunPageSerializer,
            400: OpenApiResponse(
                ErrorSerializer, description="page_size out of 1-100, or an unknown parameter."
            ),
            404: OpenApiResponse(ErrorSerializer, description="No such page."),
            **ERRORS,
        },
        examples=[
            OpenApiExample(
                "One completed audit",
                value={"count": 1, "next": None, "previous": None, "results": [RUN_EXAMPLE]},
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        paginator = AuditPagination()
        page = paginator.paginate_queryset(audit_runs(), request, view=self)
        return paginator.get_paginated_response([_summary(run) for run in page or []])


class AuditRunView(StrictQueryAPIView):
    required_scope = ApiScope.AUDITS_READ

    @extend_schema(
        operation_id="audits_read",
        summary="One bias audit: summary, per-group results and findings",
        parameters=[
            OpenApiParameter(
                "run_id", int, OpenApiParameter.PATH, description="The audit run's id."
            )
        ],
        description=(
            "The run as the owner's report shows it. Groups under the policy's minimum size "
            "(or hidden so a smaller group cannot be worked out) have `too_few_to_measure` "
            "true and no value, interval or count. Intervals are 95%, per group (Wilson for "
            "rates, bootstrap for means). A running audit has the results of the measures "
            "finished so far."
        ),
        responses={
            200: S.AuditRunSerializer,
            400: OpenApiResponse(ErrorSerializer, description="An unknown query parameter."),
            404: OpenApiResponse(ErrorSerializer, description="Unknown audit run."),
            **ERRORS,
        },
        examples=[
            OpenApiExample(
                "A finding for an age band",
                value={
                    **{k: v for k, v in RUN_EXAMPLE.items() if "findings" not in k},
                    "previous_run": 6,
                    "baseline_run": None,
                    "failure": None,
                    "policy": {
                        "attributes": [],
                        "metrics": ["exposure"],
                        "ratio_threshold": 0.8,
                        "difference_threshold": 0.1,
                        "min_group_size": 20,
                        "drift_threshold": 0.05,
                        "reference_groups": {},
                        "confidence": 0.95,
                    },
                    "summary": [
                        "Customers with age band 55+ were shown Breads 75% less often than "
                        "the largest group (age band 18-34): 20.0% against 80.0%, below the "
                        "80% rule."
                    ],
                    "results": [
                        {
                            "metric": "exposure",
                            "segment": "Breads",
                            "attributes": ["age_band"],
                            "group": ["55+"],
                            "too_few_to_measure": False,
                            "suppression": None,
                            "n": 50,
                            "customers": 50,
                            "value": 0.2,
                            "low": 0.112,
                            "high": 0.33,
                            "interval": "wilson",
                            "higher_is_better": True,
                            "reference_group": ["18-34"],
                            "is_reference": False,
                            "difference": -0.6,
                            "ratio": 0.25,
                            "fails_four_fifths_rule": True,
                            "finding": True,
                        },
                        {
                            "metric": "exposure",
                            "segment": "Breads",
                            "attributes": ["age_band"],
                            "group": ["35-54"],
                            "too_few_to_measure": True,
                            "suppression": "too_few",
                            "n": None,
                            "customers": None,
                            "value": None,
                            "low": None,
                            "high": None,
                            "interval": "wilson",
                            "higher_is_better": True,
                            "reference_group": ["18-34"],
                            "is_reference": False,
                            "difference": None,
                            "ratio": None,
                            "fails_four_fifths_rule": False,
                            "finding": False,
                        },
                    ],
                    "gaps": [
                        {
                            "metric": "exposure",
                            "segment": "Breads",
                            "attributes": ["age_band"],
                            "groups_compared": 2,
                            "highest_group": ["18-34"],
                            "lowest_group": ["55+"],
                            "difference": 0.6,
                            "ratio": 0.25,
                        }
                    ],
                    "findings": [
                        {
                            "id": 12,
                            "kind": "breach",
                            "compared_with": "reference",
                            "metric": "exposure",
                            "segment": "Breads",
                            "attributes": ["age_band"],
                            "group": ["55+"],
                            "value": 0.2,
                            "low": 0.112,
                            "high": 0.33,
                            "compared_value": 0.8,
                            "ratio": 0.25,
                            "difference": -0.6,
                            "sentence": "Customers with age band 55+ were shown Breads 75% "
                            "less often than the largest group (age band 18-34): 20.0% against "
                            "80.0%, below the 80% rule.",
                            "status": "open",
                            "explanation": "",
                            "acknowledged_at": None,
                            "resolved_at": None,
                        }
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, run_id: str) -> Response:
        # Any text reaches here (not only digits), so every miss is the JSON 404.
        pk = int(run_id) if run_id.isascii() and run_id.isdigit() else 0
        if not 0 < pk <= _MAX_ID:
            raise Http404
        run = AuditRun.objects.filter(pk=pk).first()
        if run is None:
            raise Http404
        return Response(audit_run_export(run))
