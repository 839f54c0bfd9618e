"""Privacy notice versions: drafts the owner edits, published versions that never change.

Publishing snapshots the purposes, data categories and retention periods from the
registry tables into the notice, so every consent event can point at exactly what the
customer was shown. A version "asks again" when its purposes or data categories differ
from the previous published version; customers then confirm it once (`notice_acknowledge`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CustomerProfile, User
from accounts.services import customer_profile_lock
from core.errors import ApplicationError
from personalization.consent.selectors import cell_applies, retention_words
from personalization.models import DataCategory, PrivacyNotice, Purpose

PUBLISHED = PrivacyNotice.Status.PUBLISHED
DRAFT = PrivacyNotice.Status.DRAFT
# Any constant: PostgreSQL advisory lock that serializes numbering and publishing.
_NOTICE_LOCK = 727_002
_TITLE_MAX = PrivacyNotice._meta.get_field("title").max_length or 200


def _lock_notices() -> None:
    # SQLite's IMMEDIATE transactions already serialize writers.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_NOTICE_LOCK])


# --- Selectors ----------------------------------------------------------------------


def notice_current() -> PrivacyNotice | None:
    """The published version customers see now (the highest published version)."""
    return PrivacyNotice.objects.filter(status=PUBLISHED).order_by("-version").first()


def notice_current_or_default() -> PrivacyNotice:
    """For pages: the published version, or (before `migrate` published the first one)
    the default text as version 1 would say it, unsaved. A read never publishes."""
    current = notice_current()
    if current is not None:
        return current
    snapshot = registry_snapshot()
    return PrivacyNotice(
        version=1,
        status=PUBLISHED,
        title=_("Privacy notice"),
        body=default_notice_body(),
        ai_statement=default_ai_statement(),
        purposes=snapshot["purposes"],
        data_categories=snapshot["data_categories"],
        retention=snapshot["retention"],
        published_at=timezone.now(),
    )


def notice_latest_asking_version() -> int | None:
    """The newest published version that asked customers again (None before any)."""
    return (
        PrivacyNotice.objects.filter(status=PUBLISHED, asks_again=True)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )


def notice_needs_acknowledgement(*, profile: CustomerProfile) -> bool:
    """True when a version that asks again was published after the one the customer read.

    Versions that do not ask again never prompt; one indexed query.
    """
    return PrivacyNotice.objects.filter(
        status=PUBLISHED, asks_again=True, version__gt=profile.notice_version_seen or 0
    ).exists()


def notice_draft() -> PrivacyNotice | None:
    return PrivacyNotice.objects.filter(status=DRAFT).order_by("-version").first()


def notice_versions():
    return PrivacyNotice.objects.order_by("-version").select_related("created_by")


def registry_snapshot() -> dict[str, Any]:
    """What a notice published now would cover, read from the registry tables."""
    purposes = [
        {
            "code": p.code,
            "name": p.name,
            "description": p.description,
            "requires_opt_in": p.requires_opt_in,
            "honours_gpc": p.honours_gpc,
        }
        for p in Purpose.objects.order_by("pk")
    ]
    categories = [
        {
            "code": c.code,
            "name": c.name,
            "description": c.description,
            "retention_days": c.retention_days,
        }
        for c in DataCategory.objects.order_by("pk")
    ]
    return {
        "purposes": purposes,
        "data_categories": categories,
        "retention": {c["code"]: c["retention_days"] for c in categories},
    }


def _coverage(notice: PrivacyNotice) -> dict[str, Any]:
    """A published notice's own snapshot; a draft covers what the registry holds now."""
    if notice.status == PUBLISHED:
        return {
            "purposes": list(notice.purposes),
            "data_categories": list(notice.data_categories),
            "retention": dict(notice.retention),
        }
    return registry_snapshot()


@dataclass(frozen=True)
class NoticeChanges:
    """How a version differs from the published version before it (names, not codes)."""

    previous_version: int | None
    added_purposes: tuple[str, ...] = ()
    removed_purposes: tuple[str, ...] = ()
    added_categories: tuple[str, ...] = ()
    removed_categories: tuple[str, ...] = ()

    @property
    def asks_again(self) -> bool:
        # The first version always asks: nobody has read anything yet.
        return self.previous_version is None or any(
            (
                self.added_purposes,
                self.removed_purposes,
                self.added_categories,
                self.removed_categories,
            )
        )


