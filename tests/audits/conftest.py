"""A small shop for audit tests: declared attributes with consent, lists with a known gap."""

from __future__ import annotations

import pytest

from tests.builders import AuditShop, build_audit_shop


@pytest.fixture
def audit_shop(db) -> AuditShop:
    return build_audit_shop()


@pytest.fixture
def owner(make_user):
    from accounts.roles import Role

    return make_user(Role.OWNER, email="owner@example.com")
