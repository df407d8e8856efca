"""Teacher forcing vs scheduled sampling vs always sampling, side by side (issue 12).

Trains one template several times with the same seed, data, epochs and everything else,
changing only how the decoder is fed during training (``scheduled_sampling``):

- ``off``: teacher forcing, the true previous token at every step;
- ``inverse_sigmoid`` / ``linear`` / ``exponential``: scheduled sampling (Bengio et al. 2015),
  the teacher-forcing probability falling to 1/2 at ``--midpoint`` steps;
- ``uniform``: the same inverse-sigmoid schedule, but the replaced tokens are drawn uniformly
  from the vocabulary instead of from the model;
- ``always``: never the truth, always the model's own sample (ε = 0 from the start).

Each run is validated by greedy decoding from <bos> (exact match, corpus BLEU, 0–1), and at
the end its best checkpoint is decoded again with beam search of width 5 on the same
validation set. One table, one row per variant.

Run from the repo root:
  .venv/bin/python bench/scheduled_sampling.py [--template shapes_captioner] [--dataset D]
                                                [--epochs N] [--midpoint M] [--variants a,b,...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_lines  # noqa: E402

VARIANTS = {
    "off": {"scheduled_sampling": "off"},
    "inverse_sigmoid": {"scheduled_sampling": "inverse_sigmoid"},
    "linear": {"scheduled_sampling": "linear"},
    "exponential": {"scheduled_sampling": "exponential"},
    "uniform": {"scheduled_sampling": "inverse_sigmoid", "sampling_tokens": "uniform"},
    "always": {"scheduled_sampling": "always"},
}


def beam_bleu(run_dir: Path, dataset, width: int) -> tuple[float, float]:
    """(BLEU, exact match) of beam search of ``width`` over the validation set, best checkpoint."""
    import sacrebleu

    from graph_engine.training.replay import open_run
    from graph_engine.training.seq2seq_run import Seq2SeqModel

    model = Seq2SeqModel(open_run(run_dir))
    references = dataset.extra["val_references"]
    hypotheses = [model.beam(dataset.x_val[i:i + 1], width)[0].text for i in range(len(dataset.x_val))]
    streams = [[refs[k] if k < len(refs) else None for refs in references]
               for k in range(max(len(r) for r in references))]
    tokenize = "char" if model.target_vocab.level == "char" else "13a"
    bleu = sacrebleu.corpus_bleu(hypotheses, streams, tokenize=tokenize).score / 100
    exact = sum(h in refs for h, refs in zip(hypotheses, references)) / len(hypotheses)
    return bleu, exact


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="shapes_captioner")
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--midpoint", type=int, default=300, help="steps at which ε = 1/2")
    parser.add_argument("--variants", default="off,inverse_sigmoid,uniform,always")
    parser.add_argument("--beam", type=int, default=5)
    args = parser.parse_args()

    from graph_engine import load_template
    from graph_engine.training import Trainer, load_dataset_for, settings_from_dict

    graph = load_template(args.template)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.variants.split(","):
            settings = settings_from_dict(graph.training, epochs=args.epochs, sampling_midpoint=args.midpoint,
                                          dataset=args.dataset, **VARIANTS[name])
            data = load_dataset_for(graph, settings)
            run_dir = Path(scratch) / name
            started = time.perf_counter()
            result = Trainer(graph, data, settings, None, run_dir, probes=False).run()
            elapsed = time.perf_counter() - started
            beam = beam_bleu(run_dir, data, args.beam)
            rows.append((name, result.metrics, beam, elapsed, result.step))
            print(f"{name}: {result.status}, {elapsed:.0f} s, {result.metrics}, beam {beam}", flush=True)
    for line in machine_lines("cpu"):
        print(line)
    print(f"{args.template} on {args.dataset or graph.training.get('dataset')}, {args.epochs} epochs, "
          f"midpoint {args.midpoint} steps; metrics of the best epoch (greedy), then beam {args.beam}")
    print(f"{'variant':<16} {'BLEU':>6} {'exact':>6} {'tok acc':>7} {'loss':>6} {'BLEU b' + str(args.beam):>8} "
          f"{'exact b' + str(args.beam):>9} {'time':>6}")
    for name, metrics, (bleu, exact), elapsed, _ in rows:
        print(f"{name:<16} {metrics['bleu']:6.3f} {metrics['exact_match']:6.3f} {metrics['token_accuracy']:7.3f} "
              f"{metrics['loss']:6.3f} {bleu:8.3f} {exact:9.3f} {elapsed:5.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