def _names_diff(new: list[dict], old: list[dict]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    new_codes = {row["code"] for row in new}
    old_codes = {row["code"] for row in old}
    added = tuple(row["name"] for row in new if row["code"] not in old_codes)
    removed = tuple(row["name"] for row in old if row["code"] not in new_codes)
    return added, removed


def notice_changes(*, notice: PrivacyNotice) -> NoticeChanges:
    """What publishing `notice` changes (or changed) against the previous published one.

    Purposes and data categories are compared by code; new wording or retention
    periods alone do not ask customers again.
    """
    previous_qs = PrivacyNotice.objects.filter(status=PUBLISHED).exclude(pk=notice.pk)
    if notice.status == PUBLISHED:
        previous_qs = previous_qs.filter(version__lt=notice.version)
    previous = previous_qs.order_by("-version").first()
    if previous is None:
        return NoticeChanges(previous_version=None)
    coverage = _coverage(notice)
    added_p, removed_p = _names_diff(coverage["purposes"], list(previous.purposes))
    added_c, removed_c = _names_diff(coverage["data_categories"], list(previous.data_categories))
    return NoticeChanges(
        previous_version=previous.version,
        added_purposes=added_p,
        removed_purposes=removed_p,
        added_categories=added_c,
        removed_categories=removed_c,
    )


# --- Display ------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One piece of a notice's text: a heading, a paragraph or a list."""

    kind: str  # "heading" | "paragraph" | "list"
    text: str = ""
    items: tuple[str, ...] = ()


def notice_blocks(text: str) -> list[Block]:
    """Split the owner's plain text into blocks.

    A line starting with "## " is a heading, lines starting with "- " form a list, and
    an empty line ends a paragraph. Everything stays text (templates escape it).
    """
    blocks: list[Block] = []
    paragraph: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block("paragraph", " ".join(paragraph)))
            paragraph.clear()
        if items:
            blocks.append(Block("list", items=tuple(items)))
            items.clear()

    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("## "):
            flush()
            blocks.append(Block("heading", line[3:].strip()))
        elif line.startswith(("- ", "* ")):
            if paragraph:
                flush()
            items.append(line[2:].strip())
        elif items and raw[:1].isspace():
            # An indented line continues the list item above it.
            items[-1] = f"{items[-1]} {line}"
        else:
            if items:
                flush()
            paragraph.append(line)
    flush()
    return blocks


@dataclass(frozen=True)
class CoveredCategory:
    code: str
    name: str
    description: str
    retention: str
    purposes: tuple[str, ...]


@dataclass(frozen=True)
class NoticeDisplay:
    notice: PrivacyNotice
    body: list[Block]
    ai_statement: list[Block]
    purposes: list[dict]
    categories: list[CoveredCategory]
    changes: NoticeChanges
    is_draft: bool = field(default=False)


def notice_display(*, notice: PrivacyNotice) -> NoticeDisplay:
    """Everything a page needs to show one version as customers see (or will see) it."""
    coverage = _coverage(notice)
    purposes = coverage["purposes"]
    names = {p["code"]: p["name"] for p in purposes}
    categories = [
        CoveredCategory(
            code=c["code"],
            name=c["name"],
            description=c["description"],
            retention=retention_words(
                int(coverage["retention"].get(c["code"], c.get("retention_days", 0)))
            ),
            purposes=tuple(
                name
                for code, name in names.items()
                if cell_applies(purpose=code, data_category=c["code"])
            ),
        )
        for c in coverage["data_categories"]
    ]
    return NoticeDisplay(
        notice=notice,
        body=notice_blocks(notice.body),
        ai_statement=notice_blocks(notice.ai_statement),
        purposes=purposes,
        categories=categories,
        changes=notice_changes(notice=notice),
        is_draft=notice.status == DRAFT,
    )


# --- Services -----------------------------------------------------------------------


