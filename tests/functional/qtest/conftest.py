"""pytest fixtures for the qtest device tests (see qtest.py)."""
import pytest

from qtest import QTest


@pytest.fixture
def qts(request):
    """A running emulator with the arguments of @pytest.mark.args(...)."""
    marker = request.node.get_closest_marker('args')
    args = list(marker.args) if marker else []
    q = QTest(args)
    yield q
    q.close()


def pytest_configure(config):
    config.addinivalue_line('markers', 'args(*argv): extra emulator arguments')
