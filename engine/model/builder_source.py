"""What the installed toolchain can build, read from its source as text (never imported: the app stays light).

The ONNX Runtime GenAI model builder picks a class per ``architectures[0]``
(``models/builder.py``) and reads the model's settings as attributes of the
transformers config object. A setting its constructors read with no fallback,
and that the config object lacks, ends the conversion with an
``AttributeError`` once Olive has loaded the model. transformers 5 moves some settings
into ``rope_parameters`` while loading (it pops them from the keys of
``config.json``), so a key present in the file can still be missing from the
object. Both sides are read here from the installed packages' files; only
the few class bodies needed are parsed (milliseconds).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

_ARCH = re.compile(r'config\.architectures\[0\] == "(\w+)"')
_BRANCH = re.compile(r'config\.architectures\[0\] == "(\w+)"[^\n]*:\n(?:[^\n]*\n){0,12}?\s+onnx_model = (\w+)\(')
_POP = re.compile(r'kwargs\.pop\(\s*"(\w+)"')
# Maintained copy of the 0.14.1 list, used only when the builder's source cannot be read.
FALLBACK_ARCHITECTURES = (
    "ChatGLMForConditionalGeneration",
    "ChatGLMModel",
    "Ernie4_5ForCausalLM",
    "GemmaForCausalLM",
    "Gemma2ForCausalLM",
    "Gemma3ForCausalLM",
    "Gemma3ForConditionalGeneration",
    "GptOssForCausalLM",
    "GraniteForCausalLM",
    "InternLM2ForCausalLM",
    "LlamaForCausalLM",
    "MistralForCausalLM",
    "NemotronForCausalLM",
    "OlmoForCausalLM",
    "PhiForCausalLM",
    "Phi3ForCausalLM",
    "Phi3SmallForCausalLM",
    "PhiMoEForCausalLM",
    "Qwen2ForCausalLM",
    "Qwen3ForCausalLM",
    "SmolLM3ForCausalLM",
)


def package_dir(name: str) -> Path | None:
    """An installed package's folder, found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return None


@functools.lru_cache(maxsize=128)
def _cached_read(path: Path, stamp: int) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def source_text(path: Path) -> str:
    """An installed package's source file as text ('' if unreadable), read once per modification."""
    try:
        return _cached_read(path, path.stat().st_mtime_ns)
    except OSError:
        return ""


def builder_dir() -> Path | None:
    root = package_dir("onnxruntime_genai")
    return root / "models" if root and (root / "models" / "builder.py").is_file() else None


def supported_architectures() -> tuple[str, ...]:
    """The architectures the installed model builder handles; the maintained list if its source is unreadable."""
    folder = builder_dir()
    found = _ARCH.findall(source_text(folder / "builder.py")) if folder else []
    return tuple(dict.fromkeys(found)) if found else FALLBACK_ARCHITECTURES


def builder_class(architecture: str) -> str:
    """The builder class the installed model builder uses for ``architecture`` ('' if unknown)."""
    folder = builder_dir()
    found = dict(reversed(_BRANCH.findall(source_text(folder / "builder.py")))) if folder else {}
    return found.get(architecture, "")


# --- the builder's side: attributes its constructors read -------------------------------------


@dataclass(frozen=True)
class Need:
    """A config attribute the builder reads; ``alternatives`` are read instead when present (``a if hasattr(...) else b``)."""

    name: str
    alternatives: frozenset[str] = frozenset()

    def met_by(self, present: set[str] | frozenset[str]) -> bool:
        return self.name in present or bool(self.alternatives & present)


def _hasattr_names(node: ast.AST) -> set[str]:
    names = set()
    for item in ast.walk(node):
        if isinstance(item, ast.Call) and isinstance(item.func, ast.Name) and item.func.id in ("hasattr", "getattr"):
            args = item.args
            if len(args) >= 2 and isinstance(args[0], ast.Name) and args[0].id == "config" and isinstance(args[1], ast.Constant):
                names.add(str(args[1].value))
    return names


def _needs(function: ast.AST) -> set[Need]:
    """``config.X`` loads with no ``hasattr``/``getattr`` guard for X, each with the names guarding its branch."""
    parents = {child: node for node in ast.walk(function) for child in ast.iter_child_nodes(node)}
    assigned = {
        n.attr
        for n in ast.walk(function)
        if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name)
        and n.value.id == "config"
        and not isinstance(n.ctx, ast.Load)
    }
    tests: dict[int, set[str]] = {}

    def guards(test: ast.AST) -> set[str]:
        if id(test) not in tests:
            tests[id(test)] = _hasattr_names(test)
        return tests[id(test)]

    needs = set()
    for node in ast.walk(function):
        if (
            not (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "config"
                and isinstance(node.ctx, ast.Load)
            )
            or node.attr.startswith("_")
            or node.attr in assigned
        ):
            continue
        guarded, alternatives = False, set()
        child, parent = node, parents.get(node)
        while parent is not None and not guarded:
            if isinstance(parent, (ast.IfExp, ast.If)) and child is not parent.test:
                names = guards(parent.test)
                in_orelse = child in (parent.orelse if isinstance(parent.orelse, list) else [parent.orelse])
                # under a condition on something else (a flag, an option), whether it runs is unknown: not a need
                guarded = not names or (node.attr in names and not in_orelse)
                if in_orelse:
                    alternatives |= names
            elif isinstance(parent, ast.BoolOp) and node.attr in guards(parent):
                guarded = True
            child, parent = parent, parents.get(parent)
        if not guarded:
            needs.add(Need(node.attr, frozenset(alternatives)))
    return needs


