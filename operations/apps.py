from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Operations (health, metrics, logs)"

    def ready(self) -> None:
        from operations import jobs  # noqa: F401  (connects the Celery signals that time jobs)
