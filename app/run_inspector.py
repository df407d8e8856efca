"""Pictures computed from a run's checkpoint, off the GUI thread.

Top-activating patches, one sample's feature maps and generated text need the
trained model and the dataset, which take seconds to compute on a big run. The
inspector opens a run folder once (model + data, cached until its checkpoint
changes), runs one job at a time in a worker thread, drops a queued job when a
newer one with the same key arrives, and hands each result (or a one-line error)
to its callback on the GUI thread. A job's programming error (not a JobError, nor a
data or file problem) leaves its traceback in the run folder's ``error.txt``, which
the one line names.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.background import BackgroundWorker

from graph_engine.analysis import Analysis
from graph_engine.training.failures import failure_text
from graph_engine.training.snapshot import RunSnapshot

if TYPE_CHECKING:  # the jobs import the probes and torch in the worker: the window's start-up does not
    import torch

    from graph_engine.training.replay import OpenedRun


@dataclass
class LoadedRun:
    """A run folder opened for inspection: model (eval mode, CPU), data, analysis."""

    opened: OpenedRun
    analysis: Analysis
    #: every input of the dataset (train then validation), shaped for the graph
    x_all: torch.Tensor
    #: index of the first validation sample in ``x_all``
    validation_start: int
    key: tuple
    #: encoder–decoders: each validation sample's true outputs and its label (phrase or caption)
    references: list | None = None
    labels: list | None = None
    #: encoder–decoders: the model ready to decode (made on first use)
    seq2seq: Any = None

    @property
    def step(self) -> int:
        return int(self.opened.checkpoint["step"])


@dataclass
class PatchDetail:
    """One top patch in its whole image: the image, the box, and the channel's map."""

    image: np.ndarray  # (C, H, W) uint8
    box: tuple[int, int, int, int]  # y0, x0, y1, x1 in input pixels
    activation: np.ndarray  # (h, w) uint8: that channel's map for the image
    sample_index: int
    channel: int
    value: float
    #: (C, h, w) uint8: the patch again at full resolution (the grid keeps it downscaled)
    crop: np.ndarray | None = None


@dataclass
class Decoded:
    """An encoder–decoder's outputs for one source: greedy and the beam's candidates, against
    the truth (for a validation sample)."""

    step: int
    source: str
    #: (H, W, 3) uint8 of a captioning run's image, else None
    image: np.ndarray | None
    greedy: Any
    beam: list
    beam_width: int
    references: list[str]
    #: log P(first reference | source) under the model, when there is a reference
    truth_log_prob: float | None


#: a generation's progress is told at most this often (seconds), and after its last character
PROGRESS_S = 0.05


class JobError(Exception):
    """A job failed; the message is one line for the panel to show."""


def _checkpoint_key(run_dir: Path) -> tuple:
    stamps = []
    for name in ("best", "last"):
        path = run_dir / "checkpoints" / f"{name}.safetensors"
        stamps.append(path.stat().st_mtime_ns if path.exists() else 0)
    return (str(run_dir.resolve()), *stamps)


