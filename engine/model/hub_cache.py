"""Models in the Hugging Face hub cache, found offline with plain path logic (huggingface_hub is not imported).

A model downloaded once by transformers or ``huggingface-cli`` lives at
``<cache>/models--ORG--NAME/snapshots/<commit>/`` (links into ``blobs/``),
and ``refs/main`` names the commit ``main`` stood for then. The cache folder
is found as huggingface_hub finds it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from engine.base import jsonfile
from engine.model.errors import ModelError
from engine.model.gguf import SPLIT_NAME

REPO_ID = re.compile(r"^(?P<org>[A-Za-z0-9][\w.-]*)/(?P<name>[A-Za-z0-9][\w.-]*)(?:@(?P<revision>[\w./-]+))?$")
_PREFIX = "models--"


@dataclass(frozen=True)
class CachedModel:
    repo_id: str  # ORG/NAME
    snapshot: Path  # the folder of the revision asked for
    gguf: Path | None = None  # a repository of GGUF files: the one file (a split one: its first part)


def cache_dir(env: dict[str, str] | None = None) -> Path:
    """HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub (~/.cache...)."""
    env = os.environ if env is None else env
    for key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(key):
            return Path(os.path.expandvars(env[key])).expanduser()
    home = env.get("HF_HOME") or os.path.join(env.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "huggingface")
    return Path(os.path.expandvars(home)).expanduser() / "hub"


def cached_ids(cache: Path | None = None) -> list[str]:
    """Every model in the cache with at least one snapshot, as ORG/NAME."""
    cache = cache or cache_dir()
    if not cache.is_dir():
        return []
    found = []
    for repo in sorted(cache.glob(f"{_PREFIX}*")):
        if any((repo / "snapshots").glob("*")):
            found.append(repo.name[len(_PREFIX) :].replace("--", "/", 1))
    return found


def _repo_folder(cache: Path, org: str, name: str) -> Path | None:
    exact = cache / f"{_PREFIX}{org}--{name}"
    if exact.is_dir():
        return exact
    wanted = exact.name.lower()  # the hub's ids are case-insensitive; the folder keeps the case of the download
    return next((p for p in cache.glob(f"{_PREFIX}*") if p.name.lower() == wanted), None) if cache.is_dir() else None


def _snapshot(repo: Path, repo_id: str, revision: str) -> Path:
    snapshots = repo / "snapshots"
    ref = repo / "refs" / revision
    commit = ref.read_text(encoding="utf-8", errors="replace").strip() if ref.is_file() else revision
    if _plain(commit) and (snapshots / commit).is_dir():
        return snapshots / commit
    have = sorted(snapshots.iterdir(), key=lambda p: p.stat().st_mtime) if snapshots.is_dir() else []
    if revision == "main" and have and not ref.exists():
        return have[-1]  # downloaded by commit only (no refs/main): the newest snapshot
    raise ModelError(
        f"{repo_id}@{revision} has no snapshot in {repo} (there: {', '.join(p.name[:12] for p in have) or 'none'}).",
        "Download that revision first, or give slmops the snapshot folder itself.",
    )


def _plain(name: str) -> bool:
    """One folder name, not a way out of the cache (``..``, a path, a NUL)."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\0" not in name


def _check_complete(snapshot: Path, repo_id: str) -> None:
    broken = sorted(p.name for p in snapshot.iterdir() if p.is_symlink() and not p.exists())
    if broken:
        raise ModelError(
            f"{repo_id} is only partly in the cache: {', '.join(broken[:4])} point at missing files.",
            f"Download it again (huggingface-cli download {repo_id}).",
        )
    index = snapshot / "model.safetensors.index.json"
    if index.is_file():
        weight_map = (jsonfile.read_object_or_none(index) or {}).get("weight_map")
        shards = set(weight_map.values()) if isinstance(weight_map, dict) else set()
        missing = sorted(s for s in shards if not (snapshot / s).is_file())
        if missing:
            raise ModelError(
                f"{repo_id} is only partly in the cache: {len(missing)} weight file(s) missing ({', '.join(missing[:3])}).",
                f"Download the whole repository (huggingface-cli download {repo_id}).",
            )


def _single_gguf(snapshot: Path, repo_id: str) -> Path | None:
    files = sorted(p for p in snapshot.rglob("*.gguf") if not p.name.lower().startswith("mmproj"))
    if not files:
        return None
    firsts = [p for p in files if not SPLIT_NAME.match(p.name) or SPLIT_NAME.match(p.name).group("index") == "00001"]
    if len(firsts) == 1:
        return firsts[0]
    raise ModelError(
        f"{repo_id} holds {len(firsts)} GGUF files: {', '.join(p.name for p in firsts[:6])}.",
        f"Name the one you mean: slmops init {snapshot}/FILE.gguf",
    )


def find(reference: str, cache: Path | None = None) -> CachedModel:
    """``ORG/NAME[@REVISION]`` in the cache; raises ModelError listing what the cache holds when it is not there."""
    match = REPO_ID.match(reference)
    if not match:
        raise ModelError(f"{reference!r} is not a model id (ORG/NAME).", "Write it as on the hub: Qwen/Qwen2.5-0.5B-Instruct")
    org, name, revision = match.group("org"), match.group("name"), match.group("revision") or "main"
    if ".." in revision.split("/"):
        raise ModelError(f"{reference!r} names a revision outside the cache.", "Give a branch, a tag or a commit: ORG/NAME@main")
    cache = cache or cache_dir()
    repo = _repo_folder(cache, org, name)
    if repo is None:
        there = cached_ids(cache)
        raise ModelError(
            f"{org}/{name} is not in the Hugging Face cache ({cache}).",
            ("In the cache: " + ", ".join(there[:12]) + ". " if there else "The cache holds no model. ")
            + "slmops works offline: download it first (huggingface-cli download ORG/NAME), or give its folder.",
        )
    repo_id = repo.name[len(_PREFIX) :].replace("--", "/", 1)
    snapshot = _snapshot(repo, repo_id, revision)
    _check_complete(snapshot, repo_id)
    if (snapshot / "config.json").is_file():
        return CachedModel(repo_id, snapshot)
    gguf = _single_gguf(snapshot, repo_id)
    if gguf is None:
        raise ModelError(
            f"{repo_id}'s snapshot {snapshot.name[:12]} holds neither config.json nor a .gguf file.",
            f"Download the model's files (huggingface-cli download {repo_id}).",
        )
    return CachedModel(repo_id, snapshot, gguf)
