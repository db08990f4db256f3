"""Moonvault: custody, curation and fair sharing of lunar samples."""
