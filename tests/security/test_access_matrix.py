"""Who reaches what: every URL pattern of the URL conf, for every kind of caller.

The patterns come from walking the resolver, so a new URL is in the matrix the moment it
is routed. Each one is filled with real objects (customer A's, where it names one) by
KWARG_BUILDERS, and each (URL, caller) cell is checked against the declared policy in
expected() and API_SCOPES: visitors are sent to sign in, /me/ is the signed-in
customer's own, /staff/ is for staff and the owner, /owner/ for the owner, /api/v1/ for
keys holding the operation's scope, /admin/ as Django's admin decides from the owner's
model permissions, public pages for all. Customer B never reaches customer A's things.
Every GET is checked, and for every refused cell a POST (with a body that would change
something) is refused the same way and writes nothing.

Callers: real HTTP sessions through Django's test client (force_login), API keys through
DRF's APIClient. One world is built per run, inside a transaction; each cell runs in a
savepoint of it.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiScope, CustomerProfile, User
from accounts.roles import Role
from accounts.services import api_key_create, customer_profile_claim, user_set_role
from audits.models import AuditRun
from governance.models import PersonalizationFeature, RiskAssessment, Vendor
from personalization.campaigns.links import LinkAction, link_token
from personalization.campaigns.models import Campaign, CampaignRecipient
from personalization.consent.notices import notice_acknowledge, notice_ensure_initial
from personalization.models import (
    DataRequest,
    DataRequestKind,
    DataRequestStatus,
    Feedback,
    ImportRun,
    ImportRunStatus,
    NonProductCode,
    PrivacyNotice,
    Recommendation,
    ReviewItem,
    Webhook,
)
from personalization.recommending import services as recommending
from tests.factories import (
    AuditFindingFactory,
    CustomerProfileFactory,
    InteractionFactory,
    ItemFactory,
    UserFactory,
)
from tests.mfa import totp_enrol

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Route:
    """One URL pattern with the patterns it is included under."""

    pieces: tuple[Any, ...]
    namespace: str
    pattern: URLPattern

    @property
    def template(self) -> str:
        return "".join(str(piece) for piece in self.pieces)

    @property
    def name(self) -> str:
        local = self.pattern.name or "(unnamed)"
        return f"{self.namespace}:{local}" if self.namespace else local

    def __str__(self) -> str:
        return f"{self.name} /{self.template}"


def _walk(resolver: URLResolver, pieces: tuple, namespaces: tuple) -> list[Route]:
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            found += _walk(
                entry,
                (*pieces, entry.pattern),
                (*namespaces, entry.namespace) if entry.namespace else namespaces,
            )
        else:
            found.append(Route((*pieces, entry.pattern), ":".join(namespaces), entry))
    return found


ROUTES = _walk(get_resolver(), (), ())


# --- the people and the things their URLs point at -----------------------------------

ANONYMOUS, CUSTOMER_A, CUSTOMER_B, STAFF, OWNER = (
    "anonymous",
    "customer_a",
    "customer_b",
    "staff",
    "owner",
)
KEY_PREFIX = "key:"
# A key holding every scope, on pages: pages do not read API keys.
ALL_SCOPES_KEY = "key:*"
SESSION_ROLES = (CUSTOMER_A, CUSTOMER_B, STAFF, OWNER)
SCOPE_KEYS = tuple(f"{KEY_PREFIX}{scope}" for scope in ApiScope.values)

# Text only customer A's pages may show.
A_MARKERS = ("Annabel Alder", "annabel@example.com", "Alder rye loaf")


@dataclass
class World:
    users: dict[str, User]
    clients: dict[str, Client]
    profile_a: CustomerProfile
    profile_b: CustomerProfile
    objects: dict[str, Any]


def _person(role: Role, *, email: str, name: str, external_id: str | None = None) -> User:
    user = UserFactory.create(email=email, name=name)
    if role is Role.CUSTOMER:
        CustomerProfileFactory.create(email=email, name=name, external_id=external_id)
        customer_profile_claim(user=user, emails=[email])
    else:
        user_set_role(user=user, role=role)
    if role is Role.OWNER:
        totp_enrol(user)  # the owner console and the admin need an authenticator app
    return user


def _export_file() -> str:
    folder = Path(settings.MEDIA_ROOT) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "access-matrix-test.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("README.txt", "Annabel Alder's data")
    return f"exports/{path.name}"


def _rows_migrate_seeds() -> None:
    """The registry and the built-in features, as `migrate` leaves them (a transactional
    test earlier in the run may have flushed them)."""
    from importlib import import_module

    from django.apps import apps

    for module, loader in (
        ("personalization.migrations.0002_registry", "load_registry"),
        ("governance.migrations.0003_builtin_features", "create_builtin_features"),
    ):
        getattr(import_module(module), loader)(apps, None)


def _build_world() -> World:
    now = timezone.now()
    if not PersonalizationFeature.objects.exists():
        _rows_migrate_seeds()
    users = {
        CUSTOMER_A: _person(
            Role.CUSTOMER, email="annabel@example.com", name="Annabel Alder", external_id="CA-1"
        ),
        CUSTOMER_B: _person(
            Role.CUSTOMER, email="bertram@example.com", name="Bertram Birch", external_id="CB-1"
        ),
        STAFF: _person(Role.STAFF, email="sam.staff@example.com", name="Sam Staff"),
        OWNER: _person(Role.OWNER, email="olive.owner@example.com", name="Olive Owner"),
    }
    profile_a = CustomerProfile.objects.get(user=users[CUSTOMER_A])
    profile_b = CustomerProfile.objects.get(user=users[CUSTOMER_B])
    loaf = ItemFactory.create(name="Alder rye loaf", sku="ALDER-RYE")
    interaction_a = InteractionFactory.create(customer=profile_a, item=loaf)
    InteractionFactory.create(customer=profile_b, item=ItemFactory.create(name="Birch bun"))
    version = recommending.model_version_create()
    recommending.model_version_train(model_version=version, with_metrics=False)
    recommendation_a = Recommendation.objects.create(
        customer=profile_a, item=loaf, score=1.0, rank=1, model_version=version
    )
    held_a = Recommendation.objects.create(
        customer=profile_a,
        item=ItemFactory.create(name="Alder seed cake"),
        score=0.5,
        rank=2,
        model_version=version,
        status="held",
    )
    review_item = ReviewItem.objects.create(
        recommendation=held_a, customer=profile_a, title="Seed cake for a customer"
    )
    feedback_a = Feedback.objects.create(customer=profile_a, item=held_a.item, kind="not_for_me")
    export_a = DataRequest.objects.create(
        customer=profile_a,
        customer_ref=profile_a.pk,
        kind=DataRequestKind.EXPORT,
        status=DataRequestStatus.COMPLETED,
        requested_at=now - timedelta(days=1),
        due_at=now + timedelta(days=29),
        completed_at=now,
        export_file=_export_file(),
    )
    campaign = Campaign.objects.create(
        name="Rye week", subject="Rye", message="Fresh rye", created_by=users[OWNER]
    )
    recipient = CampaignRecipient.objects.create(
        campaign=campaign, customer=profile_a, recommendation=recommendation_a
    )
    feature = PersonalizationFeature.objects.order_by("code").first()
    assessment = RiskAssessment.objects.filter(feature=feature).order_by("version").first()
    # As in the product, the first notice is published before any draft exists, so a
    # consent choice can refer to version 1; both customers have read it (no page sends
    # them to the notice first).
    notice_ensure_initial()
    for profile in (profile_a, profile_b):
        notice_acknowledge(profile=profile, version=1)
    notice = PrivacyNotice.objects.create(
        version=7, title="Draft", body="b", ai_statement="a", created_by=users[OWNER]
    )
    vendor = Vendor.objects.create(
        name="Mailer Ltd", service="email", receives="addresses", next_review=now.date()
    )
    webhook = Webhook.objects.create(
        name="till", url="https://hooks.example.com/in", secret="s3cret", events=["x"]
    )
    run = AuditRun.objects.create(
        status=AuditRun.Status.COMPLETED, trigger="command", finished_at=now
    )
    finding = AuditFindingFactory(run=run)
    api_key, _ = api_key_create(name="old till", scopes=[ApiScope.EVENTS_WRITE])
    # A checked upload waiting for the owner's confirmation (confirming it writes).
    import_run = ImportRun.objects.create(
        profile="fairshare",
        status=ImportRunStatus.CHECKED,
        files=[{"name": "catalog.csv", "stored": "01-catalog.csv", "size": 10}],
        preview={"files": [], "errors": [], "error_count": 0},
        created_by=users[OWNER],
        created_at=now,
        heartbeat_at=now,
    )
    _rows_for_every_admin_page(now, profile_a, users, run, review_item)
    clients: dict[str, Client] = {ANONYMOUS: Client()}
    for role in SESSION_ROLES:
        clients[role] = Client()
        clients[role].force_login(users[role])
    for role in (*SCOPE_KEYS, ALL_SCOPES_KEY):
        scopes = ApiScope.values if role == ALL_SCOPES_KEY else [role.removeprefix(KEY_PREFIX)]
        _key, secret = api_key_create(name=role, scopes=scopes)
        api_client = APIClient()
        api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
        clients[role] = api_client
    objects = {
        "interaction_a": interaction_a,
        "recommendation_a": recommendation_a,
        "feedback_a": feedback_a,
        "review_item": review_item,
        "export_a": export_a,
        "campaign": campaign,
        "recipient": recipient,
        "feature": feature,
        "assessment": assessment,
        "notice": notice,
        "vendor": vendor,
        "webhook": webhook,
        "run": run,
        "finding": finding,
        "api_key": api_key,
        "import_run": import_run,
        # One of the codes the migration seeds (POST removes it; a GET changes nothing).
        "non_product_code": NonProductCode.objects.order_by("pk").first(),
    }
    return World(users, clients, profile_a, profile_b, objects)


def _rows_for_every_admin_page(now, profile_a, users, run, review_item) -> None:
    """One row of each model the admin lists, so that its change pages can be opened."""
    from allauth.account.models import EmailAddress
    from django_celery_beat.models import ClockedSchedule, SolarSchedule

    from audits.models import AuditResult
    from audits.services import audit_policy_get
    from core.models import Heartbeat
    from core.services import schedules_sync
    from personalization.consent.services import ConsentChange, consent_set
    from personalization.models import ReviewAction

    EmailAddress.objects.get_or_create(
        user=users[CUSTOMER_A], email=profile_a.email, defaults={"verified": True}
    )
    schedules_sync()
    ClockedSchedule.objects.create(clocked_time=now)
    SolarSchedule.objects.create(event="sunrise", latitude=51.5, longitude=0.1)
    Heartbeat.objects.create(name="matrix", seen_at=now)
    audit_policy_get()
    AuditResult.objects.create(
        run=run,
        metric="coverage",
        attributes=["gender"],
        group={"gender": "woman"},
        attributes_key="gender",
        group_key="gender=woman",
        interval="wilson",
        n=120,
        customers=120,
        value=0.41,
    )
    consent_set(
        customer=profile_a,
        changes=[ConsentChange("personalization", "purchase_history", True)],
        method="ui",
        actor="customer",
        notice_version=None,
    )
    ReviewAction.objects.create(item=review_item, actor=users[STAFF], action="claimed")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world for the whole matrix, in a transaction rolled back at the end; each test
    runs in a savepoint inside it (pytest-django's `db`), so nothing leaks between cells."""
    with django_db_blocker.unblock(), transaction.atomic():
        built = _build_world()
        yield built
        transaction.set_rollback(True)
    (Path(settings.MEDIA_ROOT) / "exports" / "access-matrix-test.zip").unlink(missing_ok=True)


