"""Everything the shop holds about one customer, as a ZIP of JSON and CSV.

The known tables get readable sections; any other table that refers to the customer
(found by walking the model graph, see `relations.py`) is exported field by field, so
data added by a later model is never left out of an export.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import zipfile
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import AuditAttribute, CustomerProfile
from personalization.datarights.relations import CUSTOMER, customer_relations
from personalization.models import (
    Consent,
    ConsentEvent,
    DataRequest,
    DataRequestEvent,
    Interaction,
)

# Where export files live, under MEDIA_ROOT; never served as media, only by the
# customer's own download view.
EXPORT_DIR = "exports"
# Days a finished export stays downloadable before its file is deleted.
EXPORT_KEPT_DAYS = 7
FORMAT = "fairshare-export/1"

# Relations the sections below already cover; every other one is exported generically.
_COVERED = {
    "accounts.AuditAttribute.customer",
    "personalization.Interaction.customer",
    "personalization.Consent.customer",
    "personalization.ConsentEvent.customer",
    "personalization.DataRequest.customer",
    "personalization.DataRequestEvent.actor",
    "accounts.CustomerProfile.user",
    "account.EmailAddress.user",
}

Row = Mapping[str, Any]

# File names people read (csv/<name>.csv and the JSON's section names) for the tables
# found by walking the model graph; any other one is named from its model's and
# field's verbose names ("review-items-claimed-by"), never from the database table.
_SECTION_NAMES = {
    "personalization.Recommendation.customer": "recommendations",
    "personalization.Feedback.customer": "feedback",
    "personalization.ReviewItem.customer": "review-trail",
    "campaigns.CampaignRecipient.customer": "offer-emails",
    "governance.TrustSurveyAnswer.customer": "trust-survey-answers",
    "mfa.Authenticator.user": "two-factor-sign-in",
    "admin.LogEntry.user": "admin-actions",
    "personalization.ReviewAction.actor": "review-decisions",
}
# Columns that are the shop's machinery, not information about the person: row ids,
# secrets and hashes, claim timers, internal links.
_INTERNAL_COLUMNS = {
    "id",
    "key_hash",
    "prefix",
    "data",
    "ip_hash",
    "user_agent_hash",
    "prev_hash",
    "hash",
    "claim_expires_at",
    "waiting_since",
    "policy_level",
    "link",
    "link_base_url",
    "content_type_id",
    "attributes_key",
    "group_key",
    "reference_key",
    "heartbeat_at",
    "restarts",
}


def _profile(customer: CustomerProfile) -> list[Row]:
    return [
        {
            "customer_number": customer.pk,
            "external_id": customer.external_id,
            "email": customer.email,
            "name": customer.name,
            "personalization_mode": customer.personalization_mode,
            "paused_until": customer.paused_until,
            "notes_for_staff": customer.notes_for_staff,
            "notice_version_seen": customer.notice_version_seen,
            "created_at": customer.created_at,
            "updated_at": customer.updated_at,
        }
    ]


def _login(customer: CustomerProfile) -> list[Row]:
    user = customer.user
    if user is None:
        return []
    return [
        {
            "email": user.email,
            "name": user.name,
            "signed_up_at": user.date_joined,
            "last_signed_in_at": user.last_login,
        }
    ]


def _email_addresses(customer: CustomerProfile) -> list[Row]:
    if customer.user_id is None:
        return []
    return list(
        EmailAddress.objects.filter(user_id=customer.user_id)
        .order_by("pk")
        .values("email", "verified", "primary")
    )


def _likes_and_restrictions(customer: CustomerProfile) -> list[Row]:
    return [{"kind": "liked_category", "value": slug} for slug in customer.liked_categories] + [
        {"kind": "never_recommend", "value": code} for code in customer.restrictions
    ]


def _audit_attributes(customer: CustomerProfile) -> list[Row]:
    return list(
        AuditAttribute.objects.filter(customer=customer)
        .order_by("name")
        .values("name", "value", "source", "declared_at")
    )


def _interactions(customer: CustomerProfile) -> list[Row]:
    rows = (
        Interaction.objects.filter(customer=customer)
        .select_related("item")
        .order_by("occurred_at", "pk")
    )
    return [
        {
            "event_id": i.event_id,
            "kind": i.kind,
            "data_category": i.data_category,
            "item_sku": i.item.sku,
            "item_name": i.item.name,
            "quantity": i.quantity,
            "value": i.value,
            "occurred_at": i.occurred_at,
            "received_at": i.imported_at,
            # Removed from use by the customer: kept (and shown) until retention ends.
            "removed_from_use_at": i.excluded_at,
        }
        for i in rows.iterator(chunk_size=2000)
    ]


def _consents(customer: CustomerProfile) -> list[Row]:
    return list(
        Consent.objects.filter(customer=customer)
        .order_by("purpose", "data_category")
        .values("purpose", "data_category", "granted", "updated_at")
    )


def _consent_history(customer: CustomerProfile) -> list[Row]:
    return list(
        ConsentEvent.objects.filter(customer_ref=customer.pk)
        .order_by("pk")
        .values(
            "id",
            "purpose",
            "data_category",
            "granted",
            "notice_version",
            "method",
            "actor",
            "created_at",
            "ip_hash",
            "user_agent_hash",
            "prev_hash",
            "hash",
        )
    )


def _data_requests(customer: CustomerProfile) -> list[Row]:
    return list(
        DataRequest.objects.filter(customer=customer)
        .order_by("pk")
        .values(
            "id",
            "kind",
            "status",
            "method",
            "requested_at",
            "due_at",
            "not_before",
            "started_at",
            "completed_at",
            "outcome",
        )
    )


def _data_request_events(customer: CustomerProfile) -> list[Row]:
    return list(
        DataRequestEvent.objects.filter(request__customer=customer)
        .order_by("request_id", "at", "pk")
        .values("request_id", "at", "action", "note")
    )


def _generic_rows(queryset: models.QuerySet, *, subject_field: str) -> list[Row]:
    """Each row's readable columns: no ids or secrets; a reference to another record
    reads as that record's name (an item, a campaign), except references to people at
    the shop, which are left out (their names are not the customer's data)."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    columns: list[tuple[str, Any]] = []
    related: list[str] = []
    for field in queryset.model._meta.concrete_fields:
        if field.attname in _INTERNAL_COLUMNS or field.name == subject_field:
            continue
        if field.is_relation:
            if field.related_model is user_model:
                continue
            columns.append((field.name, field))
            related.append(field.name)
        else:
            columns.append((field.attname, field))
    rows: list[Row] = []
    for obj in queryset.select_related(*related).order_by("pk").iterator(chunk_size=2000):
        row: dict[str, Any] = {}
        for name, field in columns:
            if field.is_relation:
                target = getattr(obj, name)
                row[name] = str(target) if target is not None else None
            else:
                row[name] = getattr(obj, field.attname)
        rows.append(row)
    return rows


def _section_name(relation) -> str:
    known = _SECTION_NAMES.get(relation.key)
    if known:
        return known
    meta = relation.model._meta
    if relation.field_name in ("customer", "user"):
        return slugify(str(meta.verbose_name_plural))
    field = meta.get_field(relation.field_name)
    return slugify(f"{meta.verbose_name_plural} {field.verbose_name}")


def customer_data(*, customer: CustomerProfile) -> dict[str, list[Row]]:
    """Section name -> rows: everything held about the customer."""
    sections: dict[str, list[Row]] = {
        "profile": _profile(customer),
        "login": _login(customer),
        "email_addresses": _email_addresses(customer),
        "likes_and_restrictions": _likes_and_restrictions(customer),
        "audit_attributes": _audit_attributes(customer),
        "interactions": _interactions(customer),
        "consents": _consents(customer),
        "consent_history": _consent_history(customer),
        "data_requests": _data_requests(customer),
        "data_request_events": _data_request_events(customer),
    }
    for relation in customer_relations():
        if relation.key in _COVERED:
            continue
        subject = customer if relation.subject == CUSTOMER else customer.user
        if subject is None:
            continue
        rows = _generic_rows(relation.rows_of(subject), subject_field=relation.field_name)
        if rows:
            name = _section_name(relation)
            # Two relations to the same table (claimed by, decided by) add up.
            sections[name] = [*sections.get(name, []), *rows]
    return sections


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    return str(value)


def section_csv(rows: list[Row]) -> str:
    """One section as CSV text: a header of every column, one line per row."""
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(row.get(column)) for column in columns])
    return out.getvalue()


