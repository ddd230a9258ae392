import pytest

from tests.api.factories import TeamWorld, make_gateways, make_team


@pytest.fixture
def gateways(db):
    return make_gateways()


@pytest.fixture
def team_a(gateways) -> TeamWorld:
    return make_team("alpha", gateways)


@pytest.fixture
def team_b(gateways) -> TeamWorld:
    return make_team("beta", gateways)
