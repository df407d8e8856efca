"""Weight initialisation schemes a run may ask for instead of torch's defaults.

torch initialises a Linear or convolution with Kaiming-uniform at a = √5 (a variance
of 1/(3·fan_in)), which is neither of the schemes the textbooks compare activations
under: Glorot/Xavier (variance 2/(fan_in + fan_out), for tanh and sigmoid) and He/Kaiming
(variance 2/fan_in, for ReLU). A lesson that races activations uses the one each assumes.
"""

from __future__ import annotations

from torch import nn

#: "default": torch's own; "xavier": Glorot-normal; "kaiming": He-normal (fan_in, ReLU gain)
INIT_SCHEMES = ("default", "xavier", "kaiming")
_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d)


def initialise(model: nn.Module, scheme: str) -> int:
    """Re-initialise every Linear and convolution of ``model`` (biases to 0) under ``scheme``;
    the number of layers changed (0 for "default")."""
    if scheme == "default":
        return 0
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"unknown initialisation {scheme!r}; choose one of {', '.join(INIT_SCHEMES)}")
    changed = 0
    for module in model.modules():
        if not isinstance(module, _WEIGHTED):
            continue
        if scheme == "xavier":
            nn.init.xavier_normal_(module.weight)
        else:
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)
        changed += 1
    return changed
