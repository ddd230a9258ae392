"""`python -m bench.report [results.json]`: a run's results as the Markdown table BENCHMARKS.md keeps."""

import argparse
import json
from pathlib import Path

from bench.environment import PROJECT_DIR


def results_markdown(document: dict) -> str:
    machine = document["machine"]
    lines = [
        f"Run of {document['started_at'][:16].replace('T', ' ')} UTC, scale {document['scale']}: "
        f"{machine['cores']} cores, {machine['memory_gb']} GB memory, Python {machine['python']}, "
        f"load average at start {' / '.join(str(value) for value in machine['load_average_at_start'])}; "
        f"setup {document['setup_seconds']} s; code at {document['code']['commit']}"
        + (f" with changes to {', '.join(document['code']['changed'])}" if document["code"]["changed"] else "")
        + ".",
        "",
        "| scenario | figure | limit | ratio | target | met? |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, scenario in document["scenarios"].items():
        if scenario["error"]:
            lines.append(f"| {name} | failed: {scenario['error'].splitlines()[0]} | | | | no |")
        for check in scenario["checks"]:
            ratio = "" if check["ratio"] is None else f"{check['ratio']:.2f}"
            verdict = "yes" if check["met"] else "**no**"
            lines.append(f"| {name} | {check['measure']} | {check['limit']} | {ratio} | {check['target']} | {verdict} |")
    sizes = document.get("database_sizes") or []
    if sizes:
        lines += [
            "",
            "| months | generations | generation tables | per million generations | per month |",
            "| --- | --- | --- | --- | --- |",
        ]
        for size in sizes:
            per_million = size["bytes_per_million_generations"] or 0
            lines.append(
                f"| {size['months']} | {size['generations']:,} | {size['bytes'] / 2**30:.2f} GiB "
                f"| {per_million / 2**20:,.0f} MiB | {size['bytes_per_month'] / 2**30:.2f} GiB |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path, nargs="?", default=PROJECT_DIR / "var" / "bench" / "results.json")
    print(results_markdown(json.loads(parser.parse_args().path.read_text())))


if __name__ == "__main__":
    main()
