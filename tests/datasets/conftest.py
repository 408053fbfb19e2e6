"""Locate the real data: SKHASH_DATA, else ../shared/data next to the repository."""

import os
from pathlib import Path

import pytest


def _real_data_home():
    env = os.environ.get("SKHASH_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def real_data_home():
    home = _real_data_home()
    if not home.is_dir():
        pytest.skip(f"real data not found at {home} (set SKHASH_DATA)")
    return home
