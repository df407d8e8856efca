"""Probes: what the trainer measures inside a model and the GUI plots.

Each probe runs on the model's device with torch and returns plain data (floats,
lists, numpy arrays) that can cross a process queue. Probes that run the model do
so in eval mode under ``torch.no_grad`` and restore every training flag after.

- :func:`activation_stats`: mean, std, histogram, dead and saturated units per node
- :class:`GradientMonitor`: gradient norms and update/weight ratios per node
- :func:`feature_maps`, :func:`first_layer_filters`: uint8 images of one sample's
  maps and of the first convolution's filters
- :func:`top_patches` (-> :class:`TopPatches`), :func:`patch_grid_image`,
  :func:`save_png`: the input patches that excite each channel most
- :func:`decision_boundary`: a two-feature classifier's plane coloured by predicted class,
  with the training points and each hidden unit's own output (TensorFlow Playground's view)
- :func:`confusion_matrix`, :func:`per_class_accuracy`, :func:`segmentation_metrics`
- :func:`sample_text`, :func:`beam_search`: text from a character model
- :func:`to_uint8`: min-max scaling of rows to display bytes (what the maps use)
- :func:`evaluating`: eval mode under no_grad, every training flag restored after
- :mod:`~graph_engine.probes.incremental` and :mod:`~graph_engine.probes.decoding`: a graph's
  decoder run one step at a time (greedy, sampling, beam search with a STOP symbol)
"""

from graph_engine.lazy_names import lazy_names

# loaded when first asked for: the editor's views import the plain data types of some probes
# (TopPatches) long before anything runs a model, and the probes' modules import torch
_LAZY = {
    "evaluating": "graph_engine.probes._common", "to_uint8": "graph_engine.probes._common",
    "activation_nodes": "graph_engine.probes.activations", "activation_stats": "graph_engine.probes.activations",
    "nice_range": "graph_engine.probes.activations",
    "decision_boundary": "graph_engine.probes.boundary", "hidden_units": "graph_engine.probes.boundary",
    "takes_two_features": "graph_engine.probes.boundary",
    "confusion_matrix": "graph_engine.probes.evaluation", "per_class_accuracy": "graph_engine.probes.evaluation",
    "segmentation_metrics": "graph_engine.probes.evaluation",
    "feature_maps": "graph_engine.probes.maps", "first_conv_node": "graph_engine.probes.maps",
    "first_layer_filters": "graph_engine.probes.maps",
    "GradientMonitor": "graph_engine.probes.gradients",
    "TopPatches": "graph_engine.probes.patch_sets", "patch_grid_image": "graph_engine.probes.patches",
    "save_png": "graph_engine.probes.patches", "top_patches": "graph_engine.probes.patches",
    "beam_search": "graph_engine.probes.sampling", "sample_text": "graph_engine.probes.sampling",
}
__getattr__, __dir__ = lazy_names("graph_engine.probes", globals(), _LAZY)

__all__ = [
    "GradientMonitor", "TopPatches", "activation_nodes", "activation_stats", "beam_search", "confusion_matrix",
    "decision_boundary", "evaluating", "hidden_units", "takes_two_features",
    "feature_maps", "first_conv_node", "first_layer_filters", "nice_range", "patch_grid_image", "per_class_accuracy",
    "sample_text", "save_png", "segmentation_metrics", "to_uint8", "top_patches",
]
