"""The security review's account probes (issue 14, items 1 and 2), replayed as tests.

1. Take over an imported customer: sign up with her address and a password of one's
   own, wait for her to click "Please confirm your email address", then sign in.
2. Guess the owner's password at /admin/login/ (40 wrong guesses, then the right one).
"""

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import CustomerProfile
from accounts.roles import Role
from tests.builders import PASSWORD, confirmation_link, last_mail_to, login_code, signed_in_user
from tests.factories import CustomerProfileFactory, InteractionFactory, ItemFactory
from tests.mfa import totp_code

pytestmark = pytest.mark.django_db

VICTIM = "gable@example.com"
ATTACKER_PASSWORD = "attacker-chose-this-77"


@pytest.fixture
def imported_customer():
    profile = CustomerProfileFactory(email=VICTIM, user=None, name="Edith Gable")
    InteractionFactory(customer=profile, item=ItemFactory(name="Wheat sourdough"))
    return profile


def attacker_signs_up(client):
    response = client.post(
        reverse("account_signup"),
        {"email": VICTIM, "password1": ATTACKER_PASSWORD, "password2": ATTACKER_PASSWORD},
    )
    assert response.status_code == 302


def attacker_tries_the_password(client):
    return client.post(reverse("account_login"), {"login": VICTIM, "password": ATTACKER_PASSWORD})


def assert_attacker_sees_nothing(client, profile):
    assert signed_in_user(client) is None
    for page in ("me:dashboard", "me:history", "me:data_requests", "me:preferences"):
        response = client.get(reverse(page))
        assert response.status_code == 302, page
        assert response["Location"].startswith(reverse("account_login")), page
    profile.refresh_from_db()
    assert "Wheat sourdough" in {i.item.name for i in profile.interactions.all()}


def test_probe_1_the_customers_confirmation_click_does_not_hand_her_record_to_the_attacker(
    client, imported_customer
):
    # given the attacker signed up with her address and a password of their own
    attacker = client
    attacker_signs_up(attacker)

    # when the real customer clicks "Please confirm your email address" in her browser
    customer = client.__class__()
    customer.post(confirmation_link(last_mail_to(VICTIM)))

    # then the attacker's password opens nothing: no history, export, change or erasure
    response = attacker_tries_the_password(attacker)
    assert "not correct" in response.content.decode()
    assert_attacker_sees_nothing(attacker, imported_customer)

    # and once she has chosen her own password, the record is hers alone
    customer.post(
        reverse("account_choose_password"),
        {"password1": "her-own-passphrase-2026", "password2": "her-own-passphrase-2026"},
    )
    imported_customer.refresh_from_db()
    assert imported_customer.user == signed_in_user(customer)
    attacker_tries_the_password(attacker)
    assert_attacker_sees_nothing(attacker, imported_customer)


def test_probe_1_a_later_code_sign_in_by_the_customer_leaves_the_attacker_locked_out(
    client, imported_customer
):
    attacker = client
    attacker_signs_up(attacker)
    customer = client.__class__()
    customer.post(confirmation_link(last_mail_to(VICTIM)))
    mail.outbox.clear()

    # when she later signs in with an emailed code instead of choosing a password
    other_browser = client.__class__()
    other_browser.post(reverse("account_request_login_code"), {"email": VICTIM})
    other_browser.post(
        reverse("account_confirm_login_code"), {"code": login_code(last_mail_to(VICTIM))}
    )

    # then she has her record, and the attacker's password still opens nothing
    assert signed_in_user(other_browser) is not None
    assert CustomerProfile.objects.get(pk=imported_customer.pk).user == signed_in_user(
        other_browser
    )
    attacker_tries_the_password(attacker)
    assert_attacker_sees_nothing(attacker, imported_customer)


@pytest.fixture
def owner(make_user):
    from allauth.account.models import EmailAddress

    user = make_user(Role.OWNER, email="owner@example.com")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def test_probe_2_forty_guesses_at_admin_login_then_the_right_password_do_not_let_in(client, owner):
    # when someone sends 40 wrong passwords to /admin/login/, then the right one
    for attempt in range(40):
        client.post(
            "/admin/login/?next=/admin/",
            {"username": owner.email, "password": f"wrong-guess-{attempt}"},
        )
    response = client.post(
        "/admin/login/?next=/admin/", {"username": owner.email, "password": PASSWORD}
    )

    # then the admin's own form never checks a password: it sends to the shop's sign-in
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert signed_in_user(client) is None
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_probe_2_guessing_through_the_shops_sign_in_is_limited_for_the_admin_too(client, owner):
    login = client.get("/admin/login/?next=/admin/")["Location"]
    for attempt in range(40):
        client.post(login, {"login": owner.email, "password": f"wrong-guess-{attempt}"})

    response = client.post(login, {"login": owner.email, "password": PASSWORD})

    # then the sign-in refuses even the right password for now (a 429 or the form's
    # "too many failed login attempts", whichever of allauth's limits fires first)
    assert "too many" in response.content.decode().lower()
    assert signed_in_user(client) is None
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_probe_2_the_owners_right_password_alone_does_not_open_the_admin(client, owner):
    login = client.get("/admin/login/?next=/admin/")["Location"]

    response = client.post(login, {"login": owner.email, "password": PASSWORD})

    # then the authenticator app's code is asked for before anything opens
    assert response["Location"] == reverse("mfa_authenticate")
    assert signed_in_user(client) is None
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    client.post(reverse("mfa_authenticate"), {"code": totp_code()})
    assert client.get("/admin/").status_code == 200


def test_probe_2_an_owner_who_never_set_up_the_app_cannot_use_the_admin(client, make_user):
    from allauth.account.models import EmailAddress

    owner = make_user(Role.OWNER, email="owner@example.com", mfa=False)
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)

    client.post(reverse("account_login"), {"login": owner.email, "password": PASSWORD})

    assert signed_in_user(client) == owner
    assert client.get("/admin/")["Location"] == reverse("mfa_activate_totp")
    assert client.get("/owner/")["Location"] == reverse("mfa_activate_totp")
