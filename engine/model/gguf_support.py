"""The support verdict of a GGUF file, from its header alone, before anything is written (milliseconds).

Two questions: can the installed transformers give the file's model back as a
plain, dequantized model (:mod:`engine.model.gguf_loader`), and does the model
builder convert the Hugging Face folder that makes (the folder verdict of
:mod:`engine.model.support`, asked of the folder the header describes)?
"""

from __future__ import annotations

from typing import Any

from engine.base.units import article
from engine.model import gguf_loader
from engine.model.gguf import GgufHeader
from engine.model.gguf_folder import storage_dtype
from engine.model.inspection import ModelInfo
from engine.model.support import UNSUPPORTED, Verdict, verdict_for
from engine.model.templates import detect_family


def gguf_info(header: GgufHeader) -> ModelInfo:
    """What the folder made of this GGUF will be, as :func:`engine.model.inspection.inspect_model` would say it."""
    model_type = gguf_loader.model_type(header)
    architecture = gguf_loader.causal_lm_class(model_type)
    config: dict[str, Any] = {"model_type": model_type, "tie_word_embeddings": header.tied_embeddings}
    if architecture:
        config["architectures"] = [architecture]
    if header.context_length:
        config["max_position_embeddings"] = header.context_length
    scaling = header.arch_value("rope.scaling.type")
    if isinstance(scaling, str) and scaling not in ("", "none"):
        config["rope_scaling"] = {"rope_type": scaling, "factor": header.arch_value("rope.scaling.factor") or 1.0}
    template = header.chat_template
    return ModelInfo(
        path=header.path,
        config=config,
        model_type=model_type,
        architecture=architecture,
        parameters=header.parameters,
        weights_bytes=header.file_size,
        size_bytes=header.file_size,
        weight_files=[header.path.name],
        dtypes=[header.file_type or ", ".join(header.tensor_types)],
        context_length=header.context_length,
        layers=header.layers,
        tied_embeddings=header.tied_embeddings,
        has_tokenizer=bool(header.tokenizer_model),
        chat_template=bool(template.strip()),
        template_family=detect_family(template) if template.strip() else "unknown",
    )


def gguf_verdict(header: GgufHeader, info: ModelInfo, *, streamed: bool = False, **kwargs: Any) -> Verdict:
    """Whether this GGUF's model converts (``verdict_for``'s keyword arguments: precision, provider...); ``streamed``:
    straight from the file by the streaming converter, rather than through a folder."""
    problem = (header.problems[0], "Download the file again.") if header.problems else gguf_loader.loader_problem(header)
    if problem is not None:
        return Verdict(UNSUPPORTED, info.model_type, info.architecture, *problem)
    verdict = verdict_for(info, **kwargs)
    if not verdict.ok:
        return verdict
    if streamed:
        parts = f", its {header.split[1]} parts in turn" if header.split else ""
        verdict.notes.append(
            f"streamed straight from the GGUF ({header.file_type or 'its weights'}) into the converter{parts}: "
            "no model folder, blocks kept where they map"
        )
        return verdict
    if header.split:
        verdict.notes.append(f"a GGUF in {header.split[1]} parts: merged into one file first (transformers reads one file)")
    quantized = header.file_type or "its"
    verdict.notes.append(
        f"{quantized} weights are dequantized into {article(storage_dtype(info.model_type))} Hugging Face folder once, "
        "then quantized again by the conversion"
    )
    return verdict
