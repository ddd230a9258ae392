from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    name = "generations"
    verbose_name = "Generations"

    def ready(self) -> None:
        from celery.signals import worker_process_shutdown

        # The gateway connections a worker process kept open are closed with it.
        worker_process_shutdown.connect(_close_lookup_loop, weak=False)


def _close_lookup_loop(**_) -> None:
    from generations import lookup_loop

    lookup_loop.loop_close()
