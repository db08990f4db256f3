"""PostgreSQL: the facet columns with the search column, for text searches with a facet filter.

A common text with a mission was counted by reading the samples in storage order until 5,000 of
the mission's samples held the text: some 64,000 rows at 1,000,000 samples for a text in a
quarter of them and a mission holding a quarter (25 ms), and every sample for a rare mission.
This index holds (mission, state, form, pool) and the upper-cased text (migration 0012), so that
the count reads the mission's entries alone, in the index, without visiting the table (5 ms).
SQLite counts a text through its FTS5 table (migration 0011).
"""

from django.db import migrations

from moonvault.core.db import sql_by_vendor

# A B-tree entry holds at most 2,704 bytes and a description has no length limit: the samples
# whose text is longer are left out of the covering index (its entry could not be written) and
# listed by a second one (catalog/text_index.py, COVERED_BYTES).
FORWARD = [
    "CREATE INDEX sample_facets_text ON catalog_sample (mission_id, state, form, pool) "
    "INCLUDE (search_text) WHERE octet_length(search_text) <= 2000",
    "CREATE INDEX sample_text_long ON catalog_sample (mission_id) "
    "WHERE octet_length(search_text) > 2000",
]
REVERSE = ["DROP INDEX sample_text_long", "DROP INDEX sample_facets_text"]


class Migration(migrations.Migration):
    dependencies = [("catalog", "0012_sample_search_text")]

    operations = [
        migrations.RunPython(
            sql_by_vendor({"postgresql": FORWARD}), sql_by_vendor({"postgresql": REVERSE})
        )
    ]
