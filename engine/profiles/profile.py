"""Profiles: every setting of a run, as TOML, validated against typed dataclasses.

A profile is loaded with :func:`load_profile`, which names the key at fault
when something is wrong, and saved with :func:`save_profile`, which writes
atomically and never replaces a file unless told to.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import tomli_w

from engine.base import locations
from engine.base.atomic import write_text_atomic
from engine.base.choices import PROFILE_RUNNERS
from engine.base.errors import SlmopsError
from engine.model.builtins import BUILTINS, from_reference
from engine.model.sampling import ModelConfig
from engine.model.templates import PromptTemplate
from engine.profiles.limits import LIMITS, fitting_lengths, lengths_problem
from engine.recipes.catalog import ConvertSettings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEMO_MODEL = "@demo"  # stands for the built-in demo model in ``model.path``; "@qwen" and the like for the others

# "plain": the model has no chat template; prompts go to it as they are (plain completion)
TEMPLATE_FAMILIES = ("auto", "chatml", "phi3", "phi4", "llama3", "mistral", "gemma", "custom", "plain")
BACKENDS = ("onnxruntime-genai", "foundry-local")


class ProfileError(SlmopsError, ValueError):
    """A profile that cannot be used; ``key`` names the setting at fault."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        key: str = "",
        hint: str = "",
    ) -> None:
        where = f"{path}: " if path else ""
        at = f"[{key}] " if key else ""
        if not hint:  # the default names only what the message names
            hint = (
                "Fix the setting named above in the profile file, or pick another profile."
                if key
                else "Fix the profile file named above, or pick another profile."
                if path
                else "Pick another profile."
            )
        super().__init__(f"{where}{at}{message}", hint)
        self.path = path
        self.key = key
        self.reason = message


@dataclass
class ModelSection:
    path: str = DEMO_MODEL
    trust_remote_code: bool = False
    # a GGUF converted straight from the file: strings that also end answers where each is one special token
    # (Ollama's stop parameters), written into the converted model's end-of-answer tokens
    stops: list[str] = field(default_factory=list)


@dataclass
class DeploySection:
    name: str = ""  # empty: <profile>-<precision>
    description: str = "Fine-tuned quantized model"
    version: str = "1.0"
    cache_dir: str = ""  # empty: the foundry CLI's cache, else slmops' own
    template: str = "auto"
    prompt_template: PromptTemplate = field(default_factory=PromptTemplate)
    model_config: ModelConfig = field(default_factory=ModelConfig)


@dataclass
class ChatSection:
    backend: str = "onnxruntime-genai"
    system_prompt: str = ""
    max_new_tokens: int = 256


@dataclass
class EvalCase:
    prompt: str = ""
    keywords: list[str] = field(default_factory=list)
    regex: str = ""
    json_keys: list[str] = field(default_factory=list)


@dataclass
class BenchSection:
    input_lengths: list[int] = field(default_factory=lambda: [32, 256, 1024])
    new_tokens: int = 64
    warmup: int = 1
    repeats: int = 3
    soak_requests: int = 200
    perplexity_text: str = ""
    eval: list[EvalCase] = field(default_factory=list)


@dataclass
class RuntimeSection:
    """ONNX Runtime session options written into the model's genai_config.json (see engine.onnx.runtime_settings)."""

    intra_op_num_threads: int = 0  # 0: this machine's physical cores
    source: str = ""  # who chose the values ("measured by the tuner on DATE"); empty: set by hand


@dataclass
class Profile:
    name: str = "untitled"
    description: str = ""
    model: ModelSection = field(default_factory=ModelSection)
    convert: ConvertSettings = field(default_factory=ConvertSettings)
    deploy: DeploySection = field(default_factory=DeploySection)
    chat: ChatSection = field(default_factory=ChatSection)
    bench: BenchSection = field(default_factory=BenchSection)
    runtime: RuntimeSection = field(default_factory=RuntimeSection)
    # Where it was loaded from: relative paths in it are relative to this file.
    source: Path | None = field(default=None, compare=False, metadata={"toml": False})

    def base_dir(self) -> Path:
        return self.source.parent if self.source else Path.cwd()

    def resolve(self, value: str) -> Path:
        """A path from the profile, with ``~`` expanded and made absolute against the profile's folder."""
        path = Path(value).expanduser()
        return (path if path.is_absolute() else self.base_dir() / path).resolve()

    def model_path(self) -> Path:
        model = from_reference(self.model.path)
        if model:
            return model.path()
        found = self.resolve(self.model.path)
        if found.is_file():  # a GGUF, by the name it was given: a split part in the hub cache links to a blob
            path = Path(self.model.path).expanduser()
            return Path(os.path.abspath(path if path.is_absolute() else self.base_dir() / path))
        return found

    def output_path(self) -> Path:
        return self.resolve(self.convert.output) if self.convert.output else self.default_output_path()

    def default_output_path(self, precision: str = "") -> Path:
        """Where the model goes when ``convert.output`` is empty (at ``precision``, else the profile's)."""
        return locations.models_dir() / self.default_deploy_name(precision)

    def deploy_name(self) -> str:
        return self.deploy.name or self.default_deploy_name()

    def default_deploy_name(self, precision: str = "") -> str:
        """The deploy name when ``deploy.name`` is empty: <profile>-<precision>."""
        return f"{self.name}-{precision or self.convert.precision}"

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())


_CHOICES = {
    "deploy.template": TEMPLATE_FAMILIES,
    "chat.backend": BACKENDS,
    "convert.embedding_bits": (0, 4, 8, 32),
    "convert.runner": PROFILE_RUNNERS,
}
# Foundry ids are name:<major of Version>; the first deployment is name:1, so its Version's major is 1
_FIRST_VERSION = re.compile(r"1(\.[0-9]{1,6}){0,2}")


