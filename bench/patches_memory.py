"""Peak memory of top_patches vs a plain forward pass, for every layer, before and after.

``--template wide`` is a chain of dilated convolutions whose fields grow to 515 px, to show
memory flat in the receptive field (before, crops were cut at the field's full size).

Target (issue 18): for every layer of the ResNet-style template at 64×64 whose patches can
be shown, ``graph_engine.probes.top_patches`` (k = 9, batch 256, over the whole set) needs
at most 1.2× the memory a forward pass over the same set in the same batch size needs
(batch 256, or the whole set when ``--images`` is smaller)
(eval mode, no_grad).

How it is measured: one child process per source tree ("before": a git ref exported with
``git archive``, default ``main``; "after": this worktree) builds the model and the data
(``--images`` random images, seeded), warms both contenders up on two images, then for each
layer in turn, in alternating order, resets the kernel's peak-RSS mark (``/proc/self/clear_refs``),
runs the contender and reads ``VmHWM``. A contender's memory is its peak RSS minus the RSS
before it (what it adds to the model and the data, which both hold anyway); the ratio is
patches / forward. glibc's mmap threshold is pinned (``MALLOC_MMAP_THRESHOLD_``) so freed
tensors leave RSS and one layer's measurement does not hide the next's. Linux only.

Run from the repo root:
  .venv/bin/python bench/patches_memory.py [--before REF] [--template resnet_style|wide|KEY] [--size 64]
                                           [--images 1024] [--layers all|conv]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import cpu_model  # noqa: E402

TARGET = 1.2
MIB = 1 << 20

CHILD = r'''
import gc, json, sys
import torch
torch.set_num_threads(1)
from graph_engine import analyze, compile_graph, load_template
from graph_engine.probes import top_patches
from graph_engine.probes._common import evaluating
from graph_engine.probes.patches import patch_candidates

from graph_engine import Graph
template, size, images, only_conv = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "conv"
if template == "wide":  # dilated convolutions: fields of 131, 259, 387 and 515 px
    graph = Graph("wide")
    layers = [("image", "Input", {"shape": [3, size, size]}),
              ("c1", "Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1})]
    layers += [(f"w{i}", "Conv2d", {"out_channels": 16, "kernel_size": 5, "dilation": 32, "padding": 64})
               for i in range(1, 5)]
    layers += [("flat", "Flatten", {}), ("fc", "Linear", {"out_features": 2}), ("out", "Output", {})]
    previous = None
    for node_id, kind, params in layers:
        graph.create_node(kind, params, node_id=node_id)
        if previous:
            graph.connect(previous, node_id)
        previous = node_id
else:
    graph = load_template(template)
for node in graph:
    if node.type == "Input":
        graph.set_params(node.id, {"shape": [node.params["shape"][0], size, size]})
analysis = analyze(graph)
model = compile_graph(graph, device="cpu")
torch.manual_seed(0)
x = torch.rand(images, graph.nodes[analysis.input_ids[0]].params["shape"][0], size, size)
nodes = [n for n, _ in patch_candidates(graph, analysis)]
if only_conv:
    nodes = [n for n in nodes if analysis.compiled().graph.nodes[n].type == "Conv2d"]

def rss(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) * 1024

batch = min(256, images)

def forward(data):
    with evaluating(model):
        for start in range(0, len(data), batch):
            model(data[start:start + batch])

def patches(data, node):
    top_patches(model, graph, analysis, data, node, k=9, batch_size=batch)

def measured(run):
    gc.collect()
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    before = rss("VmRSS:")
    run()
    return rss("VmHWM:") - before

forward(x[:2])
for node in nodes:
    patches(x[:2], node)
rows = []
for index, node in enumerate(nodes):
    order = ("forward", "patches") if index % 2 == 0 else ("patches", "forward")
    got = {}
    for what in order:
        got[what] = measured((lambda: forward(x)) if what == "forward" else (lambda: patches(x, node)))
    field = analysis.compiled().info(node).field
    rows.append({"node": node, "field": field[0].size, "forward": got["forward"], "patches": got["patches"]})
print(json.dumps(rows))
'''


def export_tree(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=ROOT, capture_output=True, check=True)
    tree = into / "tree"
    tree.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def measure(tree: Path, args: argparse.Namespace) -> list[dict]:
    env = dict(os.environ, PYTHONPATH=str(tree), MALLOC_MMAP_THRESHOLD_="131072", OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", CHILD, args.template, str(args.size), str(args.images),
                             args.layers], cwd=tree, env=env, capture_output=True, text=True, timeout=3000)
    if result.returncode:
        raise SystemExit(f"child failed in {tree}:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def load_line() -> str:
    one, five, _ = os.getloadavg()
    return f"load    : {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} logical cores"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main")
    parser.add_argument("--template", default="resnet_style")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--layers", choices=("all", "conv"), default="all")
    args = parser.parse_args()
    print(f"cpu     : {cpu_model()}")
    print(load_line())
    print(f"model   : {args.template} at {args.size}×{args.size}, {args.images} random images, k 9, "
          f"batch {min(256, args.images)}, CPU, one thread")
    with tempfile.TemporaryDirectory(prefix="rosenblatt-patches-memory-") as temp:
        before = measure(export_tree(args.before, Path(temp)), args)
        after = measure(ROOT, args)
    print(f"\n{'layer':16} {'field':>5}  {'forward':>8}  {'patches before':>14} {'ratio':>6}  "
          f"{'patches after':>13} {'ratio':>6}")
    worst = {"before": 0.0, "after": 0.0}
    for old, new in zip(before, after):
        forward = (old["forward"] + new["forward"]) / 2
        ratios = {"before": old["patches"] / forward, "after": new["patches"] / forward}
        for which in worst:
            worst[which] = max(worst[which], ratios[which])
        print(f"{new['node']:16} {new['field']:5.0f}  {forward / MIB:6.1f}Mi  {old['patches'] / MIB:12.1f}Mi "
              f"{ratios['before']:6.2f}  {new['patches'] / MIB:11.1f}Mi {ratios['after']:6.2f}")
    print(load_line())
    print(f"\nworst patches/forward memory: before {worst['before']:.2f}, after {worst['after']:.2f}; "
          f"target <= {TARGET}: {'met' if worst['after'] <= TARGET else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