class RunInspector(QObject):
    """See the module docstring. Callbacks run on the GUI thread."""

    _delivered = Signal(object, object)
    #: a generation's characters done and total (emitted from the worker, at most every PROGRESS_S)
    generation_progress = Signal(int, int)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._worker = BackgroundWorker("rosenblatt-inspect")
        self._latest: dict[str, int] = {}
        self._lock = threading.Lock()
        self._counter = 0
        self._loaded: LoadedRun | None = None
        #: set to stop the generation under way (a newer request or Cancel)
        self._generation_stop = threading.Event()
        self._delivered.connect(self._deliver)

    def shutdown(self) -> None:
        self._worker.close()

    # -- the jobs -----------------------------------------------------------------
    def top_patches(self, run_dir: Path, node_id: str, callback: Callable[[Any], None], k: int = 9) -> None:
        """TopPatches of every channel of ``node_id`` over the whole dataset."""
        def job() -> Any:
            from graph_engine.probes import top_patches

            run = self.load(run_dir)
            return top_patches(run.opened.model, run.opened.graph, run.analysis, run.x_all, node_id, k=k,
                               step=run.step)
        self.submit("patches", job, callback, run_dir)

    def patch_detail(self, run_dir: Path, node_id: str, channel: int, sample_index: int,
                     box: tuple[int, int, int, int], value: float, callback: Callable[[Any], None]) -> None:
        """The whole input image of a patch and the channel's activation map over it."""
        def job() -> Any:
            from graph_engine.probes import feature_maps, to_uint8
            from graph_engine.probes.patches import full_crop

            run = self.load(run_dir)
            if not 0 <= sample_index < len(run.x_all):
                raise JobError(f"there is no sample {sample_index} in the dataset")
            x = run.x_all[sample_index]
            maps = feature_maps(run.opened.model, x, [node_id], max_channels=channel + 1)[node_id]
            image = to_uint8(x.reshape(1, -1).float()).reshape(x.shape).numpy()
            crop = full_crop(run.x_all, sample_index, box)
            return PatchDetail(image, tuple(int(v) for v in box), maps[channel], sample_index, channel, value,
                               crop)
        self.submit("patch_detail", job, callback, run_dir)

    def feature_maps(self, run_dir: Path, validation_index: int, node_ids: list[str],
                     callback: Callable[[Any], None]) -> None:
        """(step, {node: uint8 maps}, input sample) for one validation sample."""
        def job() -> Any:
            from graph_engine.probes import feature_maps

            run = self.load(run_dir)
            if not 0 <= validation_index < len(run.x_all) - run.validation_start:
                raise JobError(f"there is no validation sample {validation_index}")
            sample = run.x_all[run.validation_start + validation_index]
            return run.step, feature_maps(run.opened.model, sample, node_ids), sample.numpy()
        self.submit("feature_maps", job, callback, run_dir)

    def generate(self, run_dir: Path, prompt: str, length: int, temperature: float, beam: int,
                 callback: Callable[[Any], None], seed: int | None = None) -> None:
        """(step, text) from a character model: beam search when ``beam`` ≥ 1, else sampling.
        Progress goes out on :attr:`generation_progress`; :meth:`cancel_generation` (or a newer
        request) stops it, and the text so far is delivered."""
        self._generation_stop.set()  # a newer request: the one under way stops
        stop = self._generation_stop = threading.Event()
        last_told = [0.0]

        def progress(done: int) -> bool:
            now = time.monotonic()
            if done == length or now - last_told[0] >= PROGRESS_S:
                last_told[0] = now
                self._tell_progress(done, length)
            return not stop.is_set()

        def job() -> Any:
            from graph_engine.probes import beam_search, sample_text

            run = self.load(run_dir, data=False)
            vocabulary = run.opened.dataset.get("vocabulary")
            if not vocabulary:
                raise JobError("this run is not a character model's (its dataset has no vocabulary)")
            window = run.opened.dataset["sample_shape"][0]
            model = run.opened.model
            graph = run.opened.graph  # incremental: the decoder step carries the LSTM's state
            if beam >= 1:
                text = beam_search(model, vocabulary, prompt, length, beam_width=beam, window=window, graph=graph,
                                   progress=progress)
            else:
                text = sample_text(model, vocabulary, prompt, length, temperature=temperature,
                                   window=window, seed=seed, graph=graph, progress=progress)
            return run.step, text
        self.submit("generate", job, callback, run_dir)

    def cancel_generation(self) -> None:
        """Stop the generation under way; it delivers the text so far."""
        self._generation_stop.set()

    def _tell_progress(self, done: int, total: int) -> None:
        try:
            self.generation_progress.emit(done, total)
        except RuntimeError:  # the window closed while the job ran
            pass

    def decode(self, run_dir: Path, source: str, validation_index: int, beam: int,
               callback: Callable[[Any], None]) -> None:
        """:class:`Decoded` for a source sentence (``validation_index`` < 0) or a validation
        sample of an encoder–decoder's run: greedy decoding and beam search of width ``beam``."""
        def job() -> Any:
            run = self.load(run_dir, data=validation_index >= 0)
            model = self._seq2seq_model(run)
            references: list[str] = []
            image = None
            if validation_index >= 0:
                count = len(run.x_all) - run.validation_start
                if not 0 <= validation_index < count:
                    raise JobError(f"there is no validation sample {validation_index} (0..{count - 1})")
                x = run.x_all[run.validation_start + validation_index][None]
                references = list(run.references[validation_index]) if run.references else []
                label = run.labels[validation_index] if run.labels else str(validation_index)
            else:
                if model.image_source:
                    raise JobError("this run captions images: choose a validation image")
                x, label = model.encode_text(source), source
            if model.image_source:
                image = model.image_pixels(x[0])
            greedy = model.greedy(x)
            candidates = model.beam(x, max(1, beam))
            truth = model.log_prob(x, references[0]) if references else None
            return Decoded(model.step, label, image, greedy, candidates, max(1, beam), references, truth)
        self.submit("decode", job, callback, run_dir)

    def _seq2seq_model(self, run: LoadedRun) -> Any:
        from graph_engine.training.seq2seq_run import Seq2SeqModel

        if run.seq2seq is None:
            try:
                run.seq2seq = Seq2SeqModel(run.opened)
            except (ValueError, KeyError) as error:
                raise JobError(str(error)) from None
        return run.seq2seq

    # -- machinery ----------------------------------------------------------------
    def load(self, run_dir: Path, data: bool = True) -> LoadedRun:
        """The run's model and data (worker thread only). The model is reloaded when a
        checkpoint changes (during a run, after an epoch); the data only for another run."""
        run_dir = Path(run_dir)
        key = _checkpoint_key(run_dir)
        loaded = self._loaded
        if loaded is not None and loaded.key == key and (loaded.x_all is not None or not data):
            return loaded
        import torch

        from graph_engine.training.replay import open_run

        opened = open_run(run_dir)
        snapshot = RunSnapshot.of(opened.graph, copy=False)  # one analysis for the data and the jobs
        x_all, start, references, labels = None, 0, None, None
        if loaded is not None and loaded.key[0] == key[0] and loaded.x_all is not None:
            x_all, start = loaded.x_all, loaded.validation_start  # same run, newer weights
            references, labels = loaded.references, loaded.labels
        elif data:
            from graph_engine.training import load_dataset_for

            dataset = load_dataset_for(snapshot, opened.settings)
            x_all, start = torch.cat([dataset.x_train, dataset.x_val]), len(dataset.x_train)
            references, labels = dataset.extra.get("val_references"), dataset.extra.get("val_sources")
        loaded = LoadedRun(opened, snapshot.analysis, x_all, start, key, references, labels)
        self._loaded = loaded
        return loaded

    def submit(self, key: str, job: Callable[[], Any], callback: Callable[[Any], None],
               run_dir: Path | None = None) -> None:
        """Run ``job`` in the worker; a newer job with the same key makes this one moot.
        ``run_dir``: where a programming error's traceback goes (the run the job reads)."""
        with self._lock:
            self._counter += 1
            ticket = self._counter
            self._latest[key] = ticket

        def run() -> None:
            with self._lock:
                if self._latest.get(key) != ticket:
                    return  # superseded before it started
            try:
                result: Any = job()
            except JobError as error:
                result = error
            except Exception as error:  # noqa: BLE001 (shown in the panel, one line)
                result = JobError(failure_text(error, run_dir, f"inspector job {key!r}"))
            with self._lock:
                if self._latest.get(key) != ticket:
                    return
            try:
                self._delivered.emit(callback, result)
            except RuntimeError:  # the window closed while the job ran: nobody to tell
                pass

        self._worker.submit(run)

    def _deliver(self, callback: Callable[[Any], None], result: Any) -> None:
        callback(result)
