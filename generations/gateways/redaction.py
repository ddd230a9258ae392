"""The one place secrets are taken out of what a gateway answered, before it becomes text.

A gateway that refuses a key often echoes it ("Invalid API key sk-or-v1-…"), and a misbehaving
proxy may echo the whole Authorization header. Every lookup error passes through `redact_error`
(generations/gateways/client.py) before anything logs it, mails it to the admins or stores it as
a gateway's or key's pause reason. Removed: the secret the lookup was made with, anything after
`Bearer`, anything shaped like a provider key (`sk-…`, `sk_…`), and the values of JSON or
query-string fields named like credentials.
"""

import re

from generations.gateways.base import GatewayError

REDACTED = "[redacted]"
_PATTERNS = (
    re.compile(r"(?i)\b(bearer)\s+[^\s\"',;]+"),
    re.compile(r"\bsk[-_][A-Za-z0-9_\-]{6,}"),
    re.compile(
        r"(?i)([\"']?(?:api[_-]?key|access[_-]?token|token|secret|authorization|password)[\"']?\s*[:=]\s*[\"']?)"
        r"[^\s\"'&,;}]+"
    ),
)


def redact_secrets(text: str, *, secrets: tuple[str, ...] = ()) -> str:
    """`text` without the given secrets and without anything that looks like a credential."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    text = _PATTERNS[0].sub(lambda match: f"{match.group(1)} {REDACTED}", text)
    text = _PATTERNS[1].sub(REDACTED, text)
    return _PATTERNS[2].sub(lambda match: f"{match.group(1)}{REDACTED}", text)


def redact_error(error: GatewayError, *, secret: str) -> GatewayError:
    """The same error, its message redacted (in place: the type, status and retry hints stay)."""
    error.args = tuple(redact_secrets(str(arg), secrets=(secret,)) for arg in error.args)
    return error
