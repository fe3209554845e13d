from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self):
        from billing import signals  # noqa: F401  (charge point removals, for pro rata billing)
