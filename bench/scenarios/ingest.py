from bench.results import ScenarioResult


def run(context) -> ScenarioResult:
    raise NotImplementedError("ingest")
