"""JSON log lines (TALLY_LOG_JSON=1): one object per event, for log pipelines.

Each line has time, level, logger and message, plus `generation`, `gateway` and `api_key`
(slugs / external ids) when the code logging it passed them in `extra`. Secrets never reach a
log line: values that look like gateway keys, Tally tokens or bearer headers are masked, as is
anything under a key named like a secret.
"""

import re

from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

CONTEXT_FIELDS = ("generation", "gateway", "api_key", "team", "alert_kind")
SECRET_NAME = re.compile(r"secret|password|token|authorization|webhook_url|api_key_value", re.IGNORECASE)
SECRET_VALUE = re.compile(
    r"(?:sk-[A-Za-z0-9_\-]{8,}|tally_[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,}|"
    r"https://hooks\.[^\s\"']+)"
)
MASK = "[redacted]"


def log_context(generation) -> dict[str, str]:
    """`extra` for a log call about one generation: its external id, gateway and key slugs."""
    return {
        "generation": generation.external_id,
        "gateway": generation.gateway.slug,
        "api_key": generation.api_key.slug,
    }


def masked(text: str) -> str:
    """The text with anything that looks like a secret replaced."""
    return SECRET_VALUE.sub(MASK, text)


class JsonFormatter(_LibraryJsonFormatter):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s")
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        super().__init__(*args, **kwargs)

    def add_fields(self, log_data: dict, record, message_dict: dict) -> None:
        super().add_fields(log_data, record, message_dict)
        for name in list(log_data):
            value = log_data[name]
            if SECRET_NAME.search(name) and name not in CONTEXT_FIELDS:
                log_data[name] = MASK
            elif isinstance(value, str):
                log_data[name] = masked(value)
