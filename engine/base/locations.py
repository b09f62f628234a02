"""Every path slmops uses, in one place, following the platform's conventions.

``SLMOPS_HOME`` puts all of them under one folder (tests, portable installs);
``SLMOPS_DEMO_MODEL_DIR`` (and each built-in model's own variable, see
``engine.model.builtins``) moves just that model, so that isolated test homes can
share one built copy of it.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "slmops"
DEMO_MODEL_NAME = "SmolLM2-135M-Instruct"


def _home() -> Path | None:
    home = os.environ.get("SLMOPS_HOME")
    return Path(home).expanduser() if home else None


def data_dir() -> Path:
    home = _home()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME))


def config_dir() -> Path:
    home = _home()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME))


def state_dir() -> Path:
    home = _home()
    return home / "state" if home else Path(platformdirs.user_state_dir(APP_NAME))


def cache_dir() -> Path:
    """Downloads worth keeping but safe to delete (the built-in models' weights)."""
    home = _home()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME))


def profiles_dir() -> Path:
    """Where users' own profiles live."""
    return config_dir() / "profiles"


def shipped_profiles_dir() -> Path:
    """The example profiles that ship in the repository's ``profiles/`` folder."""
    return Path(__file__).resolve().parents[2] / "profiles"


def models_dir() -> Path:
    """Default parent folder of converted ONNX models."""
    return data_dir() / "models"


def gguf_models_dir() -> Path:
    """Hugging Face folders made from GGUF files (a user's .gguf, an Ollama or LM Studio model), one each."""
    return data_dir() / "from-gguf"


def runs_dir() -> Path:
    """Benchmark, tuning and pipeline reports."""
    return data_dir() / "runs"


def logs_dir() -> Path:
    return state_dir() / "logs"


def foundry_cache_dir() -> Path:
    """The model cache slmops configures for the in-process Foundry Local runtime."""
    return data_dir() / "foundry" / "cache" / "models"


def builtin_model_dir(name: str, env: str) -> Path:
    """Where the built-in model ``name`` is built; the variable ``env`` overrides it."""
    override = os.environ.get(env)
    if override:
        return Path(override).expanduser()
    return data_dir() / "demo" / name


def demo_model_dir() -> Path:
    return builtin_model_dir(DEMO_MODEL_NAME, "SLMOPS_DEMO_MODEL_DIR")
