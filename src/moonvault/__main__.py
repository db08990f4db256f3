"""The `moonvault` command: Django's manage.py for this project."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "moonvault.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # The settings read the environment; a traceback would hide which variable is missing.
        sys.exit(
            f"moonvault: {exc} (the settings come from the environment, see docs/deploy.md; "
            "DEBUG=1 for a local run)"
        )


if __name__ == "__main__":
    main()
