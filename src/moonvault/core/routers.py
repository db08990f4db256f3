"""Database routing: the primary for writes, a read replica (when configured) for plain reads.

A read inside a transaction stays on the primary: services read what they lock and change there,
and a page that has just written sees its own write. Locking reads (`select_for_update`) count as
writes in Django, so they never reach the replica.
"""

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"


class ReadReplicaRouter:
    def db_for_read(self, model, **hints):
        if REPLICA in connections.settings and not connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same rows: the replica is a copy of the primary.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS
