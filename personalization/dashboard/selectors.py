"""Reads for the customer's dashboard: what the shop holds about one customer, and why.

Every function takes the customer's own profile (resolved from the signed-in user by
the views) and reads only rows that belong to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import CustomerProfile, PersonalizationMode
from accounts.selectors import effective_mode
from personalization import registry
from personalization.consent.selectors import consent_grid
from personalization.dashboard import wording
from personalization.models import Attribute, Category, DataCategory, Interaction, Purpose

# How many of the latest distinct items each data category shows as examples.
EXAMPLES_PER_CATEGORY = 3
HISTORY_PAGE_SIZE = 20
# The order kinds are named in within one data category ("57 items viewed, 25 ...").
_KIND_ORDER = ("purchase", "return", "view", "cart", "rating")
# Purposes that may ever read a category: declared audit attributes are never a model
# feature, so only the fairness audit can use them whatever a consent row says.
_ONLY_PURPOSES = {registry.AUDIT_ATTRIBUTES: {registry.FAIRNESS_AUDIT}}


@dataclass(frozen=True)
class Example:
    label: str
    when: datetime | None = None


@dataclass(frozen=True)
class PurposeUse:
    name: str
    # False when consent allows it but the customer's mode stops it for now.
    active: bool = True


@dataclass
class CategoryOverview:
    code: str
    name: str
    description: str
    retention_days: int
    # What is held, in plain words: ["165 purchases"], ["2 details you declared"].
    held: list[str] = field(default_factory=list)
    count: int = 0
    removed: int = 0
    examples: list[Example] = field(default_factory=list)
    purposes: list[PurposeUse] = field(default_factory=list)

    @property
    def is_audit(self) -> bool:
        return self.code == registry.AUDIT_ATTRIBUTES

    @property
    def retention(self) -> str:
        return wording.retention_period(self.retention_days)

    @property
    def in_use(self) -> bool:
        return any(use.active for use in self.purposes)


@dataclass(frozen=True)
class ModeSummary:
    mode: PersonalizationMode
    label: str
    description: str
    paused_until: date | None
    resumes_on: date | None
    # The customer paused, and the date has passed: personalization is on again.
    pause_ended: bool

    @property
    def not_used_note(self) -> str:
        note = wording.MODE_NOT_USED_NOTES.get(self.mode)
        return str(note) if note else ""


@dataclass(frozen=True)
class Overview:
    mode: ModeSummary
    categories: list[CategoryOverview]
    liked_categories: list[str]
    restrictions: list[str]
    has_notes: bool

    @property
    def holds_nothing(self) -> bool:
        return not any(category.count for category in self.categories)


def mode_summary(*, profile: CustomerProfile, today: date | None = None) -> ModeSummary:
    today = today or timezone.localdate()
    mode = effective_mode(profile=profile, today=today)
    paused_until = profile.paused_until if mode is PersonalizationMode.PAUSED else None
    return ModeSummary(
        mode=mode,
        label=str(wording.MODE_LABELS[mode]),
        description=str(wording.MODE_DESCRIPTIONS[mode]),
        paused_until=paused_until,
        resumes_on=paused_until + timedelta(days=1) if paused_until else None,
        pause_ended=(
            profile.personalization_mode == PersonalizationMode.PAUSED
            and mode is PersonalizationMode.ON
        ),
    )


def customer_overview(*, customer: CustomerProfile, today: date | None = None) -> Overview:
    """Every data category with what is held, the latest examples, its uses and retention.

    A fixed number of queries whatever the size of the history.
    """
    mode = mode_summary(profile=customer, today=today)
    categories = {
        category.code: CategoryOverview(
            code=category.code,
            name=category.name,
            description=category.description,
            retention_days=category.retention_days,
        )
        for category in DataCategory.objects.all()
    }
    _add_interaction_counts(customer, categories)
    _add_latest_examples(customer, categories)
    _add_stated_preferences(customer, categories)
    _add_audit_attributes(customer, categories)
    _add_purposes(customer, categories, mode.mode)
    for overview in categories.values():
        if overview.removed:
            overview.held.append(
                ngettext("%(n)s removed from use", "%(n)s removed from use", overview.removed)
                % {"n": wording.number(overview.removed)}
            )
    liked = list(
        Category.objects.filter(slug__in=customer.liked_categories).values_list("name", flat=True)
    )
    return Overview(
        mode=mode,
        categories=list(categories.values()),
        liked_categories=liked,
        restrictions=[wording.attribute_label(code) for code in customer.restrictions],
        has_notes=bool(customer.notes_for_staff.strip()),
    )


def _add_interaction_counts(customer, categories) -> None:
    rows = (
        Interaction.objects.filter(customer=customer)
        .values("data_category", "kind")
        .annotate(total=Count("id"), removed=Count("id", filter=Q(excluded_at__isnull=False)))
    )
    by_category: dict[str, dict[str, int]] = {}
    for row in rows:
        overview = categories.get(row["data_category"])
        if overview is None:
            continue
        by_category.setdefault(row["data_category"], {})[row["kind"]] = row["total"]
        overview.count += row["total"]
        overview.removed += row["removed"]
    for code, kinds in by_category.items():
        ordered = sorted(kinds, key=lambda k: _KIND_ORDER.index(k) if k in _KIND_ORDER else 99)
        categories[code].held.extend(wording.kind_count(kind, kinds[kind]) for kind in ordered)


def _add_latest_examples(customer, categories) -> None:
    # The latest few distinct items per category still in use: one grouped query whose
    # size is bounded by the items the customer ever touched, not by the history.
    rows = (
        Interaction.objects.filter(customer=customer, excluded_at__isnull=True)
        .values("data_category", "item_id", "item__name")
        .annotate(latest=Max("occurred_at"), latest_pk=Max("pk"))
        .order_by()
    )
    newest_first = sorted(rows, key=lambda row: (row["latest"], row["latest_pk"]), reverse=True)
    for row in newest_first:
        overview = categories.get(row["data_category"])
        if overview is not None and len(overview.examples) < EXAMPLES_PER_CATEGORY:
            overview.examples.append(Example(row["item__name"], row["latest"]))


def _add_stated_preferences(customer, categories) -> None:
    overview = categories.get(registry.STATED_PREFERENCES)
    if overview is None:
        return
    likes, restrictions = len(customer.liked_categories), len(customer.restrictions)
    if likes:
        overview.held.append(
            ngettext("%(n)s liked category", "%(n)s liked categories", likes)
            % {"n": wording.number(likes)}
        )
    if restrictions:
        overview.held.append(
            ngettext(
                "%(n)s thing never to recommend", "%(n)s things never to recommend", restrictions
            )
            % {"n": wording.number(restrictions)}
        )
    if customer.notes_for_staff.strip():
        overview.held.append(str(_NOTE_FOR_STAFF))
    overview.count += likes + restrictions + (1 if customer.notes_for_staff.strip() else 0)


def _add_audit_attributes(customer, categories) -> None:
    overview = categories.get(registry.AUDIT_ATTRIBUTES)
    if overview is None:
        return
    declared = list(customer.audit_attributes.order_by("name"))
    if declared:
        overview.held.append(
            ngettext("%(n)s detail you declared", "%(n)s details you declared", len(declared))
            % {"n": wording.number(len(declared))}
        )
    overview.count += len(declared)
    overview.examples = [
        Example(f"{wording.audit_attribute_label(row.name)}: {row.value}", row.declared_at)
        for row in declared
    ]


def _add_purposes(customer, categories, mode: PersonalizationMode) -> None:
    grid = consent_grid(customer=customer)
    purposes = list(Purpose.objects.all())
    for overview in categories.values():
        allowed_only = _ONLY_PURPOSES.get(overview.code)
        for purpose in purposes:
            if not grid.get((purpose.code, overview.code)):
                continue
            if allowed_only is not None and purpose.code not in allowed_only:
                continue
            # Paused, off or none: on-site personalization reads nothing for now.
            active = not (
                purpose.code == registry.PERSONALIZATION and mode is not PersonalizationMode.ON
            )
            overview.purposes.append(PurposeUse(name=purpose.name, active=active))


_NOTE_FOR_STAFF = _("a note for staff")


@dataclass(frozen=True)
class HistoryEntry:
    interaction: Interaction
    what: str
    category_name: str
    # When retention deletes it: the day it was recorded plus its category's period.
    deleted_on: date | None

    @property
    def removed(self) -> bool:
        return self.interaction.excluded_at is not None


def history_page(
    *, customer: CustomerProfile, page_number: str | int | None = 1
) -> tuple[Page, list]:
    """One page of the customer's interactions, newest first, with their deletion dates."""
    interactions = (
        Interaction.objects.filter(customer=customer)
        .select_related("item")
        .order_by("-occurred_at", "-pk")
    )
    page = Paginator(interactions, HISTORY_PAGE_SIZE).get_page(page_number)
    categories = {category.code: category for category in DataCategory.objects.all()}
    entries = []
    for interaction in page.object_list:
        category = categories.get(interaction.data_category)
        deleted_on = _deletion_date(interaction, category)
        entries.append(
            HistoryEntry(
                interaction=interaction,
                what=wording.kind_label(interaction.kind),
                category_name=category.name if category else interaction.data_category,
                deleted_on=deleted_on,
            )
        )
    return page, entries


