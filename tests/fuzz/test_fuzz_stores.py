"""Other tools' model stores, laid out by generated inputs: Ollama's manifests and names, LM Studio's folder, the
hub cache, and whatever text a user types as a source. A model found, or a ModelError with a hint."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.model import hub_cache, lmstudio, ollama
from engine.profiles.new_profile import judge
from tests.fuzz.conftest import FUZZ_IO, MEMORY_GROWTH, peak_rss, target
from tests.fuzz.strategies import SEEDS

HEX = "0123456789abcdef"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
names = st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=24)
path_parts = st.one_of(
    st.sampled_from(["..", ".", "", "library", "registry.ollama.ai", "m", "latest", "x.gguf", "a b", "~", "~root"]),
    names.filter(lambda t: "/" not in t),
)
MEDIA = "application/vnd.ollama.image."


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """Every store under one temporary home, so that nothing of the machine's own is read."""
    home = tmp_path_factory.mktemp("fuzz-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "OLLAMA_MODELS"):
            patch.delenv(name, raising=False)
        patch.setenv("SLMOPS_HOME", str(home / "slmops"))
        yield home


def fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@st.composite
def layer(draw, blobs: Path) -> dict:
    kind = draw(st.sampled_from(["template", "params", "system", "license", "template", "params", "model", "adapter"]))
    content = draw(
        st.one_of(
            st.sampled_from(SEEDS),
            json_values.map(lambda v: json.dumps(v).encode()),
            st.binary(max_size=64),
        )
    )
    digest = "".join(draw(st.lists(st.sampled_from(HEX), min_size=64, max_size=64)))
    written = draw(st.integers(0, 4)) > 0
    if written:
        (blobs / f"sha256-{digest}").write_bytes(content)
    entry = {"mediaType": MEDIA + kind, "digest": f"sha256:{digest}", "size": len(content)}
    mangled = draw(st.integers(0, 19))
    if mangled == 0:
        entry["digest"] = draw(st.one_of(names, st.sampled_from(["../../x", "sha256:../x", "sha256-" + "0" * 64]), json_values))
    elif mangled == 1:
        entry["size"] = draw(json_values)
    elif mangled == 2:
        entry = draw(json_values)
    return entry


@target("ollama store", "Ollama manifests (generated JSON, digests, sizes, blobs) and names typed as ollama:NAME[:TAG]")
def find_ollama(name: str, models: Path) -> None:
    model = ollama.find(name, models)
    assert model.gguf.is_relative_to(models / "blobs")
    assert isinstance(model.stops, list) and isinstance(model.family, str)
    model.context(4096), model.context(None)


def test_ollama_manifests_and_names(home):
    models = home / "ollama"
    before = peak_rss()

    @FUZZ_IO
    @given(st.data())
    def check(data) -> None:
        fresh(models / "blobs")
        shutil.rmtree(models / "manifests", ignore_errors=True)
        parts = [data.draw(st.sampled_from(["registry.ollama.ai"] * 3 + ["r.example:5000"])), "library", "m", "latest"]
        parts = [p if data.draw(st.integers(0, 3)) else data.draw(path_parts) for p in parts]
        layers = data.draw(st.lists(layer(models / "blobs"), max_size=4))
        if data.draw(st.integers(0, 3)):  # mostly with a well-formed model layer among them
            digest = hashlib.sha256(SEEDS[0]).hexdigest()
            (models / "blobs" / f"sha256-{digest}").write_bytes(SEEDS[0])
            layers.insert(0, {"mediaType": MEDIA + "model", "digest": f"sha256:{digest}", "size": len(SEEDS[0])})
        body = data.draw(st.one_of(st.just({"layers": layers}), st.just({"layers": layers}), json_values))
        manifest = Path(os.path.normpath(models.joinpath("manifests", *parts)))
        try:  # what the file system can hold, inside the store (a part like .. would leave it)
            if manifest.is_relative_to(models / "manifests") and len(manifest.relative_to(models / "manifests").parts) == 4:
                manifest.parent.mkdir(parents=True, exist_ok=True)
                manifest.write_text(json.dumps(body))
        except (OSError, ValueError):
            pass
        name = data.draw(st.one_of(st.just("/".join(parts[:3]) + ":" + parts[3]), st.just("m"), st.just("m:latest"), names))
        find_ollama(name, models)

    check()
    assert peak_rss() - before < MEMORY_GROWTH


@target("lm studio folder", "LM Studio layouts: pointer file, settings.json, publisher/repository trees, names asked for")
def find_lmstudio(wanted: str, home: Path) -> None:
    path = lmstudio.find(wanted, home)
    assert path.suffix.lower() == ".gguf"
    lmstudio.downloaded(home)


def test_lmstudio_layouts(home):
    root = home / "lms"
    before = peak_rss()

    @FUZZ_IO
    @given(st.data())
    def check(data) -> None:
        fresh(root)
        models = root / ".lmstudio" / "models"
        if data.draw(st.booleans()):
            (root / ".lmstudio-home-pointer").write_text(data.draw(st.one_of(names, st.just(str(root / "elsewhere")))))
        if data.draw(st.booleans()):
            (root / ".lmstudio").mkdir(exist_ok=True)
            settings = data.draw(st.one_of(json_values, st.just({"downloadsFolder": str(root / "dl")})))
            (root / ".lmstudio" / "settings.json").write_text(json.dumps(settings))
        for _ in range(data.draw(st.integers(0, 4))):
            where = data.draw(st.sampled_from([models, root / "dl", root / "elsewhere" / "models"]))
            file = (
                where
                / data.draw(path_parts)
                / data.draw(path_parts)
                / data.draw(st.sampled_from(["a.gguf", "b-00001-of-00002.gguf", "mmproj-x.gguf", "c.bin"]))
            )
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
                if not file.exists():
                    file.write_bytes(b"GGUF")
            except (OSError, ValueError):
                pass
        find_lmstudio(data.draw(st.one_of(names, st.sampled_from(["", "/", "a/b", "../..", "a/b/a.gguf"]))), root)

    check()
    assert peak_rss() - before < MEMORY_GROWTH


@target("hub cache", "hub-cache layouts: repository folders, snapshots, refs, weight indexes, broken links, ids")
def find_hub(reference: str, cache: Path) -> None:
    found = hub_cache.find(reference, cache)
    assert found.snapshot.is_dir()
    hub_cache.cached_ids(cache)


def test_hub_cache_layouts(home):
    cache = home / "hub"
    before = peak_rss()

    @FUZZ_IO
    @given(st.data())
    def check(data) -> None:
        fresh(cache)
        repo = cache / data.draw(st.sampled_from(["models--org--name", "models--Org--Name", "models--org", "models----"]))
        commit = data.draw(st.sampled_from(["a" * 40, "main", "..", "b" * 40]))
        snapshot = repo / "snapshots" / commit
        try:
            snapshot.mkdir(parents=True)
        except OSError:
            snapshot = repo / "snapshots" / ("c" * 40)
            snapshot.mkdir(parents=True)
        if data.draw(st.booleans()):
            (repo / "refs").mkdir()
            (repo / "refs" / "main").write_text(data.draw(st.one_of(names, st.sampled_from(["a" * 40, "../..", "x/y"]))))
        for file in data.draw(
            st.lists(
                st.sampled_from(
                    ["config.json", "model.safetensors.index.json", "m.gguf", "m-00001-of-00002.gguf", "mmproj.gguf", "broken"]
                ),
                max_size=4,
                unique=True,
            )
        ):
            target_file = snapshot / file
            if file == "broken":
                target_file.symlink_to("../../blobs/gone")
            elif file.endswith(".json"):
                target_file.write_text(
                    json.dumps(data.draw(st.one_of(json_values, st.just({"weight_map": {"a": "x.safetensors"}}))))
                )
            else:
                target_file.write_bytes(b"GGUF")
        reference = data.draw(
            st.one_of(
                st.sampled_from(["org/name", "ORG/NAME@main", "org/name@..", "org/name@" + "a" * 40, "org/name@../../x"]), names
            )
        )
        find_hub(reference, cache)

    check()
    assert peak_rss() - before < MEMORY_GROWTH


@target("source text", "text typed as a source (paths, ~user, prefixes, long names, NULs), resolved and judged")
def judge_text(text: str) -> None:
    judge(text)


def test_typed_sources(home):
    (home / "models").mkdir(exist_ok=True)
    (home / "models" / "x.gguf").write_bytes(SEEDS[0])
    before = peak_rss()
    typed = st.one_of(
        names,
        st.builds(
            lambda p, t: p + t,
            st.sampled_from(["ollama:", "lmstudio:", "hf:", "~", "~/", "./", "/", "models/", str(home / "models") + "/"]),
            names,
        ),
        st.integers(200, 5000).map(lambda n: "a" * n),
        st.sampled_from(["~nosuchuser", "x-00000-of-00000.gguf", str(home / "models" / "x.gguf"), str(home / "models")]),
    )

    @FUZZ_IO
    @given(typed)
    def check(text: str) -> None:
        cwd = os.getcwd()
        os.chdir(home)  # relative paths land in the temporary home
        try:
            judge_text(text)
        finally:
            os.chdir(cwd)

    check()
    assert peak_rss() - before < MEMORY_GROWTH
