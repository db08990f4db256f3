"""`moonvault load-demo`: a laboratory to explore, with one user per role; once only."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from moonvault.catalog.demo import DemoAlreadyLoaded, demo_load
from moonvault.core.errors import DomainError
from moonvault.core.units import format_mass


class Command(BaseCommand):
    help = (
        "Load the demo: Chang'e-5 and -6 samples split into the four purpose pools, the Apollo "
        "catalog, storage locations at two sites, institutions and one user per role. Does "
        "nothing if the demo is already loaded. Runs only with DEBUG on, because the demo "
        "users' passwords are published."
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "load-demo creates users whose passwords are published; it runs only with DEBUG=1"
            )
        try:
            # The demo's notifications would flood the console; they go to a discarded outbox.
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                summary = demo_load()
        except DemoAlreadyLoaded as exc:
            self.stdout.write(f"{exc.message}; nothing changed.")
            return
        except DomainError as exc:
            raise CommandError(f"demo not loaded: {exc.message}") from None
        pools = ", ".join(f"{pool} {n:,}" for pool, n in summary.samples_by_pool.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo loaded: missions {', '.join(summary.missions)}; {summary.samples:,} "
                f"samples ({pools}); {summary.locations} storage locations at two sites; "
                f"{summary.institutions} institutions."
            )
        )
        self.stdout.write(
            f"Ledger verified: {summary.events:,} custody events, "
            f"{format_mass(summary.received_ug)} received."
        )
        self.stdout.write("Sign in as (username / password):")
        for user in summary.users:
            self.stdout.write(
                f"  {user.username:<14} {user.password:<24} {user.name}, {user.institution}"
            )
