"""pytest plugin: `gateway_simulator`, a real gateway simulator on a free loopback port.

One server runs per test session (in a background thread); each test gets it with no records,
default settings and zeroed statistics. Use `.url`, `.base_url(kind)`, `.add_records([...])`,
`.configure(**settings)`, `.stats()` and `.reset()` (see demo/simulator for the formats).
"""

import pytest

from demo.simulator.server import BackgroundSimulator


@pytest.fixture(scope="session")
def _gateway_simulator_server():
    simulator = BackgroundSimulator().start()
    yield simulator
    simulator.stop()


@pytest.fixture
def gateway_simulator(_gateway_simulator_server: BackgroundSimulator) -> BackgroundSimulator:
    _gateway_simulator_server.reset(records=True, config=True)
    return _gateway_simulator_server
