"""The customer's own pages under /me/: overview, history, preferences.

Every view finds the customer from the signed-in user, never from an id in the URL or
the form; an interaction id in a URL is looked up among that customer's rows only.
"""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import CustomerProfile, PersonalizationMode
from accounts.selectors import customer_profile_for_user, effective_mode
from accounts.services import customer_profile_set_mode
from core.errors import ApplicationError
from governance.selectors import kill_switch_engaged
from governance.survey import trust_card
from personalization.dashboard import selectors, services, wording
from personalization.dashboard.forms import ModeForm, PreferencesForm
from personalization.models import Category, Interaction


def customer_page(view):
    """Signed in (else off to the login page) and the signed-in person's own record.

    Staff and owners have no customer record: they get a page that says so.
    """

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        profile = customer_profile_for_user(user=request.user)
        if profile is None:
            return render(request, "me/dashboard.html", {"profile": None})
        return view(request, profile, *args, **kwargs)

    return wrapped


@require_GET
@customer_page
def overview(request, profile: CustomerProfile):
    """What the shop knows about the customer, what it is used for, for how long."""
    context = {
        "profile": profile,
        "overview": selectors.customer_overview(customer=profile),
        # The shop's kill switch overrides "on": say so instead of promising suggestions.
        "shop_paused": kill_switch_engaged(),
        "trust": trust_card(customer=profile),
    }
    return render(request, "me/dashboard.html", context)


@require_GET
@customer_page
def history(request, profile: CustomerProfile):
    page, entries = selectors.history_page(customer=profile, page_number=request.GET.get("page"))
    return render(request, "me/history.html", {"page": page, "entries": entries})


def _back_to_history(request, interaction: Interaction):
    page = request.POST.get("page", "")
    query = f"?page={page}" if page.isdigit() and page != "1" else ""
    return redirect(f"{reverse('me:history')}{query}#interaction-{interaction.pk}")


def _described(interaction: Interaction) -> dict[str, str]:
    deleted_on = selectors.deletion_date(interaction=interaction)
    return {
        "item": interaction.item.name,
        "date": date_format(timezone.localtime(interaction.occurred_at), "DATE_FORMAT"),
        "deleted": date_format(deleted_on, "DATE_FORMAT") if deleted_on else "",
    }


@require_POST
@customer_page
def history_remove(request, profile: CustomerProfile, interaction_id: int):
    try:
        interaction = services.interaction_exclude(customer=profile, interaction_id=interaction_id)
    except Interaction.DoesNotExist:
        raise Http404(_("There is no such record in your history.")) from None
    messages.success(
        request,
        _(
            "“%(item)s” of %(date)s is removed from use: our AI will not read it again. "
            "It stays stored, marked as removed, until it is deleted on %(deleted)s; "
            "until then you can undo this."
        )
        % _described(interaction),
    )
    return _back_to_history(request, interaction)


@require_POST
@customer_page
def history_restore(request, profile: CustomerProfile, interaction_id: int):
    try:
        interaction = services.interaction_restore(customer=profile, interaction_id=interaction_id)
    except Interaction.DoesNotExist:
        raise Http404(_("There is no such record in your history.")) from None
    messages.success(request, _("“%(item)s” of %(date)s is back in use.") % _described(interaction))
    return _back_to_history(request, interaction)


def _mode_saved_message(profile: CustomerProfile) -> str:
    mode = PersonalizationMode(profile.personalization_mode)
    if mode is PersonalizationMode.PAUSED and profile.paused_until:
        resumes = profile.paused_until + timedelta(days=1)
        return _(
            "Personalization is paused until %(until)s. It switches back on by itself "
            "on %(resumes)s."
        ) % {
            "until": date_format(profile.paused_until, "DATE_FORMAT"),
            "resumes": date_format(resumes, "DATE_FORMAT"),
        }
    if mode is PersonalizationMode.OFF:
        return _("Personalization is off: you'll see exactly what any visitor sees.")
    if mode is PersonalizationMode.NONE:
        return _("Recommendations are switched off: you'll see none at all.")
    return _("Personalization is on: suggestions are picked for you from the data you allow.")


