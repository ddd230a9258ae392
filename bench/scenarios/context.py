"""What every scenario is given: where to run, at what scale, with which teams and keys."""

from dataclasses import dataclass
from pathlib import Path

from bench.environment import BenchEnvironment
from bench.scales import Scale
from bench.world import World


@dataclass(frozen=True)
class ScenarioContext:
    environment: BenchEnvironment
    scale: Scale
    world: World
    log_dir: Path
    profile_dir: Path | None = None  # with --profile: py-spy profiles of the servers and workers

    def profile_path(self, name: str) -> Path | None:
        if self.profile_dir is None:
            return None
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        return self.profile_dir / f"{name}.txt"
