"""Undo through the editor's front door: random gestures on ``EditorController`` interleaved with
undo and redo, as a hypothesis state machine.

The model is the file text after every step of the undo stack: ``states[i]`` is what the graph
serialises to when the stack's index is ``i``. After every rule the graph must be exactly the
state of the current index; undoing everything gives back the original file byte for byte, and
redoing everything gives back the newest one. Only the controller's public methods and
``document.undo_stack`` are used, so the machine holds whatever the Document and Graph do inside.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test,
)

from app.controller import EditorController
from app.document import Document
from graph_engine import dumps, get_spec, layer_types, load_template

TYPES = [s.type for s in layer_types()]
TEMPLATES = ["mlp", "digits_cnn", "lenet5", "resnet_style"]
POSITIONS = st.tuples(st.integers(-900, 900).map(float), st.integers(-900, 900).map(float))

#: training settings: values the settings accept, and a few they refuse (nothing may change then)
TRAINING_CHANGES = st.one_of(
    st.fixed_dictionaries({"epochs": st.integers(0, 40)}),
    st.fixed_dictionaries({"batch_size": st.integers(0, 300)}),
    st.fixed_dictionaries({"learning_rate": st.sampled_from([1e-4, 1e-3, 0.01, 0.5, -1.0])}),
    st.fixed_dictionaries({"optimizer": st.sampled_from(["sgd", "adam", "adamw", "rmsprop", "lbfgs"])}),
    st.fixed_dictionaries({"schedule": st.sampled_from(["constant", "step", "cosine"]),
                           "warmup_steps": st.integers(0, 50)}),
    st.fixed_dictionaries({"dataset": st.sampled_from(["digits", "shapes", "python-docs"])}),
    st.fixed_dictionaries({"validation_fraction": st.sampled_from([0.1, 0.2, 0.5, 0.95])}),
)


def _param_value(draw, spec):
    """A value for ``spec``, sometimes out of range (the controller must refuse it cleanly)."""
    if spec.kind == "bool":
        return draw(st.booleans())
    if spec.kind == "choice":
        return draw(st.sampled_from(spec.choices))
    if spec.kind == "float":
        low = spec.minimum if spec.minimum is not None else -1.0
        return draw(st.sampled_from([low, low + 0.25, low + 0.5, low - 1.0]))
    if spec.kind == "shape":
        return draw(st.lists(st.integers(1, 8), min_size=spec.min_length, max_size=min(3, spec.max_length)))
    low = int(spec.minimum if spec.minimum is not None else 0)
    return draw(st.integers(low - 1, low + 5))


class ControllerUndoMachine(RuleBasedStateMachine):
    """Gestures through EditorController; undo and redo anywhere in between."""

    @initialize(template=st.sampled_from(TEMPLATES))
    def open_template(self, template):
        self.document = Document(load_template(template))
        self.controller = EditorController(self.document)
        self.states = [self._text()]

    # -- the model ------------------------------------------------------------------
    @property
    def stack(self):
        return self.document.undo_stack

    def _text(self) -> str:
        return dumps(self.controller.graph)

    def _after_gesture(self, before: tuple[int, int]) -> None:
        """Record what a gesture did to the stack: a new step (or a merged one) on top, or none."""
        index, count = self.stack.index(), self.stack.count()
        if (index, count) == before and index < count:
            return  # nothing pushed: the redo steps are kept, and the invariant checks the file
        if (index, count) == before and self._text() == self.states[index]:
            return  # nothing pushed, or a merge that ended where it began
        assert index == count, "a gesture leaves its step on top of the stack"
        del self.states[index:]
        self.states.append(self._text())

    def _gesture(self, act) -> None:
        before = (self.stack.index(), self.stack.count())
        act()
        self._after_gesture(before)

    def _ids(self) -> list[str]:
        return list(self.controller.graph.nodes)

    # -- gestures -------------------------------------------------------------------
    @rule(type_name=st.sampled_from(TYPES), position=POSITIONS, data=st.data())
    def add_layer(self, type_name, position, data):
        ids = self._ids()
        after = data.draw(st.sampled_from(ids)) if ids and data.draw(st.booleans()) else None
        self._gesture(lambda: self.controller.add_layer(type_name, position, after=after))

    @rule(data=st.data())
    def delete(self, data):
        ids, edges = self._ids(), self.controller.graph.edges
        chosen = data.draw(st.lists(st.sampled_from(ids), max_size=2, unique=True)) if ids else []
        cut = data.draw(st.lists(st.sampled_from(edges), max_size=2, unique=True)) if edges else []
        self._gesture(lambda: self.controller.delete(chosen, cut))

    @precondition(lambda self: len(self.controller.graph.nodes) > 0)
    @rule(data=st.data(), port=st.integers(0, 2))
    def connect_or_reconnect(self, data, port):
        """Any two ports: a new edge, a reconnection of a used port, or a refused cycle."""
        ids = self._ids()
        source, target = data.draw(st.sampled_from(ids)), data.draw(st.sampled_from(ids))
        self._gesture(lambda: self.controller.connect_ports(source, target, port))

    @precondition(lambda self: len(self.controller.graph.edges) > 0)
    @rule(data=st.data())
    def reconnect_a_used_port(self, data):
        edge = data.draw(st.sampled_from(self.controller.graph.edges))
        source = data.draw(st.sampled_from(self._ids()))
        self._gesture(lambda: self.controller.connect_ports(source, edge.target, edge.port))

    @precondition(lambda self: len(self.controller.graph.nodes) > 0)
    @rule(data=st.data())
    def move(self, data):
        graph = self.controller.graph
        chosen = data.draw(st.lists(st.sampled_from(self._ids()), min_size=1, max_size=3, unique=True))
        moves = {n: (graph.node(n).position or (0.0, 0.0), data.draw(POSITIONS)) for n in chosen}
        self._gesture(lambda: self.controller.move_nodes(moves))

    def _with_params(self) -> list[str]:
        return [n.id for n in self.controller.graph if get_spec(n.type) and get_spec(n.type).params]

    @precondition(lambda self: len(self._with_params()) > 0)
    @rule(data=st.data(), continuing=st.booleans())
    def edit_params(self, data, continuing):
        node = self.controller.graph.node(data.draw(st.sampled_from(self._with_params())))
        param = data.draw(st.sampled_from(get_spec(node.type).params))
        changes = {param.name: _param_value(data.draw, param)}
        self._gesture(lambda: self.controller.edit_params(node.id, changes, continuing))

    @rule(changes=TRAINING_CHANGES, continuing=st.booleans())
    def edit_training(self, changes, continuing):
        self._gesture(lambda: self.controller.edit_training(changes, continuing))

    @precondition(lambda self: len(self.controller.graph.nodes) > 0)
    @rule(data=st.data(), label=st.text(max_size=5))
    def set_label(self, data, label):
        node_id = data.draw(st.sampled_from(self._ids()))
        self._gesture(lambda: self.controller.set_label(node_id, label))

    @rule(data=st.data())
    def fix_or_break(self, data):
        """Apply a fix the analysis offers; with none on offer, make one: take out a Flatten and
        feed its input to its consumer (a Linear fed an image), or else add a Linear after a
        convolution."""
        fixable = [d for d in self.document.analysis.diagnostics if d.fix]
        if fixable:
            diagnostic = data.draw(st.sampled_from(fixable))
            self._gesture(lambda: self.controller.apply_fix(diagnostic))
            return
        graph = self.controller.graph
        flattens = [n.id for n in graph if n.type == "Flatten"
                    and any(e.target == n.id for e in graph.edges) and any(e.source == n.id for e in graph.edges)]
        if flattens:
            self._bypass(data.draw(st.sampled_from(flattens)))
            return
        convs = [n.id for n in graph if n.type == "Conv2d"]
        if convs:
            after = data.draw(st.sampled_from(convs))
            self._gesture(lambda: self.controller.add_layer("Linear", after=after))

    @precondition(lambda self: len(self.controller.graph.nodes) > 0)
    @rule(data=st.data())
    def bypass_a_node(self, data):
        """Delete a node and wire its input to its consumer, in two gestures."""
        self._bypass(data.draw(st.sampled_from(self._ids())))

    def _bypass(self, node_id: str) -> None:
        graph = self.controller.graph
        inputs = [e.source for e in graph.edges if e.target == node_id]
        outputs = [(e.target, e.port) for e in graph.edges if e.source == node_id]
        self._gesture(lambda: self.controller.delete([node_id]))
        if inputs and outputs:
            (target, port) = outputs[0]
            self._gesture(lambda: self.controller.connect_ports(inputs[0], target, port))

    @rule()
    def auto_layout(self):
        self._gesture(self.controller.auto_layout)

    @precondition(lambda self: len(self.controller.graph.nodes) > 0)
    @rule(data=st.data(), offset=POSITIONS)
    def copy_and_paste(self, data, offset):
        chosen = data.draw(st.lists(st.sampled_from(self._ids()), min_size=1, max_size=4, unique=True))
        text = self.controller.copy(chosen)
        if data.draw(st.integers(0, 4)) == 0:  # now and then the clipboard holds something else
            text = data.draw(st.sampled_from(['{"nodes": [{}], "edges": []}', "[1, 2]", "hello", ""]))
        self._gesture(lambda: self.controller.paste(text, offset))

    @precondition(lambda self: len(self.controller.graph.nodes) > 0)
    @rule(data=st.data())
    def duplicate(self, data):
        chosen = data.draw(st.lists(st.sampled_from(self._ids()), min_size=1, max_size=3, unique=True))
        self._gesture(lambda: self.controller.duplicate(chosen))

    # -- undo and redo --------------------------------------------------------------
    @precondition(lambda self: self.stack.canUndo())
    @rule(times=st.integers(1, 4))
    def undo(self, times):
        for _ in range(times):
            if self.stack.canUndo():
                self.stack.undo()

    @precondition(lambda self: self.stack.canRedo())
    @rule(times=st.integers(1, 4))
    def redo(self, times):
        for _ in range(times):
            if self.stack.canRedo():
                self.stack.redo()

    @rule()
    def undo_everything_then_redo_everything(self):
        self._undo_all_and_redo_all()

    def _undo_all_and_redo_all(self) -> None:
        index = self.stack.index()
        while self.stack.canUndo():
            self.stack.undo()
        assert self._text() == self.states[0], "undoing everything gives back the original file"
        assert not self.document.dirty
        while self.stack.canRedo():
            self.stack.redo()
        assert self._text() == self.states[-1], "redoing everything replays to the newest file"
        self.stack.setIndex(index)

    # -- the invariant --------------------------------------------------------------
    @invariant()
    def the_file_is_the_state_of_the_stacks_index(self):
        if not hasattr(self, "document"):
            return
        assert len(self.states) == self.stack.count() + 1
        assert self._text() == self.states[self.stack.index()]

    def teardown(self):
        if hasattr(self, "document"):
            self._undo_all_and_redo_all()


def test_controller_gestures_undo_and_redo_to_the_same_files(qapp):
    run_state_machine_as_test(ControllerUndoMachine, settings=settings(
        max_examples=40, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.too_slow]))
