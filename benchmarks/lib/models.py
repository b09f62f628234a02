"""The model a script measures, its profile, and the conversions it needs (made once, reused when current).

A model is a built-in (``demo``, ``qwen``: its results files are named by the key) or a Hugging Face folder
(named by a slug of the folder's name). Conversions go into ``<models>/bench-<model>/``; one made by slmops'
convert from the same plan (its manifest says so) is reused, and so is the guide's own conversion of the same
source by the same command.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.base import locations
from engine.model.builtins import BUILTINS, BuiltinModel

BIN = Path(sys.executable).parent
GUIDE_MARK = "bench_guide_command.json"  # beside the guide's output: the command and source it was made from
GUIDE_INFERENCE_MODEL = {  # the guide's inference_model.json (step 2), its Qwen (ChatML) template
    "Description": "Fine-tuned quantized model",
    "Version": "1.0",
    "PromptTemplate": {
        "system": "<|im_start|>system\n{Content}<|im_end|>",
        "user": "<|im_start|>user\n{Content}<|im_end|>",
        "assistant": "<|im_start|>assistant\n{Content}<|im_end|>",
        "prompt": "<|im_start|>user\n{Content}<|im_end|>\n<|im_start|>assistant",
    },
    "ModelConfig": {"max_length": 2048, "temperature": 0.7, "top_p": 0.9, "repetition_penalty": 1.1},
}


class BenchSetupError(SystemExit):
    """A model or a conversion a script needs is not there and cannot be made: the message says what to do."""


@dataclass(frozen=True)
class Model:
    key: str  # "demo", "qwen", or a slug of the folder's name: the results file's name
    path: Path  # the Hugging Face folder
    builtin: BuiltinModel | None

    @property
    def name(self) -> str:
        return self.builtin.name if self.builtin else self.path.name

    def to_dict(self) -> dict[str, Any]:
        config = json.loads((self.path / "config.json").read_text())
        return {
            "key": self.key,
            "name": self.name,
            "path": str(self.path),
            "model_type": config.get("model_type"),
            "gguf_sha256": self.builtin.gguf.sha256 if self.builtin else None,
            "config": {k: config.get(k) for k in ("hidden_size", "num_hidden_layers", "vocab_size", "max_position_embeddings")},
        }


def resolve(text: str | None, quick: bool) -> Model:
    """``--model``: a built-in's key (default ``qwen``, or ``demo`` with ``--quick``) or a Hugging Face folder."""
    text = text or ("demo" if quick else "qwen")
    if text in BUILTINS:
        builtin = BUILTINS[text]
        if not builtin.ready():
            raise BenchSetupError(f"the built-in {builtin.name} is not built: slmops demo-model --model {builtin.key}")
        return Model(builtin.key, builtin.path(), builtin)
    path = Path(text).expanduser().resolve()
    if not (path / "config.json").is_file():
        raise BenchSetupError(
            f"{path} is not a Hugging Face model folder (no config.json), nor a built-in ({', '.join(BUILTINS)})"
        )
    slug = re.sub(r"[^a-z0-9]+", "-", path.name.lower()).strip("-") or "model"
    return Model(slug, path, None)


def profile_for(model: Model):
    """The built-in's shipped profile (the demo's for a folder of one's own), pointed at the model."""
    from engine.profiles.profile import find_profile

    profile = find_profile(model.builtin.profile if model.builtin else "demo")
    profile.model.path = str(model.path)
    return profile


def work_dir(model: Model) -> Path:
    return locations.models_dir() / f"bench-{model.key}"


def converted(profile, output: Path) -> Path:
    """``profile``'s conversion in ``output``: reused when its manifest says it was made from this very plan,
    else made (replacing what is there)."""
    from engine.convert.plan import output_status, plan_conversion, run_conversion

    plan = plan_conversion(profile, output=output)
    if output_status(plan)[0] != "current":
        job = asyncio.run(run_conversion(profile, force=True, output=output))
        if not job.finished.ok:
            raise BenchSetupError(f"slmops convert failed for {output.name}: {job.error}")
    return output


