import pytest

from support import SeaweedFS


@pytest.fixture(scope="session")
def seaweedfs():
    server = SeaweedFS().start()
    try:
        yield server
    finally:
        server.stop()
