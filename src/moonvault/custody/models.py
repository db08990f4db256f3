"""The custody ledger: append-only, hash-chained events, one per change to one sample.

`seq` is contiguous from 1 and assigned under the lock of the single `LedgerHead` row, so the chain
order is the commit order and a missing or inserted event breaks the sequence as well as the hashes.
A database trigger (migration 0002) refuses UPDATE and DELETE of events on SQLite and PostgreSQL.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from moonvault.catalog.models import Sample, State, StorageLocation
from moonvault.custody.chain import GENESIS_HASH


class EventKind(models.TextChoices):
    RECEIVED = "received", _("Received")
    SPLIT = "split", _("Split")
    SPLIT_OFF = "split_off", _("Created by split")
    WEIGHED = "weighed", _("Weighed")
    CORRECTED = "corrected", _("Corrected")
    MOVED = "moved", _("Moved")
    RECLASSIFIED = "reclassified", _("Reassigned to a purpose pool")
    ALLOCATED = "allocated", _("Allocated")
    DEALLOCATED = "deallocated", _("Allocation released")
    PACKED = "packed", _("Packed")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Received by borrower")
    RETURNED = "returned", _("Returned")
    DISPLAYED = "displayed", _("Put on display")
    UNDISPLAYED = "undisplayed", _("Taken off display")
    CONSUMED = "consumed", _("Consumed by analysis")
    DESTROYED = "destroyed", _("Destroyed")
    LOST = "lost", _("Lost")
    FOUND = "found", _("Found")


class CustodyEvent(models.Model):
    seq = models.BigIntegerField(primary_key=True)
    # Indexed as the first column of event_sample_seq.
    sample = models.ForeignKey(
        Sample, on_delete=models.PROTECT, related_name="events", db_index=False
    )
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    operation = models.CharField(max_length=32, help_text="groups the events of one action")
    mass_delta_ug = models.BigIntegerField(default=0)
    loss_ug = models.BigIntegerField(default=0)
    state_after = models.CharField(max_length=12, choices=State.choices)
    location_after = models.ForeignKey(
        StorageLocation, on_delete=models.PROTECT, null=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField()
    reason = models.TextField(blank=True)
    data = models.TextField(default="{}", help_text="canonical JSON, hashed as stored")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["sample", "seq"], name="event_sample_seq")]
        constraints = [
            models.CheckConstraint(condition=models.Q(loss_ug__gte=0), name="event_loss_nonneg"),
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="event_seq_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {self.sample_id}"


class LedgerHead(models.Model):
    """One row: the last event's seq and hash. Locking it serializes appends to the chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="ledger_head_single")]
