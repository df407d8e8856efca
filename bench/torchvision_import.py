"""Import every classification and segmentation model of torchvision.models (random weights,
never downloaded) and print one row per model: exact or refused (with the reasons), the
parameter counts of the model and of the imported graph, the import time and its peak memory.

    .venv/bin/python bench/torchvision_import.py                 # every model
    .venv/bin/python bench/torchvision_import.py resnet18 vit_b_16 --timeout 600
    .venv/bin/python bench/torchvision_import.py --skip-larger 200   # models of ≤ 200 M params
    .venv/bin/python bench/torchvision_import.py swin_t maxvit_t --size 224   # another input side

Each model is imported in a child process of its own, so its peak memory is its own:
``peak`` is the child's peak resident memory, ``import`` what the import added to the memory
the process held before it (torch, torchvision and the model). "exact" means: the graph has
the model's parameter count, the import's float64 check passed (≤ 1e-6) and the compiled graph
with the imported weights gives the model's outputs in float32 (allclose, 1e-4) on a new input.

torchvision is only needed here and in tests (``pip install --no-deps torchvision``): its
wheel may be a CUDA build whose compiled operators do not load with a CPU torch, so the two
modules that register them are stubbed; the model definitions are pure Python.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: the input side (H = W) per model: the smallest of 32, 64, 75, 224 the model accepts (ViT
#: and MaxViT take only their image size), and 224 for VGG16 (its memory is the one measured)
SIZES = {"alexnet": 64, "inception_v3": 75, "maxvit_t": 224, "vgg16": 224}
DEFAULT_SIZE = 32
#: arguments that make a model return one tensor in evaluation (their auxiliary classifiers are
#: unused then, and would count parameters the forward never touches)
KWARGS = {"googlenet": {"aux_logits": False, "init_weights": False},
          "inception_v3": {"aux_logits": False, "init_weights": False}}


def load_torchvision():
    """``torchvision.models`` with the compiled-operator registrations stubbed."""
    for name in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
        sys.modules.setdefault(name, types.ModuleType(name))
    import torchvision.models as models
    import torchvision.models.segmentation  # noqa: F401

    return models


def model_names(models) -> list[tuple[str, str]]:
    """(name, "classification" or "segmentation") for every model of the two families."""
    return ([(n, "classification") for n in models.list_models(module=models)]
            + [(n, "segmentation") for n in models.list_models(module=models.segmentation)])


def size_of(name: str) -> int:
    if os.environ.get("ROSENBLATT_BENCH_SIZE"):  # --size, handed to the child
        return int(os.environ["ROSENBLATT_BENCH_SIZE"])
    if name.startswith("vit_"):
        return 224
    return SIZES.get(name, DEFAULT_SIZE)


def build(name: str):
    import torch

    models = load_torchvision()
    kwargs = dict(KWARGS.get(name, {}), weights=None)
    if name in models.list_models(module=models.segmentation):
        kwargs["weights_backbone"] = None  # never downloaded: random backbones too
    torch.manual_seed(0)
    return models.get_model(name, **kwargs)


def _rss() -> int:
    """Resident memory now, in bytes."""
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(name: str) -> dict:
    """The child: build, import, check; one JSON line on stdout."""
    import warnings

    import torch

    from graph_engine.interop import UnsupportedModel, import_module_object
    from graph_engine.interop.errors import InteropError
    from graph_engine.interop.importer import compiled_with

    warnings.simplefilter("ignore")
    model = build(name).eval()
    size = size_of(name)
    row = {"model": name, "input": f"3×{size}×{size}",
           "params": sum(p.numel() for p in model.parameters()),
           "model_bytes": sum(t.numel() * t.element_size()
                              for t in [*model.parameters(), *model.buffers()])}
    before = _rss()
    start = time.perf_counter()
    try:
        imported = import_module_object(model, (3, size, size), name=name)
    except UnsupportedModel as error:
        row.update(status="refused", reasons=error.problems)
    except InteropError as error:
        row.update(status="refused", reasons=[str(error)])
    row["seconds"] = time.perf_counter() - start
    row["peak_bytes"] = _peak()
    row["import_bytes"] = max(0, row["peak_bytes"] - before)
    if row.get("status") == "refused":
        return row
    compiled = compiled_with(imported.graph, imported.state).eval()  # the same tensors: no copy
    row["graph_params"] = sum(p.numel() for p in compiled.parameters())
    row["nodes"] = len(imported.graph.nodes)
    row["max_difference"] = imported.max_difference
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = model(x), compiled(x)
    if isinstance(expected, dict):
        expected = tuple(expected.values())
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = got if isinstance(got, tuple) else (got,)
    close = len(expected) == len(got) and all(
        e.shape == g.shape and torch.allclose(e, g, rtol=1e-4, atol=1e-4) for e, g in zip(expected, got))
    row["float32_difference"] = max(float((e - g).abs().max()) for e, g in zip(expected, got)) \
        if len(expected) == len(got) and all(e.shape == g.shape for e, g in zip(expected, got)) else None
    exact = close and row["graph_params"] == row["params"]
    row["status"] = "exact" if exact else "differs"
    return row


def _mib(n: int | None) -> str:
    return "" if n is None else f"{n / 2 ** 20:,.0f} MiB"


def run_child(name: str, timeout: float) -> dict:
    command = [sys.executable, __file__, "--child", name]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"model": name, "status": "timeout", "reasons": [f"over {timeout:g} s"]}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"model": name, "status": "crashed", "reasons": [f"exit {done.returncode}: {last[:200]}"]}
    return json.loads(lines[-1])


def summary(reasons: list[str]) -> str:
    """``12× shifted_window_attention: no layer type for this call; …``: each kind of refusal
    once, with how many calls it stops (node names and lines left out)."""
    import re
    from collections import Counter

    kinds = Counter()
    for reason in reasons:
        text = re.sub(r"^[^ ]+:\d+: ", "", reason)
        text = re.sub(r" at node \S+ \(in \w+\)", "", text)
        text = re.sub(r"self\.[\w.]+", "self.…", text)
        kinds[text] += 1
    return "; ".join(f"{n}× {kind}" if n > 1 else kind for kind, n in kinds.most_common())


def table(rows: list[dict]) -> str:
    head = ("| model | input | status | parameters | import time | peak memory (process) "
            "| import's own | model's weights |")
    lines = [head, "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        params = f"{r['params']:,}" if "params" in r else ""
        if r.get("status") == "differs":
            params += f" (graph {r.get('graph_params', 0):,})"
        seconds = f"{r['seconds']:.1f} s" if "seconds" in r else ""
        status = r["status"] if r["status"] in ("exact", "differs") \
            else f"{r['status']}: {summary(r['reasons'])}".replace("|", "\\|")
        lines.append(f"| {r['model']} | {r.get('input', '')} | {status} | {params} | {seconds} "
                     f"| {_mib(r.get('peak_bytes'))} | {_mib(r.get('import_bytes'))} "
                     f"| {_mib(r.get('model_bytes'))} |")
    return "\n".join(lines)


def reasons(rows: list[dict]) -> str:
    out = []
    for r in rows:
        if r["status"] in ("refused", "timeout", "crashed"):
            out.append(f"{r['model']}: {len(r['reasons'])} reason(s)")
            out += [f"  {reason}" for reason in r["reasons"]]
        elif r["status"] == "differs":
            out.append(f"{r['model']}: float64 {r.get('max_difference')}, float32 {r.get('float32_difference')}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", help="model names (default: every one)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per model")
    parser.add_argument("--skip-larger", type=float, default=None, metavar="M",
                        help="skip models of more than M million parameters")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--size", type=int, help="the input side for every model (default: per model)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.size:
        os.environ["ROSENBLATT_BENCH_SIZE"] = str(args.size)
    if args.child:
        print(json.dumps(measure(args.child)), flush=True)
        return 0
    models = load_torchvision()
    names = [n for n, _ in model_names(models)]
    chosen = args.models or names
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        parser.error(f"unknown models: {', '.join(unknown)}")
    rows = []
    for name in chosen:
        if args.skip_larger is not None:
            count = sum(p.numel() for p in build(name).parameters())
            if count > args.skip_larger * 1e6:
                print(f"{name}: skipped ({count / 1e6:.0f} M parameters)", file=sys.stderr, flush=True)
                continue
        row = run_child(name, args.timeout)
        rows.append(row)
        print(f"{name}: {row['status']} {row.get('seconds', 0):.1f} s {_mib(row.get('peak_bytes'))}",
              file=sys.stderr, flush=True)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    from _machine import machine_lines

    print("\n".join(machine_lines()))
    print()
    print(table(rows))
    print()
    print(reasons(rows))
    exact = sum(r["status"] == "exact" for r in rows)
    print(f"\n{exact} of {len(rows)} models import exactly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
