"""`python manage.py seed_demo [--password P]`: demo operators, users and data. Idempotent.

Each app may have a `demo.py` with `seed(ctx)`; they run in INSTALLED_APPS order inside one
transaction, sharing `ctx` (a dict with the options and what earlier apps created).
"""
import importlib

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

DEFAULT_PASSWORD = "demo-portal-2026"


class Command(BaseCommand):
    help = "Create or refresh the demo operators, users and data (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD,
                            help=f"Password for every demo user (default: {DEFAULT_PASSWORD}).")
        parser.add_argument("--scale", choices=["demo", "large"], default="demo",
                            help="large: also a 'scale' operator with 10 000 charge points and 1 000 000 charges "
                                 "(PostgreSQL).")

    def handle(self, *args, **options):
        ctx = {"options": options, "password": options["password"], "log": self.stdout.write}
        with transaction.atomic():
            for config in apps.get_app_configs():
                try:
                    module = importlib.import_module(f"{config.name}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{config.name}.demo":
                        raise
                    continue
                module.seed(ctx)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write("Sign in at http://127.0.0.1:8000/ with any of these (password: {}):".format(ctx["password"]))
        for email, what in ctx.get("logins", []):
            self.stdout.write(f"  {email:<28} {what}")