def _deletion_date(interaction: Interaction, category: DataCategory | None) -> date | None:
    if category is None:
        return None
    recorded = timezone.localdate(interaction.occurred_at)
    return recorded + timedelta(days=category.retention_days)


def deletion_date(*, interaction: Interaction) -> date | None:
    """The day retention deletes this record: when it happened plus its category's period."""
    category = DataCategory.objects.filter(code=interaction.data_category).first()
    return _deletion_date(interaction, category)


def liked_category_choices() -> list[tuple[str, str]]:
    return list(Category.objects.order_by("name").values_list("slug", "name"))


def restriction_codes(*, current: list[str]) -> set[str]:
    """Attribute codes a customer may ask never to be recommended.

    The well-known allergens (the catalog declares every allergen an item contains, so
    an allergy matters before the shop stocks the first item with it), the catalog's
    other restrictable codes (such as alcohol: offered only when the catalog tags them,
    or the promise would be empty), and whatever the customer already chose.
    """
    codes = {code for code in wording.ATTRIBUTE_LABELS if wording.is_allergen(code)}
    codes.update(
        code
        for code in Attribute.objects.values_list("code", flat=True)
        if wording.is_restrictable(code)
    )
    codes.update(current)
    return codes


def restriction_choices(*, current: list[str]) -> list[tuple[str, str]]:
    """`restriction_codes` with their labels, A to Z."""
    return sorted(
        ((code, wording.attribute_label(code)) for code in restriction_codes(current=current)),
        key=lambda choice: choice[1].lower(),
    )