# --- concrete URLs ------------------------------------------------------------------


class Unfillable(LookupError):
    """A pattern has a keyword argument no builder knows how to fill."""


def _admin_model(world: World, route: Route) -> Any:
    from django.contrib import admin

    app_label, model_name = route.template.split("/")[1:3]
    for model in admin.site._registry:
        if (model._meta.app_label, model._meta.model_name) == (app_label, model_name):
            return model
    raise Unfillable(f"no admin model for {route}")


def _admin_object(world: World, route: Route) -> str:
    model = _admin_model(world, route)
    row = model._default_manager.order_by("pk").first()
    if row is None:
        raise Unfillable(f"{route}: the world has no {model.__name__} row to open")
    return str(row.pk)


# (the URL segment before the argument, the argument's name) -> its value. "" as the
# segment matches any segment.
KWARG_BUILDERS: dict[tuple[str, str], Any] = {
    ("history", "interaction_id"): lambda w, r: w.objects["interaction_a"].pk,
    ("recommendations", "pk"): lambda w, r: w.objects["recommendation_a"].pk,
    ("feedback", "feedback_id"): lambda w, r: w.objects["feedback_a"].pk,
    ("requests", "request_id"): lambda w, r: w.objects["export_a"].pk,
    ("preview", "data_category"): lambda w, r: "purchase_history",
    ("review", "item_id"): lambda w, r: w.objects["review_item"].pk,
    ("campaigns", "pk"): lambda w, r: w.objects["campaign"].pk,
    ("preview", "recipient_pk"): lambda w, r: w.objects["recipient"].pk,
    ("features", "code"): lambda w, r: w.objects["feature"].code,
    ("assessments", "version"): lambda w, r: w.objects["assessment"].version,
    ("vendors", "pk"): lambda w, r: w.objects["vendor"].pk,
    ("notice", "version"): lambda w, r: w.objects["notice"].version,
    ("webhooks", "pk"): lambda w, r: w.objects["webhook"].pk,
    ("audits", "pk"): lambda w, r: w.objects["run"].pk,
    ("findings", "pk"): lambda w, r: w.objects["finding"].pk,
    ("api-keys", "pk"): lambda w, r: w.objects["api_key"].pk,
    ("import", "pk"): lambda w, r: w.objects["import_run"].pk,
    ("non-product-codes", "pk"): lambda w, r: w.objects["non_product_code"].pk,
    ("unsubscribe", "token"): lambda w, r: link_token(
        action=LinkAction.UNSUBSCRIBE,
        customer_id=w.profile_a.pk,
        campaign_id=w.objects["campaign"].pk,
    ),
    ("stop-personalizing", "token"): lambda w, r: link_token(
        action=LinkAction.STOP_PERSONALIZING,
        customer_id=w.profile_a.pk,
        campaign_id=w.objects["campaign"].pk,
    ),
    ("customers", "external_id"): lambda w, r: w.profile_a.external_id,
    ("audits", "run_id"): lambda w, r: str(w.objects["run"].pk),
    # allauth's emailed links: a made-up key shows allauth's "bad link" page.
    ("confirm-email", "key"): lambda w, r: "not-a-real-key",
    ("key", "uidb36"): lambda w, r: "0",
    ("key", "key"): lambda w, r: "not-a-real-key",
    # the admin
    ("", "object_id"): _admin_object,
    ("r", "content_type_id"): lambda w, r: _content_type_of_user(),
    ("r", "object_id"): lambda w, r: w.users[CUSTOMER_A].pk,
    ("", "app_label"): lambda w, r: "personalization",
    ("", "url"): lambda w, r: "no-such-page/",
}


