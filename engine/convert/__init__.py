"""Conversion of a Hugging Face model folder to an ONNX Runtime GenAI model, by Olive or the streaming converter.

Light modules only (the app imports them): input checks, the translation of
the guide's configuration file, the parser that turns the converter's log
into stages, which program converts (``runner``), what a conversion needs in
memory and disk (``footprint``, from measured factors), and the plan that ties
a profile to a worker job. The converters themselves run from
``engine.workers.convert``.
"""
