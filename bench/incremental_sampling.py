"""Per-character cost of generating text: incremental decoding against re-running the window.

Issue 12's target: the ``char_lstm`` template (2-layer LSTM, 256 units, 64-character window)
generates each character at least 100× faster than re-running the whole window for every
character, as the app did before. Both contenders sample at temperature 0.8 from the same
untrained-but-deterministic weights (the cost does not depend on them):

- **window**: the character model's module on the last 64 characters, logits at the last
  position (``sample_text`` without a graph: the old way);
- **incremental**: ``sample_text(..., graph=...)``: the graph's decoder step (one token, the
  LSTM's states as Inputs and Outputs) once per character, the state carried on.

Rounds alternate the two; the ratio is the median over rounds of (window time per
character) / (incremental time per character). The re-run reads T = 64 positions for one new
character, so the ratio cannot pass 64 even where a one-step LSTM call costs exactly 1/64 of
the 64-step one; on a CPU it costs far more than that (the 64-step call computes the input
projections of all steps in one matrix product and keeps the recurrent weights in cache), so
the script prints the one-step and 64-step costs of the bare ``nn.LSTM`` too: their ratio
bounds what any step-by-step decoder can reach on the machine.

Run from the repo root:
  .venv/bin/python bench/incremental_sampling.py [--rounds N] [--chars C] [--threads T] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_lines  # noqa: E402

import torch  # noqa: E402

from graph_engine import compile_graph, load_template  # noqa: E402
from graph_engine.probes import sample_text  # noqa: E402
from graph_engine.probes.incremental import _few_steps  # noqa: E402

TARGET_RATIO = 100.0
VOCABULARY = "".join(chr(i) for i in range(128))
PROMPT = "The quick brown fox jumps over the lazy dog. " * 2


def _per_char(fn, chars: int, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / chars


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--chars", type=int, default=150)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    graph = load_template("char_lstm")
    torch.manual_seed(0)
    model = compile_graph(graph, device=device).eval()
    window = graph.node("chars").params["shape"][0]

    def rerun() -> str:
        return sample_text(model, VOCABULARY, PROMPT, args.chars, 0.8, window=window, seed=1)

    def incremental() -> str:
        return sample_text(model, VOCABULARY, PROMPT, args.chars, 0.8, seed=1, graph=graph)

    incremental()  # builds and caches the decoder step (once per model)
    rerun()
    ratios, old, new = [], [], []
    for round_index in range(args.rounds):
        order = [(rerun, old), (incremental, new)]
        if round_index % 2:
            order.reverse()
        for fn, into in order:
            into.append(_per_char(fn, args.chars, device))
        ratios.append(old[-1] / new[-1])
    lstm = model.lstm
    with torch.inference_mode():
        one, many = torch.randn(1, 1, 32, device=device), torch.randn(1, window, 32, device=device)
        timings = {}
        for name, x in (("1 step", one), (f"{window} steps", many)):
            # one step runs as the decoder runs it (without oneDNN: see incremental._few_steps)
            with _few_steps(device, x.shape[1]):
                lstm(x)
                start = time.perf_counter()
                for _ in range(50):
                    lstm(x)
                timings[name] = (time.perf_counter() - start) / 50
    for line in machine_lines(str(device)):
        print(line)
    print(f"torch threads: {torch.get_num_threads()}")
    print(f"char_lstm, {args.chars} characters per run, {args.rounds} rounds (median per character):")
    print(f"  re-running the {window}-character window: {statistics.median(old) * 1e3:8.3f} ms")
    print(f"  incremental (decoder step, state carried): {statistics.median(new) * 1e3:8.3f} ms")
    print(f"  bare nn.LSTM call: 1 step {timings['1 step'] * 1e3:.3f} ms, {window} steps "
          f"{timings[f'{window} steps'] * 1e3:.3f} ms (bound on the ratio from the LSTM alone: "
          f"{timings[f'{window} steps'] / timings['1 step']:.1f}×)")
    ratio = statistics.median(ratios)
    print(f"ratio (median of rounds {min(ratios):.1f}–{max(ratios):.1f}): {ratio:.1f}×  target ≥ {TARGET_RATIO:.0f}×  "
          f"{'PASS' if ratio >= TARGET_RATIO else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
