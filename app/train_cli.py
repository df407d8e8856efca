"""``rosenblatt train``, ``patches`` and ``sample``: training and its pictures, headless."""

from __future__ import annotations

import argparse
import gc
import math
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm import tqdm

    from graph_engine.training.distributed import Distributed

EXIT_OK, EXIT_FAILED, EXIT_UNREADABLE = 0, 1, 2


class ProgressSink:
    """Draws a tqdm bar from trainer events: loss, last validation metric, steps/s."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None
        self.postfix: dict[str, str] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        from tqdm import tqdm  # here, not at the top: the light commands load no tqdm

        kind = event["type"]
        if kind == "started":
            processes = event.get("world_size", 1)
            across = f", {processes} processes" if processes > 1 else ""
            print(f"training on {event['dataset']} ({event['device']}, {event['task']}{across}) -> "
                  f"{event['run_dir']}", file=sys.stderr)
            self.bar = tqdm(total=event["total_steps"], initial=event["step"], unit="step",
                            dynamic_ncols=True, file=sys.stderr)
        elif kind == "step" and self.bar is not None:
            self.bar.update(event["step"] - self.bar.n)
            self.postfix["loss"] = f"{event['loss']:.4f}"
            self.postfix["epoch"] = str(event["epoch"])
            self.bar.set_postfix(self.postfix, refresh=False)
        elif kind == "epoch":
            from graph_engine.training.tasks import HEADLINE  # torch: loaded by training already

            for name, _ in HEADLINE.values():
                if name in event["val"]:
                    self.postfix[f"val_{name}"] = f"{event['val'][name]:.4f}"
        elif kind == "branch":
            epoch = f" (epoch {event['epoch']})" if event.get("epoch") is not None else ""
            tqdm.write(f"starting from {event['from']}{epoch}: {event['text']}", file=sys.stderr)  # above the bar
        elif kind == "probe" and event["kind"] == "samples" and self.bar is not None:
            self.bar.write(f"--- sample after {event['step']} steps ---\n{event['data']['text']}")
        elif kind in ("finished", "failed") and self.bar is not None:
            self.bar.close()


def cmd_train(args: argparse.Namespace) -> int:
    """Train in this process, or as one rank of a torchrun job (rank 0 alone reports)."""
    from graph_engine import GraphFileError
    from graph_engine.training.distributed import DistributedError, from_environment

    try:
        distributed = from_environment()
    except DistributedError as error:
        print(f"rosenblatt train: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    status = EXIT_UNREADABLE
    try:
        status = _train(args, distributed)
    except DistributedError as error:  # this rank's own device or process group
        print(f"{_who(distributed)}: {error}", file=sys.stderr)
    except (ValueError, OSError, GraphFileError) as error:  # data, graph, folder: rank 0 says it
        if distributed.is_main:
            print(f"rosenblatt train: {error}", file=sys.stderr)
    finally:
        if status == EXIT_OK:  # after a failure another rank may be gone: leave without waiting
            distributed.close()
    if distributed.world_size > 1:
        # everything is written and closed: gloo's threads can still abort the interpreter's own
        # exit ("terminate called without an active exception"), so a torchrun worker leaves
        # without running C++ destructors
        # (the run's pause/stop flags are multiprocessing semaphores: collected now, they are
        # unlinked and unregistered, which os._exit would skip: "leaked semaphore objects")
        gc.collect()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


def _who(distributed: "Distributed") -> str:
    return "rosenblatt train" if distributed.is_main else f"rosenblatt train (rank {distributed.rank})"


def _train(args: argparse.Namespace, distributed: "Distributed") -> int:
    from app.graph_source import load_graph_argument
    from graph_engine.training import (
        Trainer, TrainingControl, load_dataset_for, settings_from_dict,
    )
    from graph_engine.training.transfer import read_mapping

    main_rank = distributed.is_main
    control = TrainingControl()
    previous = signal.signal(signal.SIGINT, lambda *_: (control.stop(),
                                                       signal.signal(signal.SIGINT, previous)))
    sink = ProgressSink() if main_rank else None
    tensorboard = True if args.tensorboard else None
    if args.resume and (args.init or args.init_map):
        if main_rank:
            print("rosenblatt train: --init starts a new run; --resume continues one from its own checkpoint",
                  file=sys.stderr)
        return EXIT_UNREADABLE
    if args.init_map and not args.init:
        if main_rank:
            print("rosenblatt train: --init-map goes with --init RUN_DIR|FILE", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        if args.resume:
            trainer = Trainer.resume(args.resume, lambda g, s: load_dataset_for(g, s), sink, control,
                                     epochs=args.epochs, distributed=distributed, tensorboard=tensorboard)
            if trainer.restarted and main_rank:
                print(f"{args.resume} has no checkpoint yet: training it again from step 0 there",
                      file=sys.stderr)
        else:
            graph = load_graph_argument(args.file)
            try:
                settings = settings_from_dict(
                    graph.training, dataset=args.dataset, epochs=args.epochs, batch_size=args.batch_size,
                    learning_rate=args.lr, optimizer=args.optimizer, device=args.device, seed=args.seed,
                    tensorboard=tensorboard, init_from=args.init)
            except ValueError as error:
                if main_rank:
                    print(f"rosenblatt train: {error}", file=sys.stderr)
                return EXIT_UNREADABLE
            init_map = read_mapping(args.init_map) if args.init_map else None
            trainer = Trainer(graph, load_dataset_for(graph, settings), settings, sink, args.out, control,
                              distributed=distributed, init_map=init_map)
        result = trainer.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    if result.status == "failed":
        print(f"{_who(distributed)}: failed: {result.message}", file=sys.stderr)
        return EXIT_FAILED
    if not main_rank:
        return EXIT_OK
    print(f"{result.status} after {result.epoch} epochs ({result.step} steps); run folder {result.run_dir}",
          file=sys.stderr)
    for name, value in result.metrics.items():
        print(f"{name} {value:.6g}")
    return EXIT_OK


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


#: ``patches -k`` at most: a grid of 100 patches per channel is already past reading
MAX_PATCHES = 100


def cmd_patches(args: argparse.Namespace) -> int:
    from graph_engine.analysis import analyze
    from graph_engine.probes import patch_grid_image, save_png, top_patches
    from graph_engine.training.replay import dataset_tensors, open_run

    if not 1 <= args.k <= MAX_PATCHES:
        print(f"rosenblatt patches: -k must be 1..{MAX_PATCHES}, got {args.k}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        opened = open_run(args.run_dir)
        analysis = analyze(opened.graph)
        x = dataset_tensors(opened)
        top = top_patches(opened.model, opened.graph, analysis, x, args.node, k=args.k,
                          step=opened.checkpoint["step"])
        image = patch_grid_image(top, max_channels=args.channels, scale=args.scale)
        save_png(image, args.output)
    except (ValueError, KeyError, OSError) as error:
        print(f"rosenblatt patches: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    shown = min(args.channels, len(top.values))
    of = f"the first {shown} of {len(top.values)}" if shown < len(top.values) else f"{shown}"
    print(f"wrote {args.output} ({image.shape[1]}×{image.shape[0]}): top {top.k} patches of {of} channels "
          f"of '{args.node}' at step {top.step}, each row labelled with its channel and top activation, "
          f"scaled per {args.scale}")
    return EXIT_OK


#: ``sample --length`` and ``--beam`` at most: a million characters take minutes; a wider beam
#: than the vocabulary finds nothing more
MAX_SAMPLE_LENGTH, MAX_BEAM = 1_000_000, 1_000


def sample_arguments_problem(length: int, temperature: float, beam: int, alpha: float) -> str | None:
    """What is wrong with ``sample``'s numbers, in one line (NaN compares false with every
    bound, so each is checked to lie inside its range)."""
    if not 1 <= length <= MAX_SAMPLE_LENGTH:
        return f"--length must be 1..{MAX_SAMPLE_LENGTH:,}, got {length}"
    if not 0 <= temperature < math.inf:
        return f"--temperature must be a finite number ≥ 0, got {temperature}"
    if not 0 <= beam <= MAX_BEAM:
        return f"--beam must be 0..{MAX_BEAM:,}, got {beam}"
    if not -math.inf < alpha < math.inf:
        return f"--alpha must be a finite number, got {alpha}"
    return None


def cmd_sample(args: argparse.Namespace) -> int:
    from pathlib import Path

    from graph_engine.probes import beam_search, sample_text
    from graph_engine.training.replay import open_run

    temperature = 0.8 if args.temperature is None else args.temperature
    problem = sample_arguments_problem(args.length, temperature, args.beam, args.alpha)
    if problem:
        print(f"rosenblatt sample: {problem}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        opened = open_run(args.run_dir)
    except (ValueError, OSError) as error:
        print(f"rosenblatt sample: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    if (Path(args.run_dir) / "vocabularies.json").is_file() or args.source is not None or args.image is not None:
        return _sample_seq2seq(args, opened)
    vocabulary = opened.dataset.get("vocabulary")
    if not vocabulary:
        print(f"rosenblatt sample: {args.run_dir} is not a character model's run", file=sys.stderr)
        return EXIT_UNREADABLE
    window = opened.dataset["sample_shape"][0]
    try:
        if args.beam:
            text = beam_search(opened.model, vocabulary, args.prompt, args.length, beam_width=args.beam,
                               window=window, graph=opened.graph)
        else:
            text = sample_text(opened.model, vocabulary, args.prompt, args.length,
                               temperature=temperature, window=window, seed=args.seed, graph=opened.graph)
    except ValueError as error:
        print(f"rosenblatt sample: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    print(text)
    return EXIT_OK


def _sample_seq2seq(args: argparse.Namespace, opened: Any) -> int:
    """An encoder–decoder's output for ``--source TEXT`` or ``--image PATH``: greedy (or sampled
    with ``--temperature``), or with ``--beam K`` the K best, each with its log-probability."""
    from graph_engine.training.seq2seq_run import Seq2SeqModel

    try:
        model = Seq2SeqModel(opened)
        if (args.source is None) == (args.image is None):
            what = "--image PATH" if model.image_source else "--source TEXT"
            raise ValueError(f"this run decodes {'images' if model.image_source else 'text'}: give {what}")
        x = model.encode_image(args.image) if args.image is not None else model.encode_text(args.source)
        if args.beam >= 1:
            candidates = model.beam(x, args.beam, alpha=args.alpha)
        else:
            candidates = [model.greedy(x, args.temperature or 0.0, args.seed)]
    except (ValueError, OSError, KeyError) as error:
        print(f"rosenblatt sample: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    for candidate in candidates:
        print(f"{candidate.log_prob:9.4f}  {candidate.text}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction, file_help: str) -> None:
    """Add the training commands to the main parser."""
    train = sub.add_parser("train", help="train a graph headless (default: the digits CNN on digits)")
    train.add_argument("file", nargs="?", help=file_help)
    train.add_argument("--dataset", help="built-in name (digits, shapes, shapes-segmentation, "
                                         "python-docs, python-source; for encoder–decoders number-words, "
                                         "digits-words, shapes-captions) or a path")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float, help="learning rate")
    train.add_argument("--optimizer", choices=["sgd", "adam", "adamw", "rmsprop"])
    train.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
    train.add_argument("--seed", type=int)
    train.add_argument("--out", help="run folder (default runs/<graph name>-<date-time>)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    train.add_argument("--init", metavar="RUN_DIR|WEIGHTS",
                       help="start from a run's weights (its best checkpoint, else the last), a .safetensors "
                            "file or a .pth state dict, where node id and shape match")
    train.add_argument("--init-map", metavar="FILE",
                       help='JSON {"old_id": "new_id"} of nodes renamed since those weights were trained')
    train.add_argument("--tensorboard", action="store_true",
                       help="also write TensorBoard event files to RUN_DIR/tensorboard")
    train.set_defaults(run=cmd_train)

    patches = sub.add_parser("patches", help="top-activating dataset patches of a conv node, as PNG")
    patches.add_argument("run_dir")
    patches.add_argument("--node", required=True, help="node id of a convolution (or its activation)")
    patches.add_argument("-k", type=int, default=9, help="patches per channel")
    patches.add_argument("-o", "--output", required=True, help="PNG file to write")
    patches.add_argument("--scale", choices=("patch", "row"), default="patch",
                         help="patch: each patch min-max scaled on its own (default); row: one scale per "
                              "channel's row, so a weak channel's patches stay faint")
    patches.add_argument("--channels", type=_positive, default=32, metavar="N",
                         help="rows: the first N channels (default 32)")
    patches.set_defaults(run=cmd_patches)

    sample = sub.add_parser("sample", help="generate text from a character model's run, or decode a source "
                                           "with an encoder–decoder's run")
    sample.add_argument("run_dir")
    sample.add_argument("--length", type=int, default=400)
    sample.add_argument("--temperature", type=float, default=None,
                        help="sampling temperature (character models: default 0.8; encoder–decoders: "
                             "default greedy)")
    sample.add_argument("--beam", type=int, default=0,
                        help="beam width K (1 = greedy; 0 = sample); an encoder–decoder prints the K best")
    sample.add_argument("--prompt", default="The ")
    sample.add_argument("--source", help="encoder–decoder runs: the sentence to translate")
    sample.add_argument("--image", help="captioning runs: the image to caption")
    sample.add_argument("--alpha", type=float, default=1.0,
                        help="beam search length normalisation: score = log P / length^alpha (0 = off)")
    sample.add_argument("--seed", type=int, default=None)
    sample.set_defaults(run=cmd_sample)
