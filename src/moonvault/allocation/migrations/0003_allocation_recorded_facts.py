"""Each allocation records what the transparency tables group it by: the requested item's
mission, and the principal investigator's institution and its country when it was made.

Existing allocations are filled from the joins the tables read until now (allocation → requested
item → proposal → PI → person → institution), in one UPDATE with a subquery per column, the
same on SQLite and PostgreSQL; the PI's institution today is the best that is known of it then.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Value
from django.db.models.deletion import PROTECT
from django.db.models.functions import Coalesce

PI_INSTITUTION = "proposal__pi__person__institution"


def record_facts(apps, schema_editor):
    """Fill `mission`, `institution` and `country` of every allocation from the joins."""
    Allocation = apps.get_model("allocation", "Allocation")
    RequestedItem = apps.get_model("calls", "RequestedItem")
    item = RequestedItem.objects.filter(pk=OuterRef("item_id"))
    Allocation.objects.update(
        mission_id=Subquery(item.values("mission_id")),
        institution_id=Subquery(item.values(PI_INSTITUTION)),
        country=Coalesce(Subquery(item.values(f"{PI_INSTITUTION}__country")), Value("")),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_person_obligations_overdue_since"),
        ("allocation", "0002_plan_outcome_explanation_message"),
        ("calls", "0001_initial"),
        ("catalog", "0015_sample_facet_bucket_counts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="allocation",
            name="mission",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=PROTECT,
                related_name="+",
                to="catalog.mission",
            ),
        ),
        migrations.AddField(
            model_name="allocation",
            name="institution",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=PROTECT,
                related_name="+",
                to="accounts.institution",
            ),
        ),
        migrations.AddField(
            model_name="allocation",
            name="country",
            field=models.CharField(
                blank=True, default="", help_text="ISO 3166-1 alpha-2 code", max_length=2
            ),
            preserve_default=False,
        ),
        migrations.RunPython(record_facts, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="allocation",
            name="mission",
            field=models.ForeignKey(
                db_index=False, on_delete=PROTECT, related_name="+", to="catalog.mission"
            ),
        ),
        migrations.AddConstraint(
            model_name="allocation",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("country", ""), ("institution__isnull", True)),
                    models.Q(("institution__isnull", False), models.Q(("country", ""), _negated=True)),
                    _connector="OR",
                ),
                name="allocation_country_with_institution",
            ),
        ),
        migrations.AddIndex(
            model_name="allocation",
            index=models.Index(fields=["mission", "mass_ug"], name="allocation_mission"),
        ),
        migrations.AddIndex(
            model_name="allocation",
            index=models.Index(
                fields=["created_at", "mission", "mass_ug"], name="allocation_created"
            ),
        ),
        migrations.AddIndex(
            model_name="allocation",
            index=models.Index(fields=["country", "mass_ug"], name="allocation_country"),
        ),
        migrations.AddIndex(
            model_name="allocation",
            index=models.Index(
                fields=["institution", "country", "mass_ug"], name="allocation_institution"
            ),
        ),
    ]
