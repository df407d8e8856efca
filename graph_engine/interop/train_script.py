"""The standalone ``train.py`` written beside an exported ``model.py``.

The script is ``train_template.py`` (a real, tested Python file) with its generated block
replaced by this graph's model file, class, input and output shapes and training settings,
so what it does can be read in one place and it never imports Rosenblatt.
"""

from __future__ import annotations

from pathlib import Path

from graph_engine.lowering import checked_analysis, class_name
from graph_engine.model import Graph
from graph_engine.registry import get_spec
from graph_engine.source_text import py_literal
from graph_engine.training.settings import settings_from_dict

TEMPLATE = Path(__file__).with_name("train_template.py")
BEGIN, END = "# -- generated: begin\n", "# -- generated: end\n"
#: the settings the script honours, in the order it lists them
KEYS = ("task", "optimizer", "learning_rate", "momentum", "nesterov", "schedule", "step_epochs", "gamma",
        "warmup_steps", "batch_size", "epochs", "weight_decay", "grad_clip", "seed", "device",
        "early_stopping_patience", "keep_best", "validation_fraction")


def generated_block(graph: Graph, model_file: str, weights_file: str | None) -> str:
    """The assignments that tie the template to this graph."""
    analysis = checked_analysis(graph)
    roles = {get_spec(n.type).role: n.id for n in graph if (spec := get_spec(n.type)) is not None and spec.role}
    input_id, output_id = roles["input"], roles["output"]
    settings = settings_from_dict(graph.training, strict=False).to_dict()
    lines = [
        f"MODEL_FILE = {py_literal(model_file)}",
        f"MODEL_CLASS = {py_literal(class_name(graph.name))}",
        f"INIT_WEIGHTS = {py_literal(weights_file)}",
        f"INPUT_SHAPE = {py_literal(tuple(analysis.info(input_id).out_shape))}",
        f"INPUT_DTYPE = {py_literal('int64' if analysis.info(input_id).dtype == 'int64' else 'float32')}",
        f"OUTPUT_SHAPE = {py_literal(tuple(analysis.info(output_id).out_shape))}",
        "SETTINGS = {",
        *(f"    {py_literal(key)}: {py_literal(settings[key])}," for key in KEYS),
        "}",
        f"LAYERS = {{{', '.join(_layers(analysis))}}}",
    ]
    return "\n".join(lines) + "\n"


def _layers(analysis) -> list[str]:
    """``"fc1": (False, 1.0)`` for each layer that is frozen or has an lr_mult (blocks expanded)."""
    entries = []
    for node in analysis.compiled().graph:
        trainable, mult = node.params.get("trainable", True), node.params.get("lr_mult", 1.0)
        if trainable is not True or mult != 1.0:
            entries.append(f"{py_literal(node.id)}: ({py_literal(bool(trainable))}, {py_literal(float(mult))})")
    return entries


def generate_train_script(graph: Graph, model_file: str = "model.py",
                          weights_file: str | None = None) -> str:
    """The source of ``train.py`` for ``graph`` exported as ``model_file`` (in the same folder).

    ``weights_file`` (beside it) is where training starts from unless ``--init`` says otherwise.
    """
    template = TEMPLATE.read_text(encoding="utf-8")
    head, rest = template.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + BEGIN + generated_block(graph, model_file, weights_file) + END + tail


__all__ = ["generate_train_script"]
