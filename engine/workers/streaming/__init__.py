"""The streaming converter: the model builder's graph, each weight quantized and written as soon as it is built.

Today's RTN recipes run three steps in Olive (ModelBuilder fp32, then
OnnxBlockWiseRtnQuantization, then the same at 8 bits for lm_head), and each
holds the whole model in memory, in fp32, at least once. The streaming
converter runs the same onnxruntime-genai model builder with Olive's own
patch, in a process of its own (``python -m engine.workers.streaming SPEC``),
with three hooks (:mod:`.builder_hooks`): every initializer the builder makes
is recorded; each time the builder is done with a torch module, what it made
meanwhile is cast, quantized in slices with Olive's arithmetic (:mod:`.quantize`)
and written to ``model.onnx.data`` (:mod:`.datafile`), and the source pages it
came from are dropped (:mod:`.pages`); at the end the quantized MatMul and
Gather nodes are replaced the way Olive's pass replaces them (:mod:`.streamer`).
The initializers, nodes and names are Olive's, byte for byte.

The same loop quantizes an fp32 ONNX model already on disk one initializer at
a time (the tuner's candidates that start from its fp32 model).

This package's ``__init__`` stays light: the convert worker imports the exit
status below without loading torch.
"""

# The converter's exit status when a hook's preconditions do not hold in this toolchain: it wrote nothing,
# and the convert worker runs the same conversion with Olive instead.
NOT_APPLICABLE_EXIT = 3
# How the converter's own lines begin (the convert worker turns them into stages).
LINE_PREFIX = "stream: "
