"""Which of a team's keys a payload from LiteLLM or an OTLP trace belongs to, and whether the call
went through a gateway Tally tracks at all.

Only the calling token's team's active keys are candidates: a payload can never be written to
another team's key, whatever it names. A key declares how sources name it (`ApiKey.litellm_models`,
`litellm_api_base`, `broadcast_key_name`); the `X-Tally-Api-Key: SLUG` header names the key for
payloads nothing else maps. A name two keys of the team declare maps to neither (it is reported,
not guessed).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from accounts.models import ApiKey, Gateway, Team

HEADER = "X-Tally-Api-Key"


@dataclass(frozen=True)
class Skip:
    """Why a payload or span did not become a record. Reasons name no ids, so they add up."""

    reason: str


def address_of(url: str) -> str:
    """host[:port] of a URL or bare address, lower-cased; "" when there is none."""
    text = (url or "").strip().lower()
    if not text:
        return ""
    if "//" not in text:
        text = f"//{text}"
    try:
        parts = urlsplit(text)
        return f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname or ""
    except ValueError:
        return ""


def normalized_base(url: str) -> str:
    return (url or "").strip().rstrip("/").lower()


@dataclass
class TeamKeys:
    """A team's active keys, indexed by every name a source may use for them."""

    team: Team
    header_slug: str = ""
    by_slug: dict[str, ApiKey] = field(default_factory=dict)
    by_litellm_model: dict[str, list[ApiKey]] = field(default_factory=lambda: defaultdict(list))
    by_api_base: dict[str, list[ApiKey]] = field(default_factory=lambda: defaultdict(list))
    by_broadcast_name: dict[str, list[ApiKey]] = field(default_factory=lambda: defaultdict(list))
    gateway_kinds: frozenset[str] = frozenset()
    gateway_bases: tuple[str, ...] = ()

    @classmethod
    def load(cls, *, team: Team, header_slug: str = "") -> "TeamKeys":
        keys = cls(team=team, header_slug=(header_slug or "").strip())
        for key in ApiKey.objects.active().filter(team=team).select_related("gateway"):
            keys.by_slug[key.slug] = key
            for name in key.litellm_models if isinstance(key.litellm_models, list) else []:
                if isinstance(name, str) and name:
                    keys.by_litellm_model[name].append(key)
            if key.litellm_api_base:
                keys.by_api_base[normalized_base(key.litellm_api_base)].append(key)
            if key.broadcast_key_name:
                keys.by_broadcast_name[key.broadcast_key_name].append(key)
        gateways = list(Gateway.objects.only("kind", "base_url"))
        keys.gateway_kinds = frozenset(gateway.kind for gateway in gateways)
        keys.gateway_bases = (*(gateway.base_url for gateway in gateways), *keys.by_api_base)
        return keys

    def header_key(self) -> ApiKey | Skip:
        if not self.header_slug:
            return Skip(f"no key of this team maps it; name one with the {HEADER} header")
        key = self.by_slug.get(self.header_slug)
        if key is None:
            return Skip(f"the {HEADER} header names no active key of this team")
        return key

    def first_declared(self, index: dict[str, list[ApiKey]], names: list[str], what: str) -> ApiKey | Skip | None:
        """The key that declares the first of `names` found in `index`; Skip if two keys do."""
        for name in names:
            found = index.get(name) if name else None
            if not found:
                continue
            if len(found) > 1:
                return Skip(
                    f"{what} {name!r} is declared by several keys of this team: {', '.join(k.slug for k in found)}"
                )
            return found[0]
        return None

    def is_tracked(self, *, provider: str, api_base: str = "", address: str = "") -> bool:
        """Whether a call to `provider` at `api_base` (a URL) or `address` (host[:port]) went through
        a gateway Tally knows. A payload that says nothing of where it went is taken to have gone
        through its key's gateway."""
        if not provider and not api_base and not address:
            return True
        if (provider or "").lower() in self.gateway_kinds:
            return True
        return any(goes_to(base, api_base=api_base, address=address) for base in self.gateway_bases)

    @staticmethod
    def fits(key: ApiKey, *, provider: str, api_base: str = "", address: str = "") -> bool:
        """Whether what the payload says of its destination agrees with the key's gateway."""
        if not provider and not api_base and not address:
            return True
        if provider and provider.lower() == key.gateway.kind:
            return True
        return any(
            goes_to(base, api_base=api_base, address=address)
            for base in (key.gateway.base_url, key.litellm_api_base)
            if base
        )


def goes_to(base_url: str, *, api_base: str = "", address: str = "") -> bool:
    """Whether a call to `api_base` (compared by URL prefix) or to `address` (by host and port) is
    a call to the service at `base_url`."""
    if api_base:
        base, called = normalized_base(base_url), normalized_base(api_base)
        return bool(base) and (called == base or called.startswith(f"{base}/"))
    return bool(address) and address == address_of(base_url)
