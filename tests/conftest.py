"""Fixtures shared across the suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.open_meteo import FakeOpenMeteo


@pytest.fixture(scope="session")
def open_meteo() -> Iterator[FakeOpenMeteo]:
    """One Open-Meteo fake for the whole run (starting one per test costs ~0.5 s)."""
    with FakeOpenMeteo() as server:
        yield server


@pytest.fixture
def meteo(open_meteo: FakeOpenMeteo) -> Iterator[FakeOpenMeteo]:
    """The session's Open-Meteo fake with nothing left over from other tests (hanging requests woken)."""
    open_meteo.reset()
    yield open_meteo
    open_meteo.reset()