def _preferences_saved_message(
    profile: CustomerProfile, changes: services.PreferenceChanges
) -> str:
    if not changes:
        return _("Nothing changed.")
    parts = []
    if changes.liked_categories:
        names = dict(
            Category.objects.filter(slug__in=profile.liked_categories).values_list("slug", "name")
        )
        liked = ", ".join(names.get(slug, slug) for slug in profile.liked_categories)
        parts.append(_("Categories you like: %(names)s.") % {"names": liked or _("none")})
    if changes.restrictions:
        codes = ", ".join(wording.attribute_label(code) for code in profile.restrictions)
        parts.append(_("Never recommended: %(names)s.") % {"names": codes or _("nothing")})
    if changes.notes_for_staff:
        parts.append(
            _("Your note for staff is saved.")
            if profile.notes_for_staff
            else _("Your note for staff is removed.")
        )
    return " ".join(parts)


@require_http_methods(["GET", "POST"])
@customer_page
def preferences(request, profile: CustomerProfile):
    """Personalization mode, liked categories, never-recommend attributes, notes."""
    today = timezone.localdate()
    mode = effective_mode(profile=profile, today=today)
    mode_form = ModeForm(
        initial={
            "mode": mode.value,
            "paused_until": profile.paused_until if mode is PersonalizationMode.PAUSED else None,
        },
        today=today,
    )
    choices = {
        "category_choices": selectors.liked_category_choices(),
        "restriction_choices": selectors.restriction_choices(current=list(profile.restrictions)),
    }
    preferences_form = PreferencesForm(
        initial={
            "liked_categories": profile.liked_categories,
            "restrictions": profile.restrictions,
            "notes_for_staff": profile.notes_for_staff,
        },
        **choices,
    )

    if request.method == "POST":
        submitted = request.POST.get("form")
        if submitted == "mode":
            mode_form = ModeForm(request.POST, today=today)
            if mode_form.is_valid():
                try:
                    customer_profile_set_mode(
                        profile=profile,
                        mode=PersonalizationMode(mode_form.cleaned_data["mode"]),
                        paused_until=mode_form.cleaned_data["paused_until"],
                        today=today,
                    )
                except ApplicationError as error:
                    mode_form.add_application_error(error)
                else:
                    messages.success(request, _mode_saved_message(profile))
                    return redirect("me:preferences")
        elif submitted == "preferences":
            preferences_form = PreferencesForm(request.POST, **choices)
            if preferences_form.is_valid():
                try:
                    changes = services.customer_preferences_update(
                        profile=profile, **preferences_form.cleaned_data
                    )
                except ApplicationError as error:
                    preferences_form.add_application_error(error)
                else:
                    messages.success(request, _preferences_saved_message(profile, changes))
                    return redirect("me:preferences")
        else:
            messages.error(request, _("Nothing was saved: the form was not recognised."))
            return redirect("me:preferences")

    errors = _error_summary(mode_form) + _error_summary(preferences_form)
    return render(
        request,
        "me/preferences.html",
        {"mode_form": mode_form, "preferences_form": preferences_form, "errors": errors},
        status=400 if errors else 200,
    )


def _error_summary(form) -> list[tuple[str, str, str]]:
    """(field id, label, message) for each error, so the page can link to the field."""
    summary: list[tuple[str, str, str]] = []
    for name, field_messages in form.errors.items():
        if name not in form.fields:
            summary.extend(("", "", message) for message in field_messages)
            continue
        bound = form[name]
        # A group of radio buttons or checkboxes is reached through its first option.
        grouped = bound.widget_type in ("radioselect", "checkboxselectmultiple")
        target = f"{bound.auto_id}_0" if grouped else bound.auto_id
        summary.extend((target, str(bound.label), message) for message in field_messages)
    return summary
