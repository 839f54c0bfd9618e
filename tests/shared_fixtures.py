"""Fixtures used by test modules in more than one folder (a plugin: tests/conftest.py
lists it in `pytest_plugins`). Request them by name; never import them."""

import importlib

import pytest

from tests.workers import require_worker_services, worker_pool


@pytest.fixture
def worker(tmp_path, monkeypatch):
    """One worker process on a queue of this test's own: (queue, process, log path)."""
    require_worker_services("the worker integration test")
    with worker_pool(tmp_path=tmp_path, monkeypatch=monkeypatch, prefix="test", tasks=[]) as pool:
        process, log = pool.start("worker")
        yield pool.queue, process, log


@pytest.fixture
def seeded_codes():
    """The non-product codes the data migration seeds (a transactional test's flush
    empties every table)."""
    from personalization.models import NonProductCode

    seed = importlib.import_module(
        "personalization.migrations.0012_return_kind_guest_sales_non_product_codes"
    ).SEED
    NonProductCode.objects.bulk_create(
        [NonProductCode(code=code, note=note) for code, note in seed], ignore_conflicts=True
    )
