"""Greedy decoding vs beam search on an encoder–decoder run's validation set (issue 12).

Opens a run folder (``rosenblatt train template:shapes_captioner`` or
``template:seq2seq_translator``), takes its best checkpoint and decodes every validation
sample greedily and with beam search of each width asked for (score = log P / length),
then prints corpus BLEU (sacrebleu, 0–1), exact match and the time per sample.

Run from the repo root:
  .venv/bin/python bench/seq2seq_decoding.py RUN_DIR [--beams 1,3,5,10] [--alpha 1.0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_lines  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--beams", default="1,5")
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--limit", type=int, default=0, help="decode only the first N validation samples")
    args = parser.parse_args()

    import sacrebleu

    from graph_engine.training import load_dataset_for
    from graph_engine.training.replay import open_run
    from graph_engine.training.seq2seq_run import Seq2SeqModel
    from graph_engine.training.snapshot import RunSnapshot

    opened = open_run(args.run_dir)
    model = Seq2SeqModel(opened)
    data = load_dataset_for(RunSnapshot.of(opened.graph, copy=False), opened.settings)
    count = args.limit or len(data.x_val)
    references = data.extra["val_references"][:count]
    streams = [[refs[k] if k < len(refs) else None for refs in references]
               for k in range(max(len(r) for r in references))]
    tokenize = "char" if model.target_vocab.level == "char" else "13a"
    for line in machine_lines("cpu"):
        print(line)
    print(f"{args.run_dir}: {data.name}, checkpoint at step {model.step}, {count} validation samples")
    print(f"{'decoding':<14} {'BLEU':>6} {'exact':>6} {'ms/sample':>10}")
    for width in (int(w) for w in args.beams.split(",")):
        started = time.perf_counter()
        if width == 1:
            hypotheses = [model.greedy(data.x_val[i:i + 1]).text for i in range(count)]
        else:
            hypotheses = [model.beam(data.x_val[i:i + 1], width, args.alpha)[0].text for i in range(count)]
        elapsed = (time.perf_counter() - started) / count
        bleu = sacrebleu.corpus_bleu(hypotheses, streams, tokenize=tokenize).score / 100
        exact = sum(h in refs for h, refs in zip(hypotheses, references)) / count
        name = "greedy" if width == 1 else f"beam {width}"
        print(f"{name:<14} {bleu:6.3f} {exact:6.3f} {elapsed * 1e3:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
