from tests.contracts.conftest import bid_season, world  # noqa: F401 - the fixtures
from tests.settlements.conftest import care  # noqa: F401 - the fixture