def _clean_texts(*, title: str, body: str, ai_statement: str) -> tuple[str, str, str]:
    title, body, ai_statement = title.strip(), body.strip(), ai_statement.strip()
    if not title:
        raise ApplicationError(_("The notice needs a title."), code="required", field="title")
    if len(title) > _TITLE_MAX:
        raise ApplicationError(
            _("The title is too long (at most %(n)d characters).") % {"n": _TITLE_MAX},
            code="too_long",
            field="title",
        )
    if not body:
        raise ApplicationError(
            _("The privacy notice text cannot be empty."), code="required", field="body"
        )
    if not ai_statement:
        raise ApplicationError(
            _("The “How we use AI” statement cannot be empty."),
            code="required",
            field="ai_statement",
        )
    return title, body, ai_statement


def _next_version() -> int:
    return (PrivacyNotice.objects.aggregate(n=Max("version"))["n"] or 0) + 1


def _locked_draft(notice: PrivacyNotice) -> PrivacyNotice:
    locked = PrivacyNotice.objects.select_for_update().get(pk=notice.pk)
    if locked.status != DRAFT:
        raise ApplicationError(
            _("Version %(version)d is published and can no longer be changed. Start a new draft.")
            % {"version": locked.version},
            code="notice_published",
        )
    return locked


@transaction.atomic
def notice_draft_create(
    *, author: User | None, title: str, body: str, ai_statement: str
) -> PrivacyNotice:
    """Start the next version as a draft (one draft at a time); customers do not see it."""
    title, body, ai_statement = _clean_texts(title=title, body=body, ai_statement=ai_statement)
    # A first version always exists before a draft, so a draft is always the newest.
    notice_ensure_initial()
    _lock_notices()
    existing = notice_draft()
    if existing is not None:
        raise ApplicationError(
            _("There is already a draft (version %(version)d). Edit or publish it first.")
            % {"version": existing.version},
            code="draft_exists",
        )
    return PrivacyNotice.objects.create(
        version=_next_version(),
        status=DRAFT,
        title=title,
        body=body,
        ai_statement=ai_statement,
        created_by=author if author is not None and author.is_authenticated else None,
    )


@transaction.atomic
def notice_draft_update(
    *, notice: PrivacyNotice, title: str, body: str, ai_statement: str
) -> PrivacyNotice:
    """Change a draft's texts; a published version is refused (ApplicationError)."""
    locked = _locked_draft(notice)
    title, body, ai_statement = _clean_texts(title=title, body=body, ai_statement=ai_statement)
    locked.title, locked.body, locked.ai_statement = title, body, ai_statement
    locked.save(update_fields=["title", "body", "ai_statement"])
    return locked


@transaction.atomic
def notice_publish(*, notice: PrivacyNotice) -> PrivacyNotice:
    """Publish a draft: snapshot what it covers, decide whether customers are asked again.

    From here on the version is never changed.
    """
    _lock_notices()
    locked = _locked_draft(notice)
    latest = notice_current()
    if latest is not None and locked.version < latest.version:
        # Nobody has seen a draft, so it may take the next number.
        locked.version = latest.version + 1
    snapshot = registry_snapshot()
    locked.purposes = snapshot["purposes"]
    locked.data_categories = snapshot["data_categories"]
    locked.retention = snapshot["retention"]
    locked.asks_again = notice_changes(notice=locked).asks_again
    locked.status = PUBLISHED
    locked.published_at = timezone.now()
    locked.save()
    return locked


@transaction.atomic
def notice_ensure_initial() -> PrivacyNotice:
    """Publish version 1 with the default text when nothing is published yet (idempotent)."""
    current = notice_current()
    if current is not None:
        return current
    _lock_notices()
    current = notice_current()
    if current is not None:
        return current
    first = PrivacyNotice.objects.create(
        version=_next_version(),
        status=DRAFT,
        title=_("Privacy notice"),
        body=default_notice_body(),
        ai_statement=default_ai_statement(),
    )
    return notice_publish(notice=first)


@transaction.atomic
def notice_acknowledge(*, profile: CustomerProfile, version: int) -> CustomerProfile:
    """Record that the customer read published `version` (never moves backwards)."""
    if not PrivacyNotice.objects.filter(status=PUBLISHED, version=version).exists():
        raise ApplicationError(
            _("There is no published privacy notice with that version."),
            code="unknown_notice_version",
            field="version",
        )
    # The customer's row, the first lock of every consent write (consent/locking.py).
    seen = customer_profile_lock(profile_id=profile.pk).notice_version_seen
    if seen is None or seen < version:
        CustomerProfile.objects.filter(pk=profile.pk).update(
            notice_version_seen=version, updated_at=timezone.now()
        )
        seen = version
    profile.notice_version_seen = seen
    return profile


