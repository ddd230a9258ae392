"""Writes for accounts: teams, gateways, gateway API keys, memberships and access tokens.

Each service validates everything before it writes, writes in one transaction, and raises
`ValidationError` with a message a person can act on. Secrets are passed in as values and never
appear in an error message.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts.models import AccessToken, ApiKey, Gateway, Membership, Team
from accounts.secrets import fingerprint

# KushRouter documents that it keeps generation records for at least 7 days.
DEFAULT_RETENTION_DAYS = {Gateway.Kind.KUSHROUTER: 7}


def validation_error_line(error: ValidationError) -> str:
    """All messages of a ValidationError on one line, prefixed by the field they concern."""
    if hasattr(error, "error_dict"):
        parts = []
        for field, errors in error.message_dict.items():
            prefix = "" if field == "__all__" else f"{field}: "
            parts.extend(prefix + message for message in errors)
        return " ".join(parts)
    return " ".join(error.messages)


def _validated_slug(slug: str, *, source: str) -> str:
    slug = slug or slugify(source)
    if not slug:
        raise ValidationError(f"Cannot make a slug from {source!r}: give one explicitly.")
    return slug


def team_create(
    *,
    name: str,
    slug: str = "",
    bill_to_name: str = "",
    bill_to_address: str = "",
    monthly_budget: Decimal | None = None,
    alert_webhook_url: str = "",
    digest_opt_in: bool = False,
    dispute_rate_threshold: Decimal | None = None,
) -> Team:
    """Create a team with its bill-to and alert settings; its slug defaults to the slugified name.
    The bill-to name and address are what its invoices are addressed to (the team's name when empty)."""
    name = name.strip()
    if not name:
        raise ValidationError("A team needs a name.")
    team = Team(
        name=name,
        slug=_validated_slug(slug, source=name),
        bill_to_name=bill_to_name.strip(),
        bill_to_address=bill_to_address.strip(),
        monthly_budget=monthly_budget,
        alert_webhook_url=alert_webhook_url,
        digest_opt_in=digest_opt_in,
        dispute_rate_threshold=dispute_rate_threshold,
    )
    team.full_clean()
    team.save()
    return team


def gateway_create(
    *,
    slug: str,
    kind: str,
    base_url: str,
    name: str = "",
    lookup_secret: str = "",
    management_secret: str = "",
    grace_seconds: int | None = None,
    retention_days: int | None = None,
    concurrency: int | None = None,
    rate_limit_per_second: int | None = None,
    discount: Decimal | None = None,
    lookup_path: str = "",
) -> Gateway:
    """Create a gateway connection. Unset numbers take the model's defaults, except retention,
    which defaults to what the gateway kind documents (7 days for KushRouter), and the discount
    (KushRouter sells at 30% off list price). `lookup_path` is where the gateway answers lookups
    when it is not the kind's usual path (some OpenRouter-compatible gateways: /v1/generation).
    A management key (for coverage checks) is only accepted on OpenRouter gateways, the only kind
    that documents per-key activity."""
    if kind not in Gateway.Kind.values:
        raise ValidationError(f"Unknown gateway kind {kind!r}: choose one of {', '.join(Gateway.Kind.values)}.")
    if management_secret and kind != Gateway.Kind.OPENROUTER:
        raise ValidationError(
            f"A management key is only used on openrouter gateways; {kind} documents no activity endpoint."
        )
    gateway = Gateway(
        slug=slug, kind=kind, base_url=base_url.rstrip("/"), name=name or slug, lookup_path=lookup_path.strip()
    )
    gateway.discount = Gateway.default_discount(kind)
    gateway.retention_days = retention_days if retention_days is not None else DEFAULT_RETENTION_DAYS.get(kind)
    given = {
        "grace_seconds": grace_seconds,
        "concurrency": concurrency,
        "rate_limit_per_second": rate_limit_per_second,
        "discount": discount,
    }
    for field, value in given.items():
        if value is not None:
            setattr(gateway, field, value)
    gateway.set_lookup_secret(lookup_secret)
    gateway.set_management_secret(management_secret.strip())
    gateway.full_clean()
    gateway.save()
    return gateway


def api_key_create(
    *,
    team: Team,
    gateway: Gateway,
    name: str,
    secret: str,
    slug: str = "",
    is_byok: bool = False,
    monthly_budget: Decimal | None = None,
    litellm_models: list[str] | None = None,
    litellm_api_base: str = "",
    broadcast_key_name: str = "",
) -> ApiKey:
    """Register a team's gateway API key, encrypting the secret. The slug defaults to
    `<team>-<name>`. A key already registered on the gateway is refused, whoever owns it.
    `litellm_models`, `litellm_api_base` and `broadcast_key_name` say how LiteLLM and OpenRouter
    Broadcast name the key (generations/sources/keys.py)."""
    secret = secret.strip()
    if not secret:
        raise ValidationError("The key's secret is empty.")
    name = name.strip()
    if not name:
        raise ValidationError("A key needs a name.")
    api_key = ApiKey(
        team=team,
        gateway=gateway,
        name=name,
        slug=_validated_slug(slug, source=f"{team.slug}-{name}"),
        is_byok=is_byok,
        monthly_budget=monthly_budget,
        litellm_models=[model.strip() for model in litellm_models or [] if model.strip()],
        litellm_api_base=litellm_api_base.strip(),
        broadcast_key_name=broadcast_key_name.strip(),
    )
    api_key.set_secret(secret)
    duplicate_message = f"This key is already registered on gateway {gateway.slug}."
    if ApiKey.objects.filter(gateway=gateway, fingerprint=fingerprint(secret)).exists():
        raise ValidationError(duplicate_message)
    api_key.full_clean()
    try:
        with transaction.atomic():
            api_key.save()
    except IntegrityError as error:
        # Another process registered the same key between the check and the insert.
        raise ValidationError(duplicate_message) from error
    return api_key


@dataclass(frozen=True)
class MemberAdded:
    membership: Membership
    user_created: bool
    membership_created: bool


@transaction.atomic
def member_add(
    *,
    team: Team,
    username: str,
    role: str = Membership.Role.MEMBER,
    email: str = "",
    password: str | None = None,
) -> MemberAdded:
    """Give a user a role in a team, creating the user if needed. A given email or password is
    set on the user (the password checked against the configured validators); an existing
    membership takes the new role."""
    if role not in Membership.Role.values:
        raise ValidationError(f"Unknown role {role!r}: choose one of {', '.join(Membership.Role.values)}.")
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    user_created = user is None
    if user is None:
        user = user_model(username=username)
    if email:
        user.email = email
    if password is not None:
        validate_password(password, user)
        user.set_password(password)
    elif user_created:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    membership, membership_created = Membership.objects.update_or_create(
        user=user, team=team, defaults={"role": role}
    )
    return MemberAdded(membership=membership, user_created=user_created, membership_created=membership_created)


def access_token_create(*, team: Team, scopes: list[str], name: str = "") -> tuple[AccessToken, str]:
    """Issue a Tally API token for a team. Returns the token and its plaintext, which is stored
    only hashed and cannot be shown again."""
    scopes = [scope.strip() for scope in scopes if scope.strip()]
    if not scopes:
        raise ValidationError(f"Give at least one scope: {', '.join(AccessToken.Scope.values)}.")
    unknown = sorted(set(scopes) - set(AccessToken.Scope.values))
    if unknown:
        raise ValidationError(
            f"Unknown scope {', '.join(unknown)}: choose from {', '.join(AccessToken.Scope.values)}."
        )
    name_length = AccessToken._meta.get_field("name").max_length
    if len(name) > name_length or "\x00" in name:
        raise ValidationError(f"A token's name is at most {name_length} characters, without NUL bytes.")
    return AccessToken.issue(team=team, scopes=scopes, name=name)
