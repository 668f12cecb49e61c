"""Shared fixtures: the location of ../shared, a temporary store, a click runner on a temporary instance."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import scrapers  # noqa: F401  (the sources declare their settings on import, as in the CLI)
from kb.store import Store

ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """../shared beside the checkout, or KB_SHARED."""
    return Path(os.environ.get("KB_SHARED") or ROOT.parent / "shared")


def shared_file(*parts: str) -> Path:
    path = shared_dir().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (set KB_SHARED to the shared/ folder to run this test)")
    return path


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "kb.sqlite")
    yield s
    s.close()


@pytest.fixture
def instance(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "instance"
    monkeypatch.setenv("KB_INSTANCE", str(folder))
    for name in list(os.environ):
        if name.startswith("KB_") and name not in ("KB_INSTANCE", "KB_SHARED"):
            monkeypatch.delenv(name)
    return folder


@pytest.fixture
def runner(instance) -> CliRunner:
    return CliRunner()