# --- The default text of version 1 --------------------------------------------------


def default_notice_body() -> str:
    """Version 1's notice: who, what, why, how long, and the customer's rights in plain words."""
    shop = settings.SHOP_NAME
    categories = list(DataCategory.objects.order_by("pk"))
    purposes = list(Purpose.objects.order_by("pk"))
    lines = [
        _("## Who we are"),
        _(
            "%(shop)s is responsible for the personal data described here. If you have a "
            "question about your data, ask us in the shop or reply to any of our emails."
        )
        % {"shop": shop},
        "",
        _("## What we hold about you"),
        _("We only hold the kinds of data listed here, and only use them as described."),
    ]
    lines += [f"- {c.name}: {c.description}" for c in categories]
    lines += [
        "",
        _("## What we use it for"),
        _(
            "Every purpose starts switched off. We use your data for a purpose only after "
            "you switch it on, and only the kinds of data you allow for it. You can change "
            "your mind at any time on your page, as easily as you said yes; it does not "
            "affect what we did before."
        ),
    ]
    lines += [f"- {p.name}: {p.description}" for p in purposes]
    lines += [
        _(
            "Details you declared for fairness audits (such as an age band) are never used to "
            "choose what you are shown or what we email you."
        ),
        "",
        _("## How long we keep it"),
    ]
    lines += [
        _("- %(category)s: %(period)s")
        % {"category": c.name, "period": retention_words(c.retention_days)}
        for c in categories
    ]
    lines += [
        _(
            "When the period ends, the data is deleted or made anonymous automatically. We "
            "keep a record of your consent choices as proof of what you decided."
        ),
        "",
        _("## Your rights"),
        _("You can do all of this yourself on your page, or ask us; we answer within one month."),
        _("- See what we hold about you and how we use it (GDPR Art. 15)."),
        _("- Have wrong data corrected (Art. 16)."),
        _("- Have your data erased (Art. 17)."),
        _("- Have the use of your data restricted while something is checked (Art. 18)."),
        _(
            "- Be told that we passed a correction or erasure on to anyone who received the "
            "data (Art. 19)."
        ),
        _("- Download your data in a common file format to take elsewhere (Art. 20)."),
        _("- Object to profiling and to offer emails at any time (Art. 21)."),
        _(
            "- Not be subject to a decision made only by a machine that has legal or similarly "
            "significant effects on you (Art. 22). Our AI only suggests items; a person is "
            "always there if you want one."
        ),
        _("- Complain to your data protection authority."),
        "",
        _("## Your browser's privacy signal"),
        _(
            "If your browser sends the Global Privacy Control signal, we treat it as a no to "
            "offer emails, unless you switch them on yourself after reading this notice."
        ),
    ]
    return "\n".join(lines)


def default_ai_statement() -> str:
    """Version 1's "How we use AI" statement."""
    return "\n".join(
        [
            _("## What our AI does"),
            _(
                "We use a recommender system to suggest items you may like: on your page and, "
                "if you allow it, in offer emails. It looks at which items our customers often "
                "buy or view together and compares that with your own history. Every "
                "suggestion comes with its reasons, such as “because you bought rye sourdough”."
            ),
            "",
            _("## What it never does"),
            _("- It never reads data you have not allowed it to use."),
            _(
                "- It never uses the details you declared for fairness audits, such as an age "
                "band, to choose what you see."
            ),
            _(
                "- It never suggests items with something you asked us to avoid, such as "
                "gluten. Items whose allergens we do not know are never suggested to anyone "
                "with a restriction."
            ),
            _("- It makes no decisions about you: no price, credit or access depends on it."),
            "",
            _("## People stay in charge"),
            _(
                "Our staff check suggestions the system flags before anyone sees them, and the "
                "owner can switch the AI off at any time. We regularly check, across groups of "
                "customers and never for one person, that it treats everyone fairly."
            ),
            "",
            _("## Your choices"),
            _(
                "On your page you can pause personalization, switch it off (you then see what "
                "every visitor sees) or have no recommendations at all, and decide which data "
                "may be used for what."
            ),
        ]
    )
