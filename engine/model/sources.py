"""What ``slmops init SOURCE`` and the New profile screen take: any model the user has, resolved with file logic only.

- a Hugging Face folder (``config.json``, weights, tokenizer);
- a ``.gguf`` file (a split one by any of its parts);
- ``ORG/NAME[@REVISION]`` (or ``hf:ORG/NAME``): the Hugging Face hub cache, offline;
- ``ollama:NAME[:TAG]``: Ollama's store;
- ``lmstudio:PUBLISHER/REPOSITORY[/FILE.gguf]``: LM Studio's folder.

Nothing here imports an ML library or touches the network: the app resolves as the user types.
A source that resolves to nothing says what is there instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.model import hub_cache, lmstudio, ollama
from engine.model.errors import ModelError
from engine.model.gguf import SPLIT_NAME
from engine.model.ollama import OllamaModel

FOLDER, GGUF = "folder", "gguf"
OLLAMA, LMSTUDIO, HUB = "ollama:", "lmstudio:", "hf:"
FORMS = "a model folder, a .gguf file, ORG/NAME (the Hugging Face cache), ollama:NAME[:TAG] or lmstudio:PUBLISHER/REPOSITORY"


@dataclass(frozen=True)
class Source:
    reference: str  # as the user gave it
    store: str  # "path", "Hugging Face cache", "Ollama", "LM Studio"
    name: str  # what the model is called: names its profile and, for a GGUF, its folder
    folder: Path | None = None  # a Hugging Face folder
    gguf: Path | None = None  # or a GGUF file (a split one: its first part)
    ollama: OllamaModel | None = None  # what Ollama adds to its GGUF: template family, stops, context

    @property
    def kind(self) -> str:
        return FOLDER if self.folder is not None else GGUF


@dataclass(frozen=True)
class Found:
    """A model in one of the stores, for a list to pick from."""

    reference: str  # what resolves to it
    store: str


def _gguf_name(path: Path) -> str:
    match = SPLIT_NAME.match(path.name)
    return match.group("stem") if match else path.stem


def _from_path(text: str, path: Path) -> Source:
    # a file keeps the name it was given: a split GGUF's parts are found by their names, and in the hub cache each is
    # a link to a blob named by its hash
    try:
        path = path.resolve() if path.is_dir() else path.absolute()
    except RuntimeError:  # Python 3.11's word for a symbolic link loop
        raise ModelError(
            f"{text} is a symbolic link that leads back to itself.", "Give slmops the file the link means."
        ) from None
    if path.is_dir():
        if (path / "config.json").is_file():
            return Source(text, "path", path.name, folder=path)
        ggufs = sorted(p.name for p in path.glob("*.gguf"))
        raise ModelError(
            f"{path} is not a model folder (no config.json)"
            + (f"; it holds GGUF files: {', '.join(ggufs[:4])}." if ggufs else "."),
            "Give slmops the .gguf file you mean." if ggufs else f"slmops takes {FORMS}.",
        )
    if path.suffix.lower() == ".gguf":
        return Source(text, "path", _gguf_name(path), gguf=path)
    raise ModelError(f"{path} is a file but not a .gguf.", f"slmops takes {FORMS}.")


def _from_hub(text: str, reference: str) -> Source:
    found = hub_cache.find(reference)
    name = found.repo_id.split("/", 1)[1]
    if found.gguf is not None:
        return Source(text, "Hugging Face cache", _gguf_name(found.gguf), gguf=found.gguf)
    return Source(text, "Hugging Face cache", name, folder=found.snapshot)


def resolve(text: str) -> Source:
    """The model ``text`` names; raises ModelError with the reason and what is there, and nothing else: what the
    file system refuses (a name too long, a folder without permission) is said as such."""
    text = text.strip()
    if not text:
        raise ModelError("No model given.", f"slmops takes {FORMS}.")
    try:
        return _resolve(text)
    except OSError as exc:
        raise unreadable(text, exc) from None
    except ValueError as exc:  # a NUL character in a path
        raise ModelError(f"{text[:200]!r} cannot be a path: {exc}.", f"slmops takes {FORMS}.") from None


def unreadable(text: str, exc: OSError) -> ModelError:
    """What the file system said when it refused a path."""
    return ModelError(
        f"{text[:200]} cannot be read: {exc.strerror or exc}" + (f" ({exc.filename})." if exc.filename else "."),
        "Check the path and its permissions (paths longer than the file system allows are refused too).",
    )


def _expanded(text: str) -> Path:
    try:
        return Path(text).expanduser()
    except RuntimeError:  # ~name of no user here
        user = text.split("/", 1)[0]
        raise ModelError(
            f"{user} names no user's home folder on this machine.", f"Write the whole path; slmops takes {FORMS}."
        ) from None


def _resolve(text: str) -> Source:
    if text.startswith(OLLAMA):
        model = ollama.find(text[len(OLLAMA) :])
        return Source(text, "Ollama", model.name.rsplit("/", 1)[-1].replace(":", "-"), gguf=model.gguf, ollama=model)
    if text.startswith(LMSTUDIO):
        gguf = lmstudio.find(text[len(LMSTUDIO) :])
        return Source(text, "LM Studio", _gguf_name(gguf), gguf=gguf)
    if text.startswith(HUB):
        return _from_hub(text, text[len(HUB) :])
    path = _expanded(text)
    if path.exists():
        return _from_path(text, path)
    if hub_cache.REPO_ID.match(text):
        try:
            return _from_hub(text, text)
        except ModelError as exc:
            raise ModelError(f"{text} is no path here, and {exc.message[0].lower()}{exc.message[1:]}", exc.hint) from None
    raise ModelError(f"Nothing at {path}.", f"slmops takes {FORMS}." + _there())


def _there() -> str:
    found = discover()
    return (" Found here: " + ", ".join(f.reference for f in found[:12]) + ".") if found else ""


def discover() -> list[Found]:
    """The models in the Hugging Face cache, Ollama's store and LM Studio's folder (file listings only)."""
    found = [Found(repo_id, "Hugging Face cache") for repo_id in hub_cache.cached_ids()]
    found += [Found(f"{OLLAMA}{name}", "Ollama") for name in ollama.pulled()]
    found += [Found(f"{LMSTUDIO}{model}", "LM Studio") for model in lmstudio.downloaded()]
    return found
