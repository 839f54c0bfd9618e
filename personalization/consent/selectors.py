"""Reads of consent: "may X be used for Y" and the customer's grid."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import CustomerProfile
from personalization import registry
from personalization.models import Consent, ConsentEvent, ConsentMethod, DataCategory, Purpose

_REGISTRY_CATEGORIES = frozenset(spec.code for spec in registry.DATA_CATEGORIES)


def consent_granted(*, customer: CustomerProfile, purpose: str, data_category: str) -> bool:
    """One indexed query; no row means no (every purpose is opt-in)."""
    return Consent.objects.filter(
        customer=customer, purpose=purpose, data_category=data_category, granted=True
    ).exists()


def consented_categories(*, customer_ids: Iterable[int], purpose: str) -> dict[int, set[str]]:
    """For each customer, the data categories they allow for `purpose`."""
    allowed: dict[int, set[str]] = defaultdict(set)
    rows = Consent.objects.filter(
        customer_id__in=list(customer_ids), purpose=purpose, granted=True
    ).values_list("customer_id", "data_category")
    for customer_id, category in rows:
        allowed[customer_id].add(category)
    return dict(allowed)


def consent_grid(*, customer: CustomerProfile) -> dict[tuple[str, str], bool]:
    """(purpose, data_category) -> granted for every cell the customer decided."""
    return {
        (purpose, category): granted
        for purpose, category, granted in Consent.objects.filter(customer=customer).values_list(
            "purpose", "data_category", "granted"
        )
    }


# --- Which cells of the purpose x data category grid exist --------------------------

# Declared audit attributes are never a model feature: only the fairness audit may use
# them, so the other purposes have no cell for them.
_ONLY_PURPOSES: dict[str, frozenset[str]] = {
    registry.AUDIT_ATTRIBUTES: frozenset({registry.FAIRNESS_AUDIT}),
}
_REGISTRY_PURPOSES = frozenset(spec.code for spec in registry.PURPOSES)


def cell_applies(*, purpose: str, data_category: str) -> bool:
    """Whether a customer can allow `purpose` to use `data_category` at all."""
    only = _ONLY_PURPOSES.get(data_category)
    return only is None or purpose in only


def retention_words(days: int) -> str:
    """ "1,825 days (about 5 years)": exact days, with years or months when helpful."""
    exact = ngettext("%(n)s day", "%(n)s days", days) % {
        "n": number_format(days, force_grouping=True)
    }
    if days >= 365:
        years = round(days / 365)
        about = ngettext("about %(n)s year", "about %(n)s years", years) % {"n": years}
    elif days >= 60:
        months = round(days / 30)
        about = ngettext("about %(n)s month", "about %(n)s months", months) % {"n": months}
    else:
        return exact
    return _("%(exact)s (%(about)s)") % {"exact": exact, "about": about}


# --- The customer's consent page ----------------------------------------------------


@dataclass(frozen=True)
class ConsentCell:
    purpose: Purpose
    applies: bool
    granted: bool
    field_name: str
    # The latest recorded choice for this cell (method and when), None if never asked.
    origin_method: str | None = None
    origin_at: datetime | None = None


@dataclass(frozen=True)
class ConsentRow:
    category: DataCategory
    retention: str
    cells: tuple[ConsentCell, ...]

    @property
    def used_for(self) -> list[str]:
        """Names of the purposes the customer allows to use this data now."""
        return [cell.purpose.name for cell in self.cells if cell.applies and cell.granted]

    @property
    def limited_to(self) -> list[str]:
        """When only some purposes can ever use this data, their names."""
        if all(cell.applies for cell in self.cells):
            return []
        return [cell.purpose.name for cell in self.cells if cell.applies]


def consent_field_name(*, purpose: str, data_category: str) -> str:
    return f"{purpose}__{data_category}"


def consent_purposes() -> list[Purpose]:
    """The purposes a customer can decide on (the registry's, in registry order)."""
    return list(Purpose.objects.filter(code__in=_REGISTRY_PURPOSES).order_by("pk"))


def consent_page_rows(*, customer: CustomerProfile) -> list[ConsentRow]:
    """One row per data category, one cell per purpose, with the current answers."""
    purposes = consent_purposes()
    # One query: each cell's answer and the ledger event that set it.
    decided = Consent.objects.filter(customer=customer).values_list(
        "purpose", "data_category", "granted", "event__method", "event__created_at"
    )
    grid = {(purpose, category): granted for purpose, category, granted, _m, _a in decided}
    origins = {(purpose, category): (method, at) for purpose, category, _g, method, at in decided}
    rows = []
    for category in DataCategory.objects.filter(code__in=_REGISTRY_CATEGORIES).order_by("pk"):
        cells = tuple(
            ConsentCell(
                purpose=purpose,
                applies=cell_applies(purpose=purpose.code, data_category=category.code),
                granted=grid.get((purpose.code, category.code), False),
                field_name=consent_field_name(purpose=purpose.code, data_category=category.code),
                origin_method=origins.get((purpose.code, category.code), (None, None))[0],
                origin_at=origins.get((purpose.code, category.code), (None, None))[1],
            )
            for purpose in purposes
        )
        rows.append(
            ConsentRow(
                category=category, retention=retention_words(category.retention_days), cells=cells
            )
        )
    return rows


def consent_recent_events(*, customer: CustomerProfile, limit: int = 10):
    """The customer's latest consent changes, newest first."""
    return ConsentEvent.objects.filter(customer=customer).order_by("-pk")[:limit]


# --- Global Privacy Control ---------------------------------------------------------


def gpc_purpose_codes() -> list[str]:
    """Purposes a Global Privacy Control signal opts out of: marketing and any flagged."""
    flagged = Purpose.objects.filter(
        Q(honours_gpc=True) | Q(code=registry.MARKETING), code__in=_REGISTRY_PURPOSES
    ).order_by("pk")
    return list(flagged.values_list("code", flat=True))


def grant_overrides_gpc(*, consent: Consent, asking_version: int | None) -> bool:
    """A "yes" the customer ticked on their own page after reading the notice in force.

    The notice in force is the newest version that asked customers again; versions that
    did not change purposes or data categories do not void a choice made before them.
    """
    if not consent.granted or consent.event.method != ConsentMethod.UI:
        return False
    if asking_version is None:
        return True
    version = consent.event.notice_version
    return version is not None and version >= asking_version


def gpc_pending_changes(
    *, customer: CustomerProfile, asking_version: int | None, lock: bool = False
) -> list[tuple[str, str]]:
    """The (purpose, data category) cells a GPC signal would switch off now.

    Every cell of a GPC purpose that is granted (unless the customer granted it on their
    page after reading the notice) or not decided yet (a recorded "no" is the proof the
    signal was honoured). Empty when the signal has nothing left to do.
    """
    purposes = gpc_purpose_codes()
    if not purposes:
        return []
    rows = Consent.objects.filter(customer=customer, purpose__in=purposes).select_related("event")
    if lock:
        rows = rows.select_for_update()
    current = {(row.purpose, row.data_category): row for row in rows}
    pending = []
    for purpose in purposes:
        for spec in registry.DATA_CATEGORIES:
            row = current.get((purpose, spec.code))
            if row is None:
                if cell_applies(purpose=purpose, data_category=spec.code):
                    pending.append((purpose, spec.code))
            elif row.granted and not grant_overrides_gpc(
                consent=row, asking_version=asking_version
            ):
                pending.append((purpose, spec.code))
    return pending


@dataclass(frozen=True)
class GpcPurposeStatus:
    purpose: str
    categories: tuple[str, ...]
    # When the latest of these cells was decided (by the signal, or by the customer).
    when: datetime
    notice_version: int | None = None


@dataclass(frozen=True)
class GpcStatus:
    # The request being answered carries `Sec-GPC: 1`.
    signal: bool
    # Purposes the signal switched off (per purpose, the categories it covers now).
    honoured: tuple[GpcPurposeStatus, ...]
    # Purposes kept on despite the signal: the customer switched them on themselves.
    overridden: tuple[GpcPurposeStatus, ...]

    @property
    def shown(self) -> bool:
        return self.signal or bool(self.honoured)


def _by_purpose(
    cells: list[Consent], purposes: dict[str, str], categories: dict[str, str]
) -> tuple[GpcPurposeStatus, ...]:
    grouped: dict[str, list[Consent]] = defaultdict(list)
    for row in cells:
        grouped[row.purpose].append(row)
    return tuple(
        GpcPurposeStatus(
            purpose=purposes.get(purpose, purpose),
            categories=tuple(categories.get(r.data_category, r.data_category) for r in rows),
            when=max(r.event.created_at for r in rows),
            notice_version=max((r.event.notice_version or 0) for r in rows) or None,
        )
        for purpose, rows in grouped.items()
    )


def gpc_status(*, customer: CustomerProfile, signal: bool, asking_version: int | None) -> GpcStatus:
    """What the consent page says about Global Privacy Control for this customer."""
    purposes = dict(
        Purpose.objects.filter(
            Q(honours_gpc=True) | Q(code=registry.MARKETING), code__in=_REGISTRY_PURPOSES
        )
        .order_by("pk")
        .values_list("code", "name")
    )
    order = {code: index for index, code in enumerate(purposes)}
    rows = sorted(
        Consent.objects.filter(customer=customer, purpose__in=list(purposes)).select_related(
            "event"
        ),
        key=lambda row: (order[row.purpose], row.event_id),
    )
    honoured = [r for r in rows if not r.granted and r.event.method == ConsentMethod.GPC]
    overridden = [
        r for r in rows if signal and grant_overrides_gpc(consent=r, asking_version=asking_version)
    ]
    if not honoured and not overridden:
        return GpcStatus(signal=signal, honoured=(), overridden=())
    categories = dict(DataCategory.objects.values_list("code", "name"))
    return GpcStatus(
        signal=signal,
        honoured=_by_purpose(honoured, purposes, categories),
        overridden=_by_purpose(overridden, purposes, categories),
    )
