"""An imported customer claims their record only through an address they proved they own."""

import re
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import CustomerProfile, User
from accounts.roles import Role
from accounts.selectors import user_role
from tests.builders import SIGN_UP_PASSWORD as PASSWORD
from tests.builders import confirmation_link, last_mail_to, login_code, signed_in_user
from tests.factories import CustomerProfileFactory, InteractionFactory, ItemFactory

pytestmark = pytest.mark.django_db

GABLE = "gable@example.com"


@pytest.fixture
def imported_gable():
    """Mrs. Gable as the shop's systems imported her: history, but no login."""
    profile = CustomerProfileFactory(email=GABLE, user=None, name="Edith Gable")
    sourdough = ItemFactory(name="Wheat sourdough")
    rye = ItemFactory(name="Dark rye")
    InteractionFactory.create_batch(3, customer=profile, item=sourdough)
    InteractionFactory(customer=profile, item=rye, kind="view")
    return profile


def sign_up(client, email: str, password: str = PASSWORD):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": password, "password2": password},
    )


def sign_in_with_password(client, email: str, password: str = PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def sign_in_with_code(client, email: str):
    response = client.post(reverse("account_request_login_code"), {"email": email})
    assert response.status_code == 302, response.content.decode()
    code = login_code(last_mail_to(email))
    return client.post(reverse("account_confirm_login_code"), {"code": code})


@pytest.mark.parametrize("typed_email", [GABLE, "Gable@Example.COM"])
def test_imported_customer_signs_up_confirms_and_sees_her_history(
    client, imported_gable, typed_email
):
    # when she signs up with the address the shop has on file
    response = sign_up(client, typed_email)

    # then she must first prove the address is hers
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert signed_in_user(client) is None
    imported_gable.refresh_from_db()
    assert imported_gable.user is None
    message = last_mail_to(GABLE)
    assert "Confirm" in message.subject

    # when she follows the emailed link and confirms
    link = confirmation_link(message)
    page = client.get(link)
    assert page.status_code == 200
    assert "Confirm" in page.content.decode()
    response = client.post(link)

    # then she is signed in, her record is hers, and /me/ shows her history
    assert response.status_code == 302
    user = signed_in_user(client)
    assert user is not None
    assert user.email.lower() == GABLE
    imported_gable.refresh_from_db()
    assert imported_gable.user == user
    assert CustomerProfile.objects.filter(user=user).count() == 1
    assert user_role(user=user) is Role.CUSTOMER

    me = client.get(reverse("me:dashboard"))
    html = me.content.decode()
    assert me.status_code == 200
    assert "Wheat sourdough" in html
    assert "Dark rye" in html
    assert client.get(reverse("home"))["Location"] == reverse("me:dashboard")


def test_unverified_signup_with_someone_elses_address_claims_nothing(client, imported_gable):
    # given someone signs up with Mrs. Gable's address and never opens her mailbox
    sign_up(client, GABLE, password="intruder-password-77")
    intruder = User.objects.get(email__iexact=GABLE)
    assert not EmailAddress.objects.filter(user=intruder, verified=True).exists()

    # when they try to sign in with the password they chose
    response = sign_in_with_password(client, GABLE, password="intruder-password-77")

    # then they are held at the verification step, signed out, with nothing linked
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert signed_in_user(client) is None
    assert client.get(reverse("me:dashboard"))["Location"].startswith(reverse("account_login"))
    imported_gable.refresh_from_db()
    assert imported_gable.user is None
    assert not CustomerProfile.objects.filter(user=intruder).exists()


def test_a_second_account_for_the_same_address_is_impossible(client, imported_gable):
    sign_up(client, GABLE)
    mail.outbox.clear()
    cache.clear()  # as if the cooldown between mails to one address had passed

    # when anyone signs up again with the address, in any letter case
    other = client.__class__()
    response = sign_up(other, "GABLE@example.com", password="another-password-88")

    # then no second login exists; the mailbox owner is told instead (no enumeration)
    assert response.status_code == 302
    assert User.objects.filter(email__iexact=GABLE).count() == 1
    assert EmailAddress.objects.filter(email__iexact=GABLE).count() == 1
    assert "already exists" in last_mail_to(GABLE).body
    imported_gable.refresh_from_db()
    assert imported_gable.user is None


def test_login_by_code_links_an_unclaimed_record_with_the_verified_address(
    client, imported_gable, verified_user
):
    # given a login whose verified address matches a record imported after it was made
    user = verified_user(User.objects.create_user(email=GABLE, password=PASSWORD))

    # when she signs in with an emailed code
    response = sign_in_with_code(client, GABLE)

    # then she is signed in and the record is linked to her login
    assert response.status_code == 302
    assert signed_in_user(client) == user
    imported_gable.refresh_from_db()
    assert imported_gable.user == user
    assert "Wheat sourdough" in client.get(reverse("me:dashboard")).content.decode()
    # her address was already proven, so the password she chose stays hers
    user.refresh_from_db()
    assert user.has_usable_password()


def test_login_by_code_on_an_intruders_unverified_account_locks_the_intruder_out(
    client, imported_gable
):
    # given someone signed up with Mrs. Gable's address and a password of their choosing
    sign_up(client, GABLE, password="intruder-password-77")
    intruder_client = client
    mail.outbox.clear()

    # when Mrs. Gable, from her own browser, signs in with a code sent to her mailbox
    gable_client = client.__class__()
    response = sign_in_with_code(gable_client, GABLE)

    # then her history is linked to the login she just proved is hers...
    assert response.status_code == 302
    user = signed_in_user(gable_client)
    assert user is not None
    imported_gable.refresh_from_db()
    assert imported_gable.user == user

    # ...and the password the intruder chose no longer opens it
    sign_in_with_password(intruder_client, GABLE, password="intruder-password-77")
    assert signed_in_user(intruder_client) is None
    user.refresh_from_db()
    assert not user.has_usable_password()
    assert "password chosen when this account was created has been removed" in (
        gable_client.get(reverse("me:dashboard")).content.decode()
    )


def choose_password(client, password: str = PASSWORD):
    return client.post(
        reverse("account_choose_password"), {"password1": password, "password2": password}
    )


def test_confirming_in_the_browser_that_signed_up_keeps_her_password(client, imported_gable):
    sign_up(client, GABLE)
    client.post(confirmation_link(last_mail_to(GABLE)))
    assert signed_in_user(client) is not None

    # when she signs out and back in with the password she chose at sign-up
    client.post(reverse("account_logout"))
    sign_in_with_password(client, GABLE)

    # then it still works: the browser that chose it is the one that proved the mailbox
    imported_gable.refresh_from_db()
    assert signed_in_user(client) == imported_gable.user


def test_confirmation_link_opened_by_the_real_customer_drops_the_intruders_password(
    client, imported_gable
):
    # given someone signs up with Mrs. Gable's address and a password of their own
    intruder = client
    sign_up(intruder, GABLE, password="intruder-password-77")

    # when Mrs. Gable opens the "Please confirm" link from her mailbox in her own browser
    gable = client.__class__()
    response = gable.post(confirmation_link(last_mail_to(GABLE)))

    # then her browser is asked to choose the password, and nothing is claimed yet
    assert response.status_code == 302
    assert response["Location"] == reverse("account_choose_password")
    imported_gable.refresh_from_db()
    assert imported_gable.user is None
    page = gable.get(reverse("account_choose_password"))
    assert "Choose your password" in page.content.decode()
    assert "gable@example.com is confirmed" in page.content.decode()

    # and the intruder's password no longer opens the account
    response = sign_in_with_password(intruder, GABLE, password="intruder-password-77")
    assert signed_in_user(intruder) is None
    assert "not correct" in response.content.decode()

    # when she chooses her password
    response = choose_password(gable, "gable-own-passphrase-2026")

    # then she is signed in, the record and its history are hers, with her password
    assert response.status_code == 302
    user = signed_in_user(gable)
    assert user is not None
    imported_gable.refresh_from_db()
    assert imported_gable.user == user
    assert "Wheat sourdough" in gable.get(reverse("me:dashboard")).content.decode()
    user.refresh_from_db()
    assert user.check_password("gable-own-passphrase-2026")
    assert not user.check_password("intruder-password-77")
    sign_in_with_password(intruder, GABLE, password="intruder-password-77")
    assert signed_in_user(intruder) is None


def test_a_session_opened_with_the_unproven_password_ends_when_the_mailbox_is_proven(
    client, imported_gable
):
    sign_up(client, GABLE, password="intruder-password-77")
    intruder_account = User.objects.get(email__iexact=GABLE)
    # given a session of that account (as one opened before verification was mandatory)
    intruder = client.__class__()
    intruder.force_login(intruder_account)
    assert signed_in_user(intruder) == intruder_account

    # when the real customer confirms from her own browser
    client.__class__().post(confirmation_link(last_mail_to(GABLE)))

    # then the intruder's session no longer opens anything
    response = intruder.get(reverse("me:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_choosing_a_password_needs_the_confirmation_just_made_in_this_browser(
    client, imported_gable
):
    sign_up(client, GABLE, password="intruder-password-77")
    gable = client.__class__()
    gable.post(confirmation_link(last_mail_to(GABLE)))

    # when the intruder, in the browser that signed up, tries the step itself
    response = choose_password(client, "intruder-new-password-99")

    # then it is refused, and the record stays unclaimed
    assert response.status_code == 302
    assert response["Location"] == reverse("account_request_login_code")
    assert signed_in_user(client) is None
    imported_gable.refresh_from_db()
    assert imported_gable.user is None
    assert not User.objects.get(email__iexact=GABLE).has_usable_password()


def test_choosing_a_password_reports_mismatches_and_changes_nothing(client, imported_gable):
    sign_up(client, GABLE, password="intruder-password-77")
    gable = client.__class__()
    gable.post(confirmation_link(last_mail_to(GABLE)))

    response = gable.post(
        reverse("account_choose_password"),
        {"password1": "gable-own-passphrase-2026", "password2": "something-else-2026"},
    )

    assert response.status_code == 200
    assert "You must type the same password each time." in response.content.decode()
    assert signed_in_user(gable) is None
    imported_gable.refresh_from_db()
    assert imported_gable.user is None
    assert not User.objects.get(email__iexact=GABLE).has_usable_password()


def test_a_new_customer_confirming_on_her_phone_chooses_her_password_there(client):
    sign_up(client, "newcomer@example.com")
    phone = client.__class__()
    response = phone.post(confirmation_link(last_mail_to("newcomer@example.com")))
    assert response["Location"] == reverse("account_choose_password")

    choose_password(phone, "phone-chosen-passphrase")

    user = signed_in_user(phone)
    assert user is not None
    assert CustomerProfile.objects.get(user=user).email == "newcomer@example.com"
    assert "Nothing yet: we hold no history" in phone.get(reverse("me:dashboard")).content.decode()


def test_a_code_sign_in_in_the_browser_that_signed_up_keeps_her_password(client, imported_gable):
    sign_up(client, GABLE)
    mail.outbox.clear()

    # when, instead of clicking the link, she signs in by code in the same browser
    response = sign_in_with_code(client, GABLE)

    # then she chose that password and proved the mailbox here: it stays hers
    assert response.status_code == 302
    user = signed_in_user(client)
    assert user is not None
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    imported_gable.refresh_from_db()
    assert imported_gable.user == user


def test_choosing_a_password_is_open_for_an_hour_after_confirming(client, imported_gable):
    sign_up(client, GABLE, password="intruder-password-77")
    gable = client.__class__()
    gable.post(confirmation_link(last_mail_to(GABLE)))

    # when she comes back to the page two hours later
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        response = choose_password(gable, "gable-own-passphrase-2026")

    # then the step has closed: she is sent to sign in by code, nothing claimed
    assert response["Location"] == reverse("account_request_login_code")
    imported_gable.refresh_from_db()
    assert imported_gable.user is None
    assert not User.objects.get(email__iexact=GABLE).has_usable_password()


def test_a_second_address_cannot_be_added_to_claim_someone_elses_record(
    client, imported_gable, verified_user
):
    # given someone with a proven login of their own
    intruder = verified_user(
        User.objects.create_user(email="mallory@example.com", password=PASSWORD)
    )
    client.force_login(intruder)
    mail.outbox.clear()

    # when they add Mrs. Gable's address to their login
    response = client.post(reverse("account_email"), {"action_add": "", "email": GABLE})

    # then it is refused: no mail asks her to confirm it, and her record stays hers to claim
    assert response.status_code == 200
    assert 'name="action_add"' not in response.content.decode()
    assert not EmailAddress.objects.filter(email__iexact=GABLE).exists()
    assert [m for m in mail.outbox if GABLE in m.to] == []
    imported_gable.refresh_from_db()
    assert imported_gable.user is None


def test_a_password_reset_from_her_mailbox_replaces_the_intruders_and_claims(
    client, imported_gable
):
    # given an intruder's sign-up with her address
    sign_up(client.__class__(), GABLE, password="intruder-password-77")
    mail.outbox.clear()

    # when Mrs. Gable resets the password from her mailbox and confirms in that browser
    client.post(reverse("account_reset_password"), {"email": GABLE})
    link = re.search(
        r"https?://[^/\s]+(/accounts/password/reset/key/[^\s]+/)", last_mail_to(GABLE).body
    )
    form_url = client.get(link.group(1))["Location"]
    client.post(
        form_url, {"password1": "gable-reset-passphrase", "password2": "gable-reset-passphrase"}
    )
    cache.clear()  # as if the cooldown between mails to one address had passed
    response = sign_in_with_password(client, GABLE, password="gable-reset-passphrase")
    assert response["Location"] == reverse("account_email_verification_sent")
    client.post(confirmation_link(last_mail_to(GABLE)))

    # then she is signed in with her password and the record is hers
    user = signed_in_user(client)
    assert user is not None
    imported_gable.refresh_from_db()
    assert imported_gable.user == user
    user.refresh_from_db()
    assert user.check_password("gable-reset-passphrase")
    assert not user.check_password("intruder-password-77")


def test_brand_new_customer_gets_an_empty_profile_and_the_customer_role(client):
    sign_up(client, "newcomer@example.com")
    client.post(confirmation_link(last_mail_to("newcomer@example.com")))

    user = signed_in_user(client)
    assert user is not None
    profile = CustomerProfile.objects.get(user=user)
    assert profile.email == "newcomer@example.com"
    assert profile.external_id is None
    assert not profile.interactions.exists()
    assert list(user.groups.values_list("name", flat=True)) == [Role.CUSTOMER.value]
    assert user_role(user=user) is Role.CUSTOMER
    assert "Nothing yet: we hold no history" in client.get(reverse("me:dashboard")).content.decode()


def test_staff_signing_in_is_not_given_a_customer_profile(client, make_user, verified_user):
    staff = verified_user(make_user(Role.STAFF, password=PASSWORD))

    sign_in_with_password(client, staff.email)

    assert signed_in_user(client) == staff
    assert not CustomerProfile.objects.filter(user=staff).exists()
    assert client.get(reverse("home"))["Location"] == reverse("staff:dashboard")


def test_claim_finds_the_record_behind_any_verified_address(db):
    from accounts.services import customer_profile_claim
    from tests.factories import CustomerProfileFactory, UserFactory

    record = CustomerProfileFactory(email="second@example.com", user=None)
    user = UserFactory(email="first@example.com")
    profile = customer_profile_claim(user=user, emails=["first@example.com", "Second@example.com"])
    assert profile == record
    record.refresh_from_db()
    assert record.user == user


def test_new_customer_whose_address_is_on_anothers_record_gets_a_blank_one(db):
    from accounts.services import customer_profile_claim
    from tests.factories import CustomerProfileFactory, UserFactory

    someone = UserFactory(email="moved@example.com")
    CustomerProfileFactory(email="old@example.com", user=someone)
    newcomer = UserFactory(email="old@example.com")
    profile = customer_profile_claim(user=newcomer, emails=["old@example.com"])
    assert profile.user == newcomer
    assert profile.email == ""
