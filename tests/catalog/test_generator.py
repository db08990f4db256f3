import pytest
from django.db import connection

from moonvault.catalog.generator import MAX_DEPTH, generate
from moonvault.catalog.models import Sample
from moonvault.custody.models import CustodyEvent, LedgerHead
from moonvault.custody.verification import custody_verify


def test_generated_inventory_conserves_mass_and_verifies(db):
    report = generate(samples=400, seed=7, events_per_sample=6, batch_events=500)
    assert report.samples == Sample.objects.count() == 400
    assert report.events == CustodyEvent.objects.count()
    assert report.events > 400 * 3
    verified = custody_verify()
    assert verified.ok, verified.problems
    assert verified.events == report.events
    assert max(Sample.objects.values_list("depth", flat=True)) <= MAX_DEPTH
    assert Sample.objects.filter(parent__isnull=False).exists()


def test_generation_appends_after_existing_samples(db):
    generate(samples=50, seed=1, events_per_sample=4)
    generate(samples=50, seed=2, events_per_sample=4)
    assert Sample.objects.count() == 100
    assert custody_verify().ok


def _foreign_keys() -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid::regclass::text IN "
            "('catalog_sample', 'custody_custodyevent')"
        )
        return set(cursor.fetchall())


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="foreign keys are dropped on PostgreSQL"
)
def test_a_bulk_generation_puts_every_foreign_key_back(db):
    before = _foreign_keys()
    assert len(before) >= 5
    generate(samples=300, seed=3, events_per_sample=4, batch_events=200)
    assert _foreign_keys() == before
    assert custody_verify().ok


def test_an_interrupted_generation_adds_nothing(db):
    generate(samples=30, seed=1, events_per_sample=3)
    head = LedgerHead.objects.get(pk=1)

    def stop(samples, events):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate(samples=300, seed=2, events_per_sample=4, batch_events=200, progress=stop)
    assert Sample.objects.count() == 30
    assert LedgerHead.objects.get(pk=1).seq == head.seq == CustodyEvent.objects.count()
    assert custody_verify().ok