def _content_type_of_user() -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(User).pk


_ARGUMENT = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>|\(\?P<(?P<group>\w+)>")


def _segment_before(text: str, start: int) -> str:
    """The last literal word of the URL before an argument: what the argument names."""
    words = [
        word
        for word in re.split(r"[/^$]", text[:start])
        if word and not word.startswith(("<", "(?P"))
    ]
    return words[-1] if words else ""


def _builder(segment: str, name: str):
    return KWARG_BUILDERS.get((segment, name)) or KWARG_BUILDERS.get(("", name))


def _regex_group_end(text: str, start: int) -> int:
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "\\":
            continue
        if text[index] == "(" and (index == 0 or text[index - 1] != "\\"):
            depth += 1
        elif text[index] == ")" and text[index - 1] != "\\":
            depth -= 1
            if depth == 0:
                return index + 1
    raise ValueError(text)


def concrete_url(world: World, route: Route) -> str:
    """The route's URL with every argument filled by its builder."""
    parts = []
    template = ""
    for piece in route.pieces:
        text = str(piece)
        out, position = "", 0
        for found in _ARGUMENT.finditer(text):
            if found.start() < position:
                continue
            name = found.group("name") or found.group("group")
            segment = _segment_before(template + text, len(template) + found.start())
            builder = _builder(segment, name)
            if builder is None:
                raise Unfillable(
                    f"{route}: no builder for the argument {name!r} after /{segment}/ "
                    "(add one to KWARG_BUILDERS)"
                )
            value = builder(world, route)
            end = found.end() if found.group("name") else _regex_group_end(text, found.start())
            if found.group("name"):
                converter = piece.converters[name]
                value = converter.to_url(value)
            out += text[position : found.start()] + str(value)
            position = end
        out += text[position:]
        template += text
        parts.append(out.removeprefix("^").removesuffix("$"))
    return "/" + "".join(parts)


# --- the declared policy ------------------------------------------------------------

LOGIN = "/accounts/login/?next="
ADMIN_LOGIN = "/admin/login/?next="
NO_PROFILE_NOTE = "There is no customer record linked to this login."


@dataclass(frozen=True)
class Expect:
    """What one caller must get from one URL."""

    statuses: frozenset[int]
    # A redirect must go to one of these (prefixes; "...?next=" must name this URL).
    location: tuple[str, ...] = ()
    # Refused: a POST (or the API's write method) answers `post_statuses` and changes
    # nothing in the database.
    refused: bool = False
    post_statuses: frozenset[int] = frozenset()
    # Text a 200 page must show (e.g. the note for logins without a customer record).
    shows: str | None = None
    why: str = ""


def _codes(*codes: int) -> frozenset[int]:
    return frozenset(codes)


# 405 is a refusal too: a URL that takes POST only (or GET only) shows nothing either way.
SEND_TO_LOGIN = Expect(
    _codes(302, 405),
    (LOGIN,),
    refused=True,
    post_statuses=_codes(302, 405),
    why="sign in first",
)
FORBIDDEN = Expect(
    _codes(403, 405), refused=True, post_statuses=_codes(403, 405), why="not this role's pages"
)
NOT_THEIRS = Expect(
    _codes(404, 405),
    refused=True,
    post_statuses=_codes(404, 405),
    why="another customer's object",
)
# Staff and owners on /me/: no customer record, so a note, a refusal or a 404, never a
# customer's data (erasure asks for the password again before it looks).
NOT_A_CUSTOMER = Expect(
    _codes(200, 403, 404, 405),
    ("/accounts/reauthenticate/",),
    refused=True,
    post_statuses=_codes(200, 302, 400, 403, 404, 405),
    shows=NO_PROFILE_NOTE,
    why="logins without a customer record",
)
ALLOWED = Expect(_codes(200, 302, 405), why="allowed")
PUBLIC = Expect(_codes(200, 302), why="public")

# Pages of /staff/ that only the owner may use.
OWNER_ONLY_ON_STAFF = {
    "staff:review_policy": "a policy-level decision is the owner's",
    "staff:campaign_send": "only the owner sends a campaign (and sees its confirmation)",
}

# allauth's pages for a signed-in person (visitors are sent to sign in first).
ACCOUNT_SIGNED_IN = (
    "accounts/reauthenticate/",
    "accounts/email/",
    "accounts/password/change/",
    "accounts/password/set/",
    "accounts/2fa/",
)
PUBLIC_PATHS = (
    *("", "healthz/", "favicon.ico", "transparency/", "i18n/setlang/"),
    *("api/schema/", "api/docs/", "api/redoc/"),
)

# Each API operation and the scope it needs; an API URL missing here fails the matrix.
API_SCOPES: dict[str, dict[str, str]] = {
    "api-events": {"post": ApiScope.EVENTS_WRITE},
    "api-items": {"put": ApiScope.CATALOG_WRITE},
    "api-customers": {"put": ApiScope.CUSTOMERS_WRITE},
    "api-recommendations": {"get": ApiScope.RECOMMENDATIONS_READ},
    "api-data-requests": {"post": ApiScope.REQUESTS_WRITE},
    "api-consents": {"get": ApiScope.CONSENTS_READ, "put": ApiScope.CONSENTS_WRITE},
    "api-audits": {"get": ApiScope.AUDITS_READ},
    "api-audit": {"get": ApiScope.AUDITS_READ},
}
# Bodies that would change something if the write were let through.
API_BODIES: dict[str, dict[str, Any]] = {
    "api-events": {
        "events": [
            {
                "event_id": "matrix-1",
                "customer_external_id": "CA-1",
                "sku": "ALDER-RYE",
                "kind": "view",
                "occurred_at": "2026-11-20T09:30:00+00:00",
                "quantity": 1,
                "value": "3.50",
            }
        ]
    },
    "api-items": {
        "items": [
            {
                **{"sku": "MATRIX-1", "name": "Matrix loaf", "category": "Breads"},
                **{"price": "3.10", "attributes": [], "active": True},
            }
        ]
    },
    "api-customers": {
        "customers": [{"external_id": "MATRIX-C", "email": "m@example.com", "name": "M"}]
    },
    "api-data-requests": {"kind": "export"},
    "api-consents": {
        "consents": [{"purpose": "marketing", "data_category": "purchase_history", "granted": True}]
    },
}
# Form data for the pages' POSTs, so that a missing check would really change something.
POST_BODIES: dict[str, dict[str, Any]] = {
    "me:recommendation_feedback": {"kind": "not_for_me"},
    "me:recommendation_cant_have": {},
    "me:feedback_undo": {},
    "me:preferences": {"form": "mode", "mode": "none"},
    "me:trust_survey": {"score": 1, "comment": "matrix"},
    # The version the page showed (the first notice), her existing tick, and one new one.
    "me:consent": {
        **{"notice_version": 1, "personalization:purchase_history": "on"},
        **{"marketing:purchase_history": "on"},
    },
    "staff:data_request_note": {"note-note": "matrix"},
    "owner:kill_switch": {"action": "pause", "reason": "matrix"},
    "owner:vendor_create": {
        **{"name": "Matrix Ltd", "service": "x", "receives": "y"},
        **{"dpa_status": "none", "next_review": "2027-01-01"},
    },
    "owner:feature_create": {"code": "matrix", "name": "Matrix"},
    "owner:import_confirm": {},
}

# Object-level: the URLs that name one of customer A's own things.
A_OBJECT_ARGUMENTS = {"interaction_id", "request_id", "pk", "feedback_id"}


def _admin_expect(route: Route, role: str, world: World) -> Expect:
    if role != OWNER:
        if route.name == "admin:login":
            if role in (ANONYMOUS, ALL_SCOPES_KEY):
                return Expect(_codes(302), (LOGIN,), why="the admin signs in through allauth")
            return Expect(_codes(403), why="the admin is for the owner")
        if route.name == "admin:logout":
            return Expect(_codes(302), ("/admin/",), why="nobody to sign out")
        return Expect(_codes(302), (ADMIN_LOGIN,), refused=True, post_statuses=_codes(302))
    # The owner: Django's admin answers by the model permissions of the owner's group.
    special = {
        "admin:login": Expect(_codes(302), ("/admin/",), why="already signed in"),
        "admin:logout": Expect(_codes(405), why="signing out is a POST"),
        "admin:autocomplete": Expect(_codes(403), why="a request naming no field"),
        "admin:view_on_site": Expect(_codes(404), why="no model has a page on the site"),
        "admin:(unnamed)": Expect(_codes(302, 404), why="redirect to the change page"),
    }
    if route.name in special:
        if route.template.endswith("(?P<url>.*)$"):
            return Expect(_codes(404), why="no such admin page")
        return special[route.name]
    parts = route.template.split("/")
    registered = {(m._meta.app_label, m._meta.model_name) for m in _admin_models()}
    if len(parts) > 2 and (parts[1], parts[2]) in registered:
        action = route.pattern.name.rsplit("_", 1)[-1] if route.pattern.name else "change"
        codename = {"changelist": "view", "history": "view", "change": "view"}.get(action, action)
        allowed = world.users[OWNER].has_perm(f"{parts[1]}.{codename}_{parts[2]}") or (
            codename == "view" and world.users[OWNER].has_perm(f"{parts[1]}.change_{parts[2]}")
        )
        return ALLOWED if allowed else Expect(_codes(403), why="no permission for this model")
    return ALLOWED


def _admin_models():
    from django.contrib import admin

    return list(admin.site._registry)


def expected(route: Route, role: str, world: World) -> Expect:
    """The declared access rule for `role` on `route`; unknown areas fail loudly."""
    path = route.template
    key = role.startswith(KEY_PREFIX)
    if path.startswith("admin/"):
        return _admin_expect(route, role, world)
    if path in PUBLIC_PATHS or path.startswith("offers/"):
        return PUBLIC
    if path.startswith("accounts/"):
        if any(path.startswith(prefix) for prefix in ACCOUNT_SIGNED_IN):
            if role == ANONYMOUS or key:
                # allauth's sign-in, with or without ?next= (its MFA step has none)
                return Expect(_codes(302), ("/accounts/login/",), why="sign in first")
            # allauth may ask for the password again first, or 404 a missing app
            return Expect(_codes(200, 302, 404), why="allauth's own pages")
        return Expect(_codes(200, 302), why="allauth's public pages")
    if path.startswith("me/"):
        if role == ANONYMOUS or key:
            return SEND_TO_LOGIN
        if role in (STAFF, OWNER):
            return NOT_A_CUSTOMER
        names_a_thing = bool(set(route.pattern.pattern.converters) & A_OBJECT_ARGUMENTS)
        if role == CUSTOMER_B and names_a_thing:
            return NOT_THEIRS
        return ALLOWED
    if path.startswith("staff/"):
        if role == ANONYMOUS or key:
            return SEND_TO_LOGIN
        if route.name in OWNER_ONLY_ON_STAFF:
            return ALLOWED if role == OWNER else FORBIDDEN
        return ALLOWED if role in (STAFF, OWNER) else FORBIDDEN
    if path.startswith("owner/"):
        if role == ANONYMOUS or key:
            return SEND_TO_LOGIN
        return ALLOWED if role == OWNER else FORBIDDEN
    raise LookupError(f"no access policy for {route}: declare one in expected()")


# --- what "changes nothing" means -----------------------------------------------------

# A refused request may still write its session and when a key was last used.
MAY_WRITE = {"django_session": ("ins", "upd", "del"), "accounts_apikey": ("upd",)}


def database_writes() -> dict[str, tuple[int, int, int]]:
    """Rows written so far in this transaction, per table (inserted, updated, deleted).

    PostgreSQL counts every write of the transaction, savepoints included, so a refused
    request that wrote anything shows up here even though the test rolls it back.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables"
            )
            return {table: (ins, upd, dele) for table, ins, upd, dele in cursor.fetchall()}
    return _row_digests()


def _row_digests() -> dict[str, Any]:
    """SQLite: every table's rows, in one statement (the session's own table aside, and
    without the time a key was last used)."""
    from django.apps import apps
    from django.db import connection

    name = connection.ops.quote_name
    selects, labels = [], []
    for model in apps.get_models(include_auto_created=True):
        table = model._meta.db_table
        if not model._meta.managed or table == "django_session":
            continue
        columns = [
            f"quote({name(column)})"
            for column in (f.column for f in model._meta.concrete_fields)
            if column is not None and column != "last_used_at"
        ]
        rows = "||'|'||".join(columns)
        select = f"SELECT %s, count(*), group_concat({rows}, ';')"
        selects.append(f"{select} FROM {name(table)}")
        labels.append(table)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(selects), labels)
        return {table: (count, rows) for table, count, rows in cursor.fetchall()}


def changed_tables(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    from django.db import connection

    changed = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table), after.get(table)
        if old == new:
            continue
        if connection.vendor == "postgresql":
            was, now = old or (0, 0, 0), new or (0, 0, 0)
            kinds = [
                kind for kind, a, b in zip(("ins", "upd", "del"), was, now, strict=True) if a != b
            ]
            if all(kind in MAY_WRITE.get(table, ()) for kind in kinds):
                continue
        changed.append(table)
    return changed


# --- the cells --------------------------------------------------------------------------

PAGE_ROLES = (ANONYMOUS, CUSTOMER_A, CUSTOMER_B, STAFF, OWNER, ALL_SCOPES_KEY)
ADMIN_ROLES = (ANONYMOUS, CUSTOMER_A, STAFF, OWNER)
API_ROLES = (ANONYMOUS, *SESSION_ROLES, *SCOPE_KEYS)

# Cells that fail today because work in progress has not landed; strict, so each one
# flips to a failure (and is removed here) the moment it does.
PENDING: dict[tuple[str, str], str] = {}


def _cells(roles_of) -> list:
    cells = []
    for route in ROUTES:
        for role in roles_of(route):
            marks = []
            if (route.name, role) in PENDING:
                marks.append(pytest.mark.xfail(strict=True, reason=PENDING[route.name, role]))
            cells.append(pytest.param(route, role, id=f"/{route.template} {role}", marks=marks))
    return cells


def _page_roles(route: Route) -> tuple[str, ...]:
    if route.template.startswith("api/v1/"):
        return ()
    return ADMIN_ROLES if route.template.startswith("admin/") else PAGE_ROLES


def _api_roles(route: Route) -> tuple[str, ...]:
    return API_ROLES if route.template.startswith("api/v1/") else ()


def _check_location(response, expect: Expect, url: str) -> None:
    if response.status_code != 302 or not expect.location:
        return
    location = response["Location"]
    assert location.startswith(expect.location), (url, location, expect.location)
    nexts = parse_qs(urlsplit(location).query).get("next")
    if nexts or location.startswith((LOGIN, ADMIN_LOGIN)):
        assert nexts == [url], (url, location)


def _body(response) -> str:
    if response.streaming:
        # Read to the end: the test client then closes the response (and its file).
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def _shows_nothing_of_a(body: str, url: str, role: str) -> None:
    for marker in A_MARKERS:
        assert marker not in body, f"{url} shows {marker!r} to {role}"


def _must_not_see_a(route: Route, role: str) -> bool:
    """Customer B, visitors and keys never see A's data; staff and owners only in their
    consoles (never through /me/)."""
    if role == CUSTOMER_A:
        return False
    return role not in (STAFF, OWNER) or route.template.startswith("me/")


def test_every_argument_of_every_pattern_has_a_builder(world):
    """A new URL with an argument nobody knows how to fill fails here, by name."""
    unfillable = []
    for route in ROUTES:
        try:
            concrete_url(world, route)
        except Unfillable as error:
            unfillable.append(str(error))
    assert unfillable == []


def test_every_built_url_resolves_back_to_its_own_pattern(world):
    from django.urls import resolve

    wrong = []
    for route in ROUTES:
        url = concrete_url(world, route)
        if resolve(url).func is not route.pattern.callback:
            wrong.append(f"{route}: {url} resolves to {resolve(url).view_name}")
    assert wrong == []


def test_every_pattern_is_under_a_declared_policy(world):
    undeclared = []
    for route in ROUTES:
        for role in _page_roles(route):
            try:
                expected(route, role, world)
            except LookupError as error:
                undeclared.append(str(error))
                break
        if _api_roles(route) and route.name not in API_SCOPES:
            undeclared.append(f"{route}: declare its scopes in API_SCOPES")
    assert undeclared == []


@pytest.mark.parametrize(("route", "role"), _cells(_page_roles))
def test_page(world, route, role):
    # given the URL filled with real objects (customer A's, where it names one)
    url = concrete_url(world, route)
    expect = expected(route, role, world)
    client = world.clients[role]

    # when the caller opens it
    response = client.get(url)
    body = _body(response)

    # then the declared outcome, and nothing of A's for anyone who may not see it
    assert response.status_code in expect.statuses, (
        f"{role} GET {url}: {response.status_code}, expected {sorted(expect.statuses)} "
        f"({expect.why})"
    )
    _check_location(response, expect, url)
    if response.status_code == 200 and expect.shows:
        assert expect.shows in body, url
    if _must_not_see_a(route, role):
        _shows_nothing_of_a(body, url, role)
    if not expect.refused:
        return

    # and a POST without permission is refused the same way and changes nothing
    before = database_writes()
    response = client.post(url, POST_BODIES.get(route.name, {}))
    body = _body(response)
    assert response.status_code in expect.post_statuses, (
        f"{role} POST {url}: {response.status_code}, expected {sorted(expect.post_statuses)}"
    )
    _check_location(response, expect, url)
    if response.status_code == 200 and expect.shows:
        assert expect.shows in body, url
    if _must_not_see_a(route, role):
        _shows_nothing_of_a(body, url, role)
    assert changed_tables(before, database_writes()) == [], f"{role} POST {url} changed data"


ALLOWED_ROLE = {"me": CUSTOMER_A, "staff": STAFF, "owner": OWNER}


@pytest.mark.parametrize("name", sorted(POST_BODIES))
def test_each_post_body_writes_when_allowed(world, name):
    """The refused POSTs above carry these bodies: each one must really change something
    for a caller who may send it, or the refusal would prove nothing."""
    (route,) = [r for r in ROUTES if r.name == name]
    client = world.clients[ALLOWED_ROLE[route.namespace]]
    before = database_writes()

    response = client.post(concrete_url(world, route), POST_BODIES[name])

    assert response.status_code in (200, 302), response.status_code
    assert changed_tables(before, database_writes()) != [], f"{name}: the body wrote nothing"


@pytest.mark.parametrize(("route", "role"), _cells(_api_roles))
def test_api(world, route, role):
    url = concrete_url(world, route)
    scopes = API_SCOPES[route.name]
    client = world.clients[role]
    key = role.removeprefix(KEY_PREFIX) if role.startswith(KEY_PREFIX) else None
    for method in ("get", *(m for m in scopes if m != "get")):
        needed = scopes.get(method)
        before = database_writes()
        if method == "get":
            response = client.get(url)
        else:
            response = getattr(client, method)(
                url, API_BODIES[route.name], content_type="application/json"
            )
        status = response.status_code
        what = f"{role} {method.upper()} {url}: {status}"
        if role == ANONYMOUS:
            assert status == 401, what
            assert response["WWW-Authenticate"] == "Api-Key", what
        elif key is None:
            # The API is for the shop's systems: a browser session carries no scope.
            assert status in (401, 403), what
        elif needed is None:
            assert status == 405, what  # a method the URL does not answer
        elif key == needed:
            assert status in (200, 201, 202), what
            if method != "get":  # the body is one that really writes when allowed
                assert changed_tables(before, database_writes()) != [], f"{what} wrote nothing"
            continue
        else:
            assert status == 403, what
            assert response.json()["error"]["message"] == (
                f"This key lacks the scope '{needed}'."
            ), what
        if status != 405:
            assert set(response.json()) == {"error"}, what
        _shows_nothing_of_a(_body(response), url, role)
        assert changed_tables(before, database_writes()) == [], f"{what} changed data"
