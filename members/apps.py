from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"

    def ready(self):
        from members import signals  # noqa: F401  (django-allauth hooks)