def _to_dict(obj: Any) -> Any:
    if isinstance(obj, Enum):
        return obj.value  # a profile holds the choice's plain string
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.metadata.get("toml", True)}
    if isinstance(obj, list):
        return [_to_dict(item) for item in obj]
    return obj


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is list:
        return f"a list of {_type_name(get_args(tp)[0])}"
    if dataclasses.is_dataclass(tp):
        return "a table"
    if isinstance(tp, type) and issubclass(tp, Enum):
        return "a string"
    return {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}.get(tp, str(tp))


def _convert(value: Any, tp: Any, key: str, path: Path | None) -> Any:
    def wrong() -> ProfileError:
        return ProfileError(f"must be {_type_name(tp)}, not {value!r}", path=path, key=key)

    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise wrong()
        return _build(tp, value, key, path)
    if isinstance(tp, type) and issubclass(tp, Enum):
        if not isinstance(value, str):
            raise wrong()
        if value not in tp._value2member_map_:
            raise ProfileError(f"{value!r} is not one of {', '.join(tp)}", path=path, key=key)
        return tp(value)
    if get_origin(tp) is list:
        if not isinstance(value, list):
            raise wrong()
        (item_tp,) = get_args(tp)
        return [_convert(item, item_tp, f"{key}[{i}]", path) for i, item in enumerate(value)]
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float) and isinstance(value, bool):
        raise wrong()
    if not isinstance(value, tp):
        raise wrong()
    return value


def _build(cls: type, data: dict[str, Any], prefix: str, path: Path | None) -> Any:
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.metadata.get("toml", True)}
    for name in data:
        if name not in known:
            key = f"{prefix}.{name}" if prefix else name
            raise ProfileError(f"unknown setting; known here: {', '.join(sorted(known))}", path=path, key=key)
    values = {}
    for name, value in data.items():
        key = f"{prefix}.{name}" if prefix else name
        raw, value = value, _convert(value, hints[name], key, path)
        if key in _CHOICES and value not in _CHOICES[key]:
            raise ProfileError(f"{raw!r} is not one of {', '.join(_CHOICES[key])}", path=path, key=key)
        if key in LIMITS and value not in LIMITS[key]:
            raise ProfileError(f"{value} is outside what it takes: {LIMITS[key].describe()}", path=path, key=key)
        if key == "deploy.version" and not _FIRST_VERSION.fullmatch(value):
            raise ProfileError(
                f"{value!r} cannot be the first deployment's version: it is 1, 1.N or 1.N.N",
                path=path,
                key=key,
                hint='Write version = "1.0": slmops numbers later deployments 2.0, 3.0 ... itself, and their ids name:2, '
                "name:3 (a first version of 2.0 would take the next one's id, 5.0 would stay the newest for ever).",
            )
        values[name] = value
    return cls(**values)


def profile_from_dict(data: dict[str, Any], source: Path | None = None) -> Profile:
    profile = _build(Profile, data, "", source)
    profile.source = source
    bench, context = profile.bench, profile.deploy.model_config.max_length
    if "input_lengths" not in (data.get("bench") or {}):  # the defaults follow a shorter context; lengths given must fit
        bench.input_lengths = fitting_lengths(bench.input_lengths, context, bench.new_tokens) or bench.input_lengths
    problem = lengths_problem(bench.input_lengths, context, bench.new_tokens)
    if problem:
        raise ProfileError(problem, path=source, key="bench.input_lengths")
    if profile.model.path.startswith("@") and not from_reference(profile.model.path):
        known = ", ".join(m.reference for m in BUILTINS.values())
        raise ProfileError(
            f"{profile.model.path!r} is not a built-in model; the built-in ones are {known}", path=source, key="model.path"
        )
    return profile


def load_profile(path: str | Path) -> Profile:
    path = Path(path).expanduser().resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError("no such profile file", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot be read: {exc}", path=path) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"is not valid TOML: {exc}", path=path) from None
    return profile_from_dict(data, source=path)


def save_profile(profile: Profile, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``profile`` as TOML; an existing file is replaced only with ``overwrite``."""
    path = Path(path).expanduser()
    try:
        write_text_atomic(path, profile.to_toml(), overwrite=overwrite)
    except FileExistsError:
        raise ProfileError(
            "already exists; choose another name or confirm overwriting",
            path=path,
            hint="Choose another name, or confirm replacing it (slmops init: --force).",
        ) from None
    profile.source = path.resolve()
    return path


@dataclass(frozen=True)
class ProfileEntry:
    name: str
    path: Path
    shipped: bool
    error: str = ""


def list_profiles() -> list[ProfileEntry]:
    """User profiles first, then the shipped examples; broken ones are listed with their error."""
    entries = []
    for folder, shipped in ((locations.profiles_dir(), False), (locations.shipped_profiles_dir(), True)):
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            try:
                name = load_profile(path).name
                error = ""
            except ProfileError as exc:
                name, error = path.stem, exc.reason
            entries.append(ProfileEntry(name=name, path=path, shipped=shipped, error=error))
    return entries


def find_profile(name_or_path: str) -> Profile:
    """Load a profile given as a path, or by name among the known profiles."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix == ".toml" or candidate.exists():
        return load_profile(candidate)
    for entry in list_profiles():
        if name_or_path in (entry.name, entry.path.stem):
            return load_profile(entry.path)
    raise ProfileError(
        f"no profile named {name_or_path!r}",
        hint="slmops profiles lists them (a name or a .toml path); slmops init SOURCE makes one for a model you have.",
    )
