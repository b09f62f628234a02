"""A Hugging Face folder of Qwen2.5-3B's shape with random weights, made with transformers from its config (no hub):

    python -m benchmarks.lib.random_qwen DIR

bf16 safetensors in shards, and the Qwen built-in's tokenizer (the same vocabulary). Random weights are enough to
measure a conversion's memory and time; whether the conversion is right is checked against transformers on the
same folder (``benchmarks.lib.hf_agreement``). Written into a staging folder, then renamed into place.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

MODULE = "benchmarks.lib.random_qwen"
# Qwen2.5-3B's config.json (its architecture's shape), as published with the model
QWEN25_3B = {
    "hidden_size": 2048,
    "intermediate_size": 11008,
    "num_hidden_layers": 36,
    "num_attention_heads": 16,
    "num_key_value_heads": 2,
    "vocab_size": 151936,
    "max_position_embeddings": 32768,
    "rms_norm_eps": 1e-6,
    "rope_theta": 1000000.0,
    "tie_word_embeddings": True,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
}
# the built-in's tokenizer and generation settings, copied beside the weights
COPIED = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "chat_template.jinja", "generation_config.json")


def make(
    folder: Path,
    tokenizer_from: Path,
    seed: int = 0,
    shape: dict | None = None,
    max_shard_size: str = "2GB",  # figure-ok: a shard size, as checkpoints are published
    biases: bool = False,
) -> Path:
    """Qwen2.5-3B's shape unless ``shape`` gives another (the golden tests use a tiny one, in several shards).
    transformers starts attention biases at zero, which the model builder leaves out; ``biases`` makes them random,
    as a trained model's are, so that the conversion of biases is exercised too."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    config = Qwen2Config(**(shape or QWEN25_3B), architectures=["Qwen2ForCausalLM"])
    torch.manual_seed(seed)
    torch.set_default_dtype(torch.bfloat16)  # made in bf16 directly: half the memory of an fp32 model
    model = AutoModelForCausalLM.from_config(config)
    if biases:
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if name.endswith(".bias"):
                    parameter.normal_(std=0.02)
    model.save_pretrained(staging, max_shard_size=max_shard_size)
    for name in COPIED:
        if (tokenizer_from / name).is_file():
            shutil.copy(tokenizer_from / name, staging / name)
    staging.rename(folder)
    return folder


def main() -> None:
    from engine.model.builtins import BUILTINS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    make(args.folder, BUILTINS["qwen"].path())
    print(args.folder)


if __name__ == "__main__":
    main()
