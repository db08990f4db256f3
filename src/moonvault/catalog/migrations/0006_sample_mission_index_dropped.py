import django.db.models.deletion
from django.db import migrations, models

# The facet and mission indexes start with mission_id; dropping the column's own index by name
# leaves the table alone (an AlterField would rebuild it on SQLite).
INDEX = "catalog_sample_mission_id_7f4265f3"


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_search_indexes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    f'CREATE INDEX "{INDEX}" ON "catalog_sample" ("mission_id")',
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="sample",
                    name="mission",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="samples",
                        to="catalog.mission",
                    ),
                )
            ],
        )
    ]
