"""The scenarios, each a function of the run's context returning its ScenarioResult."""

from functools import partial

from bench.scenarios import ingest, period_close, reconciliation, spend_page
from bench.scenarios.context import ScenarioContext

SCENARIOS = {
    "ingest": ingest.run,
    "reconciliation": reconciliation.run,
    "period_close": period_close.run,
    "spend_page": spend_page.run,
}
# What is measured again once the table holds more months (bench/growth.py): ingest's API only.
STAGE_AGAIN = {
    "ingest": partial(ingest.run, sources=False),
    "period_close": period_close.run,
    "spend_page": spend_page.run,
}

__all__ = ["SCENARIOS", "STAGE_AGAIN", "ScenarioContext"]
