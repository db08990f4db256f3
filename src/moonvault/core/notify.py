"""E-mail to the people an action concerns. The demo uses the console backend."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction


def notify(users, subject: str, body: str) -> None:
    """Send after the transaction commits, so nobody hears of a change that was rolled back."""
    recipients = sorted({u.email for u in users if u is not None and u.email})
    if not recipients:
        return
    transaction.on_commit(
        lambda: send_mail(f"[Moonvault] {subject}", body, settings.DEFAULT_FROM_EMAIL, recipients)
    )
