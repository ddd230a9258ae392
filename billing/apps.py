from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing and reconciliation"

    def ready(self) -> None:
        from billing.alerts.checks import spend_changed_receiver
        from generations.signals import spend_changed

        spend_changed.connect(spend_changed_receiver, dispatch_uid="billing.alerts.spend_changed")
