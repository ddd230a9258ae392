"""Coverage: what counts as spend nobody recorded, or records nobody was billed for. The one
file to read to know.

OpenRouter reports, with a management key, what each key was billed per UTC day, model and
provider endpoint (`GET /api/v1/activity`, the last 30 completed UTC days; best read some 30
minutes after the day ends). Tally keeps daily roll-ups per key, day and model. These pure
functions match Tally's keys to the gateway's, compare the two sides of a key's day per model,
and say when a day cannot be checked. No database, no HTTP.

Matching keys (`match_keys`), in this order:
1. Hash: the gateway's key `hash` equals the SHA-256 hex of the key's secret (ApiKey.fingerprint).
   OpenRouter documents the hash as a SHA-256 hex string without saying of what; where it is
   the secret's (as in the simulator), this is exact.
2. Label: OpenRouter's `label` shows the first and last characters of the secret, with "..."
   between (`sk-or-v1-0e6...c96`). A key matches a label when its secret starts with the first
   part and ends with the last, and the two parts show at least LABEL_MIN_VISIBLE characters.
   A label that fits several Tally keys, or a Tally key that fits several labels, is ambiguous:
   none of those keys is checked (each is "not checkable", saying so) rather than guessed.
Gateway keys that match no Tally key are unknown keys: listed with the check, never ignored.

Comparing a key's day (`compare_key_day`), per model (dated snapshot slugs folded together):
- the gateway's cost is `usage + byok_usage_inference` (credits plus, for BYOK, what the team's
  own provider account was billed), as a BYOK generation's charge is fee plus upstream cost;
- Tally's side is the roll-ups' recorded cost and generation count.
A model differs when the costs differ beyond the gateway's tolerance, or the number of
requests differs. The finding is `unrecorded_spend` (an error: money left the account that no
record explains) when the gateway's side is larger, `unbilled_records` (a warning: records
the gateway did not bill, e.g. calls that never happened or were posted twice) when Tally's is;
the cost decides, the request count only when the costs agree. Token counts are reported in
the detail, never a finding of their own (per-generation token findings cover them).
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from billing.reconciliation.facts import ERROR, WARNING, Tolerance
from billing.reconciliation.reading import normalise_model_slug
from generations.gateways.openrouter_activity import ActivityRow, GatewayKey

UNRECORDED_SPEND = "unrecorded_spend"
UNBILLED_RECORDS = "unbilled_records"
# OpenRouter's activity covers "the last 30 (completed) UTC days".
ACTIVITY_WINDOW_DAYS = 30
# Only OpenRouter documents per-key activity; FastRouter and KushRouter document no such endpoint.
KINDS_WITH_ACTIVITY = ("openrouter",)
# A label must show this many characters of the secret (both ends together) to identify a key.
LABEL_MIN_VISIBLE = 8
LABEL_SEPARATOR = re.compile(r"\.{3}|…")
ZERO = Decimal(0)


def checkable_days(*, today: date) -> tuple[date, date]:
    """The first and last UTC day the activity endpoint answers for, seen on `today` (UTC)."""
    return today - timedelta(days=ACTIVITY_WINDOW_DAYS), today - timedelta(days=1)


def not_checkable_reason(*, gateway_kind: str, has_management_key: bool, day: date, today: date) -> str:
    """Why a gateway's day can never be checked ('' when it can, or can once the day is over)."""
    if gateway_kind not in KINDS_WITH_ACTIVITY:
        return f"{gateway_kind} documents no per-key activity endpoint"
    if not has_management_key:
        return "no management key is set for this gateway"
    first, _ = checkable_days(today=today)
    if day < first:
        return f"outside the gateway's {ACTIVITY_WINDOW_DAYS}-day activity window"
    return ""


@dataclass(frozen=True)
class TallyKey:
    """A Tally key of the gateway, with what matching needs (the secret stays in memory)."""

    id: int
    fingerprint: str
    secret: str


@dataclass(frozen=True)
class KeyMatching:
    matched: dict[int, GatewayKey] = field(default_factory=dict)  # Tally key id -> gateway key
    not_checkable: dict[int, str] = field(default_factory=dict)  # Tally key id -> why
    unknown: list[GatewayKey] = field(default_factory=list)


def label_parts(label: str) -> tuple[str, str] | None:
    """The visible start and end of a secret in a label, or None if it shows too little."""
    parts = LABEL_SEPARATOR.split(label.strip())
    if len(parts) != 2:
        return None
    head, tail = parts
    if len(head) + len(tail) < LABEL_MIN_VISIBLE:
        return None
    return head, tail


def label_fits(label: str, secret: str) -> bool:
    parts = label_parts(label)
    if parts is None:
        return False
    head, tail = parts
    return len(secret) >= len(head) + len(tail) and secret.startswith(head) and secret.endswith(tail)


