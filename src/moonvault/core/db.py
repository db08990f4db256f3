"""Database helpers shared by the apps."""

from django.db import models


class ByteOrderCharField(models.CharField):
    """A CharField compared byte by byte on PostgreSQL (collation "C").

    Identifier and genealogy-path prefix searches become index range scans only when the index
    orders strings by bytes; SQLite's default BINARY collation already does.
    """

    def db_parameters(self, connection):
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params
