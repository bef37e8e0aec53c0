"""Shared test setup: offline, logs in a temp dir, never the host's API keys."""

from __future__ import annotations

import os

# Nothing may load from the Hugging Face hub or fetch tokenizer files during tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("INSPECT_LOG_LEVEL", "warning")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402


@pytest.fixture
def log_dir(tmp_path):
    path = tmp_path / "logs"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def docker_image():
    """The container sandbox's image, built (or found up to date) once per session; for tests marked `docker`,
    which skip earlier when no engine answers."""
    from agentdistill.solvers.sandbox.container import ensure_image

    try:
        return ensure_image()
    except Exception as e:  # noqa: BLE001  (an engine answers, so a missing image is a failure, not a skip)
        pytest.fail(f"the Docker engine answers but the sandbox image cannot be built: {e}")
