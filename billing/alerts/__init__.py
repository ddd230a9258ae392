"""Alerts: Tally telling people about money, not waiting to be looked at.

- budgets.py: a key's or team's month-to-date spend past 80% and 100% of its monthly budget;
- pauses.py: a gateway or key paused (lookups stopped);
- dispute_rate.py: the share of a team's generations disputed in the last hour past its threshold;
- digests.py: the daily digest of new findings, to finance (all teams) and to team admins;
- raising.py: recording an alert once (a unique constraint, so retries never repeat it) and
  queuing its deliveries; delivery.py: mail and Slack-compatible webhooks, with retries.
"""