def _class_source(folder: Path, name: str) -> tuple[list[str], ast.AST | None]:
    """The bases and the parsed ``__init__`` of builder class ``name``, sliced from its module's text."""
    pattern = re.compile(rf"^class {re.escape(name)}\b(?:\(([^)]*)\))?:", re.M)
    for path in sorted((folder / "builders").glob("*.py")):
        text = source_text(path)
        match = pattern.search(text)
        if not match:
            continue
        bases = [b.strip() for b in (match.group(1) or "").split(",") if b.strip()]
        body_end = re.compile(r"^\S", re.M).search(text, match.end())
        body = text[match.end() : body_end.start() if body_end else len(text)]
        init = re.search(r"^    def __init__\(.*?(?=^    (?:def |@)|\Z)", body, re.M | re.S)
        if init is None:
            return bases, None
        try:
            return bases, ast.parse(textwrap.dedent(init.group(0)))
        except SyntaxError:
            return bases, None
    return [], None


@functools.lru_cache(maxsize=64)
def _builder_needs(folder: Path, cls: str) -> frozenset[Need]:
    needs: set[Need] = set()
    todo, seen = [cls], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        bases, init = _class_source(folder, name)
        if init is not None:
            needs |= _needs(init)
        todo += bases
    return frozenset(needs)


def builder_needs(architecture: str) -> tuple[str, frozenset[Need]]:
    """The builder class for ``architecture`` and the config attributes its constructors need."""
    folder = builder_dir()
    cls = builder_class(architecture)
    if folder is None or not cls:
        return cls, frozenset()
    return cls, _builder_needs(folder, cls)


# --- transformers' side: which attributes a config object of a model type will have ----------


@dataclass(frozen=True)
class ConfigClass:
    """transformers' config class for one model type: the fields it declares and the keys it pops while loading."""

    model_type: str
    class_name: str
    path: Path
    declared: frozenset[str]  # always present (with a default)
    popped: frozenset[str]  # keys of config.json taken out while loading (moved into rope_parameters and the like)

    def attributes(self, config: dict) -> set[str]:
        """The attributes a config object loaded from ``config`` will have."""
        return set(self.declared) | {key for key in config if key not in self.popped}


def mapping(text: str, table: str, key: str) -> str:
    """The value of ``key`` in one of transformers' auto-mapping tables (pairs of strings), or an empty string."""
    start = text.find(f"{table} = ")
    if start < 0:
        return ""
    end = text.find("\n)", start)
    match = re.search(rf'\(\s*"{re.escape(key)}"\s*,\s*"([\w.-]+)"\s*\)', text[start : end if end > 0 else None])
    return match.group(1) if match else ""


_ANNOTATION = re.compile(r"^    (\w+)\s*:[^=\n]*(?:=|$)", re.M)
_PROPERTY = re.compile(r"^    @property\s*\n    def (\w+)", re.M)
_SELF_SET = re.compile(r"\bself\.(\w+)\s*(?::[^=\n]*)?=(?!=)")


def _class_fields(path: Path, class_name: str) -> tuple[set[str], set[str], list[str]]:
    """Fields ``class_name`` declares in ``path`` (annotations, properties, self.X =), keys it pops, its bases.

    Regular expressions over the class's text: transformers' base config class is too big to parse on every check.
    """
    text = source_text(path)
    match = re.search(rf"^class {re.escape(class_name)}\b(?:\(([^)]*)\))?:", text, re.M)
    if not match:
        return set(), set(), []
    end = re.compile(r"^\S", re.M).search(text, match.end())
    source = text[match.end() : end.start() if end else len(text)]
    declared = set(_ANNOTATION.findall(source)) | set(_PROPERTY.findall(source)) | set(_SELF_SET.findall(source))
    bases = [b.strip().split(".")[-1] for b in (match.group(1) or "").split(",") if b.strip()]
    return declared, set(_POP.findall(source)), bases


@functools.lru_cache(maxsize=64)
def _config_class(root: Path, model_type: str) -> ConfigClass | None:
    auto = source_text(root / "models" / "auto" / "auto_mappings.py") or source_text(
        root / "models" / "auto" / "configuration_auto.py"
    )
    class_name = mapping(auto, "CONFIG_MAPPING_NAMES", model_type)
    if not class_name:
        return None
    module = mapping(auto, "SPECIAL_MODEL_TYPE_TO_MODULE_NAME", model_type) or model_type.replace("-", "_")
    path = root / "models" / module / f"configuration_{module}.py"
    declared: set[str] = set()
    popped: set[str] = set()
    todo, seen = [class_name], set()
    while todo:  # the class and its bases within the same file (e.g. Gemma3TextConfig's)
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        fields, pops, bases = _class_fields(path, name)
        declared |= fields
        popped |= pops
        todo += bases
    if not declared:
        return None
    base_fields, base_pops, _ = _class_fields(root / "configuration_utils.py", "PreTrainedConfig")
    rope_fields, rope_pops, _ = _class_fields(root / "modeling_rope_utils.py", "RotaryEmbeddingConfigMixin")
    declared |= base_fields | rope_fields
    popped |= base_pops | rope_pops
    return ConfigClass(model_type, class_name, path, frozenset(declared), frozenset(popped - declared))


def config_class(model_type: str) -> ConfigClass | None:
    """transformers' config class for ``model_type``, read from the installed source; None if not found."""
    root = package_dir("transformers")
    if root is None or not model_type:
        return None
    return _config_class(root, model_type)