def _readme(*, customer: CustomerProfile, generated_at: datetime, sections: dict) -> str:
    lines = [
        _("Your data at %(shop)s") % {"shop": settings.SHOP_NAME},
        "",
        _("Created: %(when)s") % {"when": timezone.localtime(generated_at).isoformat()},
        "",
        _(
            "data.json holds everything in one file; the csv folder holds the same data, "
            "one table per file, for spreadsheets."
        ),
        "",
        _("Tables and their rows:"),
    ]
    lines += [f"- {name}: {len(rows)}" for name, rows in sections.items()]
    lines += [
        "",
        _(
            "consent_history is the shop's tamper-evident record of every consent change "
            "you made; each entry carries the hash of the one before it."
        ),
        _(
            "interactions includes records you removed from use (removed_from_use_at): "
            "they are not used for suggestions and are deleted when their retention ends."
        ),
    ]
    return "\n".join(lines) + "\n"


def export_write(*, customer: CustomerProfile, now: datetime | None = None) -> str:
    """Write the customer's ZIP under MEDIA_ROOT/exports/; returns its path there.

    The name is random, so it cannot be guessed; the file appears complete or not at
    all (written aside, then renamed).
    """
    now = now or timezone.now()
    sections = customer_data(customer=customer)
    document = {
        "format": FORMAT,
        "shop": settings.SHOP_NAME,
        "generated_at": now,
        "sections": sections,
    }
    folder = Path(settings.MEDIA_ROOT) / EXPORT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_urlsafe(24)}.zip"
    partial = folder / f".{name}.part"
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(
                "README.txt", _readme(customer=customer, generated_at=now, sections=sections)
            )
            archive.writestr(
                "data.json",
                json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
            )
            for section, rows in sections.items():
                archive.writestr(f"csv/{section}.csv", section_csv(rows))
        os.replace(partial, folder / name)
    finally:
        partial.unlink(missing_ok=True)
    return f"{EXPORT_DIR}/{name}"


def export_path(relative: str) -> Path | None:
    """The file of an export, or None when it is gone or the name is not an export's."""
    if not relative:
        return None
    folder = (Path(settings.MEDIA_ROOT) / EXPORT_DIR).resolve()
    path = (Path(settings.MEDIA_ROOT) / relative).resolve()
    if path.parent != folder or not path.is_file():
        return None
    return path


def export_delete(relative: str) -> bool:
    """Delete an export's file; returns whether there was one."""
    path = export_path(relative)
    if path is None:
        return False
    path.unlink(missing_ok=True)
    return True


def download_name(*, generated_at: datetime) -> str:
    """The file name the customer's browser saves, e.g. `crumb-co-my-data-2026-11-27.zip`."""
    shop = slugify(settings.SHOP_NAME) or "shop"
    return f"{shop}-my-data-{timezone.localdate(generated_at).isoformat()}.zip"
