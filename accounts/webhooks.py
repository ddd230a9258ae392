"""Where Tally may post a team's alerts: the rules for an incoming-webhook URL.

A webhook URL is typed in by a person and then requested by a worker inside our network, so
it is an SSRF vector: only https to a public address is allowed, and plain http only to the
loopback interface when TALLY_WEBHOOK_ALLOW_LOOPBACK is on (development and tests). The host
is checked when the URL is saved and again, resolved, right before each request (a name may
resolve elsewhere later).
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError


def _loopback_allowed() -> bool:
    return settings.TALLY_WEBHOOK_ALLOW_LOOPBACK


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_webhook_url(url: str) -> None:
    """Raise ValidationError unless `url` is an acceptable incoming-webhook URL (see module)."""
    if not url:
        return
    if len(url) > 500 or any(character.isspace() or ord(character) < 32 for character in url):
        raise ValidationError("The webhook URL is not a valid URL.")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as error:
        raise ValidationError("The webhook URL is not a valid URL.") from error
    if parts.username or parts.password:
        raise ValidationError("The webhook URL must not carry a user name or password.")
    if not host:
        raise ValidationError("The webhook URL needs a host.")
    if parts.scheme == "http" and _loopback_allowed() and _is_loopback_host(host):
        return
    if parts.scheme != "https":
        raise ValidationError("The webhook URL must use https.")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")) or "." not in host:
            raise ValidationError("The webhook URL must name a public host.") from None
        return
    if not address.is_global:
        raise ValidationError("The webhook URL must name a public address.")


def webhook_host_addresses_allowed(url: str) -> None:
    """Resolve the URL's host and raise ValidationError if any address it resolves to is not
    public (loopback is allowed with TALLY_WEBHOOK_ALLOW_LOOPBACK). Called before each post."""
    validate_webhook_url(url)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        resolved = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except OSError as error:
        raise ValidationError(f"The webhook host could not be resolved: {error}") from error
    for *_, socket_address in resolved:
        address = ipaddress.ip_address(socket_address[0])
        if address.is_loopback and _loopback_allowed():
            continue
        if not address.is_global:
            raise ValidationError("The webhook host resolves to an address that is not public.")
