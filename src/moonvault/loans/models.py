"""Publications and their authors; loans build on these.

Authorship links a publication to registered people where they are known, so that co-authorship
conflicts of interest can be found automatically.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Publication(models.Model):
    doi = models.CharField(_("DOI"), max_length=200, blank=True)
    title = models.CharField(_("title"), max_length=500)
    journal = models.CharField(_("journal"), max_length=200, blank=True)
    year = models.PositiveSmallIntegerField(_("year"))
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["doi"], condition=~models.Q(doi=""), name="publication_doi_unique"
            )
        ]

    def __str__(self) -> str:
        return self.title


class Authorship(models.Model):
    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="authors")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="authorships",
    )
    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["publication", "position"]

    def __str__(self) -> str:
        return self.name
