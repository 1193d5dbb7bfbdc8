import pytest

from hospital.models import use_deterministic_torch


@pytest.fixture(autouse=True, scope="session")
def _deterministic_torch() -> None:
    # The machine's cores are shared: one torch thread, deterministic kernels.
    use_deterministic_torch(threads=1)
