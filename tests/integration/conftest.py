import pytest

from harness import Harness


@pytest.fixture
def harness(tmp_path, request):
    h = Harness(tmp_path)
    request.node._dialtone_harness = h
    yield h
    h.cleanup()


@pytest.fixture
def daemon(harness):
    """One running dialtoned on its own private bus."""
    return harness.daemon().start()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    h = getattr(item, "_dialtone_harness", None)
    if h is not None and report.failed:
        for name, text in h.logs():
            tail = text[-6000:]
            report.sections.append((f"log of {name}", tail))
