"""One rank of a two-process torchrun job that trains the translator template with scheduled
sampling on a slice of number-words, then writes its parameters to OUT/rank<r>.safetensors
(the test compares the ranks: DDP must keep them equal). Run by tests/engine/test_seq2seq_ddp.py:

  python -m torch.distributed.run --nproc_per_node=2 --standalone tests/engine/ddp_seq2seq_rank.py OUT SAMPLING
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from safetensors.torch import save_file  # noqa: E402

from graph_engine import load_template  # noqa: E402
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict  # noqa: E402
from graph_engine.training.distributed import from_environment  # noqa: E402


def main(out: Path, sampling: str) -> None:
    graph = load_template("seq2seq_translator")
    settings = settings_from_dict(graph.training, dataset="number-words", epochs=1, batch_size=16,
                                  scheduled_sampling=sampling, sampling_midpoint=2, probe_every=0, device="cpu")
    data = load_dataset_for(graph, settings)
    data.x_train, data.y_train = data.x_train[:96], data.y_train[:96]  # 3 steps per rank
    data.x_val, data.y_val = data.x_val[:16], data.y_val[:16]
    for key in ("val_references", "val_sources"):
        if key in data.extra:
            data.extra[key] = data.extra[key][:16]
    distributed = from_environment()
    trainer = Trainer(graph, data, settings, None, out / "run", probes=False, distributed=distributed)
    result = trainer.run()
    assert result.status == "completed", result
    state = {name: p.detach().contiguous() for name, p in trainer.model.named_parameters()}
    save_file(state, str(out / f"rank{distributed.rank}.safetensors"),
              metadata={"step": str(trainer.step)})


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
