"""Deployment checks of Tally's own, run by `manage.py check --deploy`."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

CONSOLE_EMAIL = "django.core.mail.backends.console.EmailBackend"


@register(Tags.security, deploy=True)
def password_reset_links_reach_people(app_configs, **kwargs) -> list[Warning]:
    """The console email backend (the demo's default) prints every password reset link into
    the server's output, where anyone who reads the logs can take over the account."""
    if settings.EMAIL_BACKEND != CONSOLE_EMAIL:
        return []
    return [
        Warning(
            "EMAIL_BACKEND is the console backend: password reset links would be printed to the server's output.",
            hint="Set EMAIL_BACKEND (e.g. django.core.mail.backends.smtp.EmailBackend) and the EMAIL_* settings.",
            id="tally.W001",
        )
    ]
