from moonvault.catalog.generator import MAX_DEPTH, generate
from moonvault.catalog.models import Sample
from moonvault.custody.models import CustodyEvent
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