def match_keys(tally_keys: Sequence[TallyKey], gateway_keys: Sequence[GatewayKey]) -> KeyMatching:
    """Pair Tally's keys with the gateway's: by hash, then by an unambiguous label (see above)."""
    matching = KeyMatching()
    by_hash = {key.hash.strip().lower(): key for key in gateway_keys}
    unmatched_gateway = list(gateway_keys)
    rest: list[TallyKey] = []
    for tally_key in tally_keys:
        found = by_hash.get(tally_key.fingerprint.lower())
        if found is not None:
            matching.matched[tally_key.id] = found
            unmatched_gateway.remove(found)
        else:
            rest.append(tally_key)
    fits = {tally_key.id: [key for key in unmatched_gateway if label_fits(key.label, tally_key.secret)] for tally_key in rest}
    claimed: dict[str, list[int]] = defaultdict(list)
    for tally_id, candidates in fits.items():
        for candidate in candidates:
            claimed[candidate.hash].append(tally_id)
    ambiguous_gateway: set[str] = set()
    for tally_key in rest:
        candidates = fits[tally_key.id]
        if not candidates:
            matching.not_checkable[tally_key.id] = "the gateway lists no key with this key's hash or label"
        elif len(candidates) > 1:
            labels = ", ".join(sorted(candidate.label for candidate in candidates))
            matching.not_checkable[tally_key.id] = f"ambiguous: several gateway keys fit this key ({labels})"
            ambiguous_gateway.update(candidate.hash for candidate in candidates)
        elif len(claimed[candidates[0].hash]) > 1:
            matching.not_checkable[tally_key.id] = f"ambiguous: label {candidates[0].label} fits several Tally keys"
            ambiguous_gateway.add(candidates[0].hash)
        else:
            matching.matched[tally_key.id] = candidates[0]
    matched_hashes = {key.hash for key in matching.matched.values()}
    matching.unknown.extend(key for key in unmatched_gateway if key.hash not in matched_hashes)
    return matching


@dataclass(frozen=True)
class Totals:
    """One side of a key's day for one model (or all models)."""

    requests: int = 0
    cost: Decimal = ZERO
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: "Totals") -> "Totals":
        return Totals(
            requests=self.requests + other.requests,
            cost=self.cost + other.cost,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


@dataclass(frozen=True)
class TallyModelDay:
    """Tally's roll-up of one key, day and model (generations.models.DailySpend)."""

    model: str
    totals: Totals


@dataclass(frozen=True)
class KeyDayFinding:
    """A difference on one key's day and model. Expected is Tally's, actual the gateway's."""

    kind: str
    severity: str
    model: str
    expected: Decimal
    actual: Decimal
    detail: str

    @property
    def delta(self) -> Decimal:
        return self.actual - self.expected


@dataclass(frozen=True)
class KeyDayComparison:
    findings: list[KeyDayFinding]
    ours: Totals
    theirs: Totals

    @property
    def matched(self) -> bool:
        return not self.findings


def gateway_totals(row: ActivityRow) -> Totals:
    return Totals(
        requests=row.requests,
        cost=row.cost,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        reasoning_tokens=row.reasoning_tokens,
    )


def compare_key_day(*, ours: Iterable[TallyModelDay], theirs: Iterable[ActivityRow], tolerance: Tolerance) -> KeyDayComparison:
    """Compare a key's day per model; one finding per model that differs (see the module doc)."""
    tally: dict[str, Totals] = defaultdict(Totals)
    for model_day in ours:
        tally[normalise_model_slug(model_day.model)] += model_day.totals
    gateway: dict[str, Totals] = defaultdict(Totals)
    for row in theirs:
        gateway[normalise_model_slug(row.model)] += gateway_totals(row)
    findings = []
    for model in sorted(set(tally) | set(gateway)):
        finding = _compare_model(model, tally.get(model, Totals()), gateway.get(model, Totals()), tolerance)
        if finding is not None:
            findings.append(finding)
    return KeyDayComparison(
        findings=findings, ours=sum(tally.values(), Totals()), theirs=sum(gateway.values(), Totals())
    )


def _compare_model(model: str, ours: Totals, theirs: Totals, tolerance: Tolerance) -> KeyDayFinding | None:
    if tolerance.differ(ours.cost, theirs.cost):
        more_at_gateway = theirs.cost > ours.cost
    elif ours.requests != theirs.requests:
        more_at_gateway = theirs.requests > ours.requests
    else:
        return None
    detail = (
        f"The gateway billed {theirs.requests} request(s) for {theirs.cost} USD; Tally holds "
        f"{ours.requests} record(s) for {ours.cost} USD. Tokens (prompt/completion/reasoning): gateway "
        f"{theirs.prompt_tokens}/{theirs.completion_tokens}/{theirs.reasoning_tokens}, Tally "
        f"{ours.prompt_tokens}/{ours.completion_tokens}/{ours.reasoning_tokens}."
    )
    if more_at_gateway:
        return KeyDayFinding(UNRECORDED_SPEND, ERROR, model, ours.cost, theirs.cost, detail)
    return KeyDayFinding(UNBILLED_RECORDS, WARNING, model, ours.cost, theirs.cost, detail)
