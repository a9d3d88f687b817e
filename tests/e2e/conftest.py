import pytest

from support import RedisProc, SeaweedFS


@pytest.fixture(scope="session")
def seaweedfs():
    server = SeaweedFS().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def redis_server():
    """A private redis-server for one test module."""
    server = RedisProc()
    yield server
    server.stop()
