"""Imported audit: columns count as declared with fairness_audit consent (PRODUCT.md),
recorded in the consent ledger with method import; a refusal is never overridden."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import AuditAttribute, CustomerProfile
from personalization.consent.services import ConsentChange, consent_set
from personalization.models import Consent, ConsentEvent

pytestmark = pytest.mark.django_db

CUSTOMERS = """external_id,email,name,audit:age_band,audit:gender
C1,one@example.com,One,55+,woman
C2,two@example.com,Two,,
C3,three@example.com,Three,18-24,
"""


def import_customers(tmp_path: Path, text: str = CUSTOMERS) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(text, encoding="utf-8")
    call_command("import_data", "--customers", str(path), stdout=io.StringIO())


def audit_consent(external_id: str) -> Consent | None:
    return Consent.objects.filter(
        customer__external_id=external_id,
        purpose="fairness_audit",
        data_category="audit_attributes",
    ).first()


def test_declared_columns_record_fairness_audit_consent_with_method_import(tmp_path):
    import_customers(tmp_path)

    one, three = audit_consent("C1"), audit_consent("C3")
    assert one is not None and one.granted and one.event.method == "import"
    assert three is not None and three.granted
    # A customer who declared nothing gave no consent for audits.
    assert audit_consent("C2") is None
    events = ConsentEvent.objects.filter(purpose="fairness_audit")
    assert events.count() == 2
    assert set(events.values_list("actor", flat=True)) == {"system:import"}


def test_reimporting_adds_no_ledger_events(tmp_path):
    import_customers(tmp_path)
    before = ConsentEvent.objects.count()

    import_customers(tmp_path)

    assert ConsentEvent.objects.count() == before


def test_a_refusal_is_kept_and_the_declared_values_are_not_stored(tmp_path):
    customer = CustomerProfile.objects.create(external_id="C1", email="one@example.com")
    consent_set(
        customer=customer,
        changes=[ConsentChange("fairness_audit", "audit_attributes", False)],
        method="ui",
        actor="customer",
        notice_version=None,
    )

    import_customers(tmp_path)

    consent = audit_consent("C1")
    assert consent is not None and consent.granted is False
    assert not AuditAttribute.objects.filter(customer=customer).exists()
    # Other customers are imported as usual.
    assert AuditAttribute.objects.filter(customer__external_id="C3").count() == 1
