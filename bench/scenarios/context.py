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
