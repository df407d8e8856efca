"""Layer declarations, one module per family. Importing this package registers them."""

from graph_engine.layers import (  # noqa: F401  (imported for their registrations)
    io,
    conv,
    pool,
    dense,
    recurrent,
    attention,
    merge,
    activation,
    norm,
    reshape,
    tensor_ops,
    arrange,
)
