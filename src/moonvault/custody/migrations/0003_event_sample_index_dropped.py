import django.db.models.deletion
from django.db import migrations, models

# event_sample_seq starts with sample_id; dropping the column's own index by name leaves the
# table alone (an AlterField would rebuild it on SQLite, and the append-only triggers with it).
INDEX = "custody_custodyevent_sample_id_e23b7dcf"


class Migration(migrations.Migration):
    dependencies = [("custody", "0002_append_only")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    f'CREATE INDEX "{INDEX}" ON "custody_custodyevent" ("sample_id")',
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="custodyevent",
                    name="sample",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to="catalog.sample",
                    ),
                )
            ],
        )
    ]
