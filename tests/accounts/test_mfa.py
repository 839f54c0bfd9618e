"""Two-factor sign-in: any signed-in person may set it up; owners and the admin need it."""

from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import call_command
from django.urls import reverse

from accounts.roles import Role
from tests.builders import PASSWORD, signed_in_user
from tests.mfa import recovery_code, totp_code, totp_enrol

pytestmark = pytest.mark.django_db


def sign_in_with_password(client, email: str, password: str = PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def html(response) -> str:
    return response.content.decode()


def open_app_setup(client, password: str = PASSWORD):
    """The setup page, after typing the password again (allauth asks before any change)."""
    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    client.post(response["Location"], {"password": password})
    return client.get(reverse("mfa_activate_totp"))


@pytest.fixture
def owner(make_user, verified_user):
    return verified_user(make_user(Role.OWNER))


@pytest.fixture
def owner_without_app(make_user, verified_user):
    return verified_user(make_user(Role.OWNER, mfa=False))


@pytest.mark.parametrize(
    "path", ["/owner/", "/owner/api-keys/", "/staff/", "/staff/review/", "/admin/"]
)
def test_an_owner_without_an_authenticator_app_is_sent_to_set_one_up(
    client, owner_without_app, path
):
    client.force_login(owner_without_app)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    page = client.get(reverse("home"), follow=True)
    assert "Set up an authenticator app first" in html(page)


def test_an_owner_sets_up_the_app_on_first_sign_in_and_then_opens_the_console(
    client, owner_without_app
):
    # given the owner signs in with the password alone
    sign_in_with_password(client, owner_without_app.email)
    assert signed_in_user(client) == owner_without_app
    assert client.get("/owner/")["Location"] == reverse("mfa_activate_totp")

    # when she confirms her password, scans the code shown and types the app's code
    page = open_app_setup(client)
    assert page.status_code == 200
    secret = client.session["mfa.totp.secret"]
    assert secret in html(page)
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})

    # then she is shown her recovery codes, and the console opens
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_view_recovery_codes")
    codes = client.get(reverse("mfa_view_recovery_codes"))
    assert "Recovery Codes" in html(codes)
    assert client.get("/owner/").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_does_not_set_up_the_app(client, owner_without_app):
    sign_in_with_password(client, owner_without_app.email)
    open_app_setup(client)
    secret = client.session["mfa.totp.secret"]
    wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"

    response = client.post(reverse("mfa_activate_totp"), {"code": wrong})

    assert response.status_code == 200
    assert "Incorrect code." in html(response)
    assert not Authenticator.objects.filter(user=owner_without_app).exists()
    assert client.get("/owner/")["Location"] == reverse("mfa_activate_totp")


def test_an_owner_with_the_app_signs_in_with_password_and_code(client, owner):
    # when she signs in with her password
    response = sign_in_with_password(client, owner.email)

    # then she is not signed in until she gives the app's code
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert signed_in_user(client) is None
    assert client.get("/owner/")["Location"].startswith(reverse("account_login"))

    wrong = f"{(int(totp_code()) + 1) % 1_000_000:06d}"
    refused = client.post(reverse("mfa_authenticate"), {"code": wrong})
    assert "Incorrect code." in html(refused)
    assert signed_in_user(client) is None

    client.post(reverse("mfa_authenticate"), {"code": totp_code()})
    assert signed_in_user(client) == owner
    assert client.get("/owner/").status_code == 200


def test_a_recovery_code_stands_in_for_a_lost_phone(client, owner):
    sign_in_with_password(client, owner.email)

    client.post(reverse("mfa_authenticate"), {"code": recovery_code(owner)})

    assert signed_in_user(client) == owner


def test_signing_in_by_emailed_code_still_asks_an_owner_for_the_app(client, owner):
    from tests.builders import last_mail_to, login_code

    client.post(reverse("account_request_login_code"), {"email": owner.email})
    response = client.post(
        reverse("account_confirm_login_code"), {"code": login_code(last_mail_to(owner.email))}
    )

    assert response["Location"] == reverse("mfa_authenticate")
    assert signed_in_user(client) is None


def test_an_owner_cannot_switch_the_app_off(client, owner):
    client.force_login(owner)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})

    response = client.post(reverse("mfa_deactivate_totp"))

    assert response.status_code == 200
    assert "You cannot deactivate two-factor authentication." in html(response)
    assert Authenticator.objects.filter(user=owner, type=Authenticator.Type.TOTP).exists()
    assert client.get("/owner/").status_code == 200


def test_staff_may_set_up_the_app_but_need_not(client, make_user, verified_user):
    staff = verified_user(make_user(Role.STAFF))
    client.force_login(staff)

    # the staff console opens without it, and links to the setup page
    console = client.get("/staff/")
    assert console.status_code == 200
    assert f'href="{reverse("mfa_index")}"' in html(console)
    assert "Two-factor sign-in" in html(console)

    # and a staff member who sets it up is asked for it at the next sign-in
    totp_enrol(staff)
    client.post(reverse("account_logout"))
    assert sign_in_with_password(client, staff.email)["Location"] == reverse("mfa_authenticate")


def test_the_owner_console_links_to_the_setup_page(client, owner):
    client.force_login(owner)

    page = client.get("/owner/")

    assert f'href="{reverse("mfa_index")}"' in html(page)
    index = client.get(reverse("mfa_index"))
    assert index.status_code == 200
    assert "Authenticator App" in html(index)


def test_admin_login_goes_through_the_shops_sign_in(client):
    response = client.get("/admin/login/?next=/admin/personalization/item/")

    assert response.status_code == 302
    assert response["Location"] == (
        f"{reverse('account_login')}?next=%2Fadmin%2Fpersonalization%2Fitem%2F"
    )
    # a next address on another site is never where the sign-in leads
    foreign = client.get("/admin/login/?next=https://evil.example/")
    after_sign_in = parse_qs(urlsplit(foreign["Location"]).query)["next"][0]
    assert after_sign_in.startswith("/admin/login/")
    # the admin itself sends visitors the same way
    first = client.get("/admin/")
    assert first["Location"].startswith("/admin/login/")
    assert client.get(first["Location"])["Location"].startswith(reverse("account_login"))


def test_a_signed_in_customer_is_refused_the_admin_without_a_redirect_loop(client, make_user):
    client.force_login(make_user(Role.CUSTOMER))

    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 403


def test_the_owner_signs_in_to_the_admin_with_password_and_code(client, owner):
    login = client.get("/admin/login/?next=/admin/")["Location"]

    response = client.post(login, {"login": owner.email, "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code()})

    assert response["Location"] == "/admin/"
    assert "Site administration" in html(client.get("/admin/"))


def test_the_demo_owner_signs_in_with_the_readme_login_and_is_asked_to_set_up_the_app(client):
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())

    response = sign_in_with_password(client, "owner@example.com", "demo-pass-1234")

    assert response.status_code == 302
    assert signed_in_user(client) is not None
    assert client.get("/owner/")["Location"] == reverse("mfa_activate_totp")
    page = open_app_setup(client, "demo-pass-1234")
    assert page.status_code == 200
    assert client.session["mfa.totp.secret"] in html(page)