def converted_candidate(model: Model, candidate: str, output: Path | None = None) -> Path:
    """A tuner candidate's recipe (``rtn-int4-b128-prune``, ``fp32``, ``rtn-int4:block_size=64`` ...) on the model."""
    from engine.recipes.candidates import parse_candidate
    from engine.tune.runner import candidate_profile

    profile = candidate_profile(profile_for(model), parse_candidate(candidate))
    return converted(profile, output or work_dir(model) / candidate.replace(":", "_").replace("=", ""))


def guide_command(model: Path, output: Path) -> list[str]:
    """``olive auto-opt ... --precision int4`` exactly as the guide runs it (run it in a fresh working directory:
    Olive keeps its cache there)."""
    return [
        str(BIN / "olive"),
        "auto-opt",
        "--model_name_or_path",
        str(model),
        "--device",
        "cpu",
        "--provider",
        "CPUExecutionProvider",
        "--use_model_builder",
        "--precision",
        "int4",
        "--output_path",
        str(output),
        "--log_level",
        "1",
        "--disable_telemetry",
    ]


def guide_converted(model: Model, output: Path | None = None) -> Path:
    """The guide's own conversion (its command, bare, in a fresh working directory); reused when the same command
    made it from the same source."""
    from engine.onnx.provenance import source_digest

    output = output or work_dir(model) / "guide-bare"
    mark = {"command": guide_command(model.path, Path("OUTPUT")), "source": source_digest(model.path)}
    if (output / "genai_config.json").is_file() and (output / GUIDE_MARK).is_file():
        if json.loads((output / GUIDE_MARK).read_text()) == mark:
            return output
    shutil.rmtree(output, ignore_errors=True)
    cwd = Path(tempfile.mkdtemp(prefix="guide-olive-"))
    try:
        done = subprocess.run(guide_command(model.path, output), cwd=cwd, capture_output=True, text=True, check=False)
    finally:
        shutil.rmtree(cwd, ignore_errors=True)
    if done.returncode != 0 or not (output / "genai_config.json").is_file():
        raise BenchSetupError(f"the guide's olive auto-opt failed:\n{(done.stdout + done.stderr)[-3000:]}")
    (output / GUIDE_MARK).write_text(json.dumps(mark))
    return output


def linked_copy(source: Path, target: Path) -> Path:
    """A copy of a model folder whose big files are hard links (only small files are ever rewritten here, and
    they are replaced by rename, never written in place)."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, copy_function=os.link, ignore=shutil.ignore_patterns(GUIDE_MARK))
    return target


def guide_deploy(converted_folder: Path, cache: Path, name: str) -> Path:
    """Step 2 of the guide: the model files and its inference_model.json in ``<cache>/custom/<name>/``."""
    from engine.base.atomic import write_text_atomic

    folder = linked_copy(converted_folder, cache / "custom" / name)
    write_text_atomic(folder / "inference_model.json", json.dumps({"Name": name, **GUIDE_INFERENCE_MODEL}, indent=2))
    return folder


def slmops_deploy(profile, converted_folder: Path, cache: Path, name: str) -> Path:
    """slmops deploy of a converted folder into ``cache`` (template, runtime settings, bounded context)."""
    from engine.foundry.publish import deploy_or_reuse, plan_publish

    plan = plan_publish(profile, converted_folder, cache, name=name, use_tokenizer_template=True)
    return asyncio.run(deploy_or_reuse(plan)).folder


def onnx_bytes(folder: Path) -> int:
    """The model's graph and weights alone (``.onnx`` and ``.onnx.data`` files)."""
    return sum(f.stat().st_size for f in folder.iterdir() if f.name.endswith((".onnx", ".onnx.data", ".data")))
