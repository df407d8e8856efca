"""The fast decoder step of a character model (graph_engine/probes/chain_step.py): the same
logits as the full model to 1e-6, the same greedy text as re-running the window, draws from
softmax(logits / T), progress and stopping, and the graphs it leaves to the fx step."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

from graph_engine import Graph, compile_graph
from graph_engine.probes import beam_search, sample_text
from graph_engine.probes.chain_step import PROGRESS_EVERY, ChainStep
from graph_engine.probes.sampling import decoder_for
from graph_engine.templates import load_template

VOCAB = 11


def char_model(cell: str, layers: int, head: tuple[str, ...] = ("Linear",), hidden: int = 16) -> Graph:
    graph = Graph(f"tiny {cell}")
    graph.create_node("Input", {"shape": [12], "dtype": "int64"}, node_id="chars")
    graph.create_node("Embedding", {"num_embeddings": VOCAB, "embedding_dim": 5}, node_id="embed")
    graph.create_node(cell, {"hidden_size": hidden, "num_layers": layers}, node_id="rnn")
    previous = "rnn"
    graph.connect("chars", "embed")
    graph.connect("embed", "rnn")
    for k, kind in enumerate(head):
        node_id = f"head{k}"
        graph.create_node(kind, {"out_features": VOCAB} if kind == "Linear" else {}, node_id=node_id)
        graph.connect(previous, node_id)
        previous = node_id
    graph.create_node("Output", {}, node_id="logits")
    graph.connect(previous, "logits")
    return graph


def _built(model, graph) -> ChainStep:
    chain = ChainStep.build(model, graph, decoder_for(model, graph).split)
    assert chain is not None
    return chain


@pytest.mark.parametrize("cell,layers,head", [("LSTM", 2, ("Linear",)), ("GRU", 2, ("Linear",)),
                                              ("RNN", 1, ("Linear", "Dropout")), ("LSTM", 3, ("Linear",)),
                                              ("GRU", 1, ("LayerNorm", "Linear", "ReLU", "Linear"))])
def test_the_chain_step_equals_the_full_model(cell, layers, head):
    graph = char_model(cell, layers, head)
    torch.manual_seed(3)
    model = compile_graph(graph, device="cpu").eval()
    tokens = torch.randint(0, VOCAB, (1, 12))
    with torch.inference_mode():
        full = model(tokens)
        decoder = decoder_for(model, graph)
        _, state = decoder.step(tokens[:, :4], decoder.start(batch=1))
        chain = _built(model, graph)
        chain.load(state.states)
        steps = torch.cat([chain.logits(tokens[0, t:t + 1]).clone() for t in range(4, 12)])
    assert (full[0, 4:] - steps).abs().max() < 1e-6


def test_char_lstm_chain_step_equals_the_window_and_the_fx_step():
    graph = load_template("char_lstm")
    torch.manual_seed(1)
    model = compile_graph(graph, device="cpu").eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(2.0)  # sharper distributions than the initial weights' near-uniform ones
    vocabulary = "".join(chr(i) for i in range(128))
    tokens = torch.randint(0, 128, (1, 64))
    with torch.inference_mode():
        full = model(tokens)
        decoder = decoder_for(model, graph)
        _, state = decoder.step(tokens[:, :1], decoder.start(batch=1))
        chain = _built(model, graph)
        chain.load(state.states)
        steps = torch.cat([chain.logits(tokens[0, t:t + 1]).clone() for t in range(1, 64)])
    assert (full[0, 1:] - steps).abs().max() < 1e-6
    greedy = sample_text(model, vocabulary, "The ", 50, temperature=0, window=64)
    assert sample_text(model, vocabulary, "The ", 50, temperature=0, graph=graph) == greedy
    assert sample_text(model, vocabulary, "The ", 50, temperature=0, graph=graph, fast_path=False) == greedy
    assert sample_text(model, vocabulary, "The ", 60, 0.8, seed=4, graph=graph) == sample_text(
        model, vocabulary, "The ", 60, 0.8, seed=4, graph=graph)


def test_the_chain_step_draws_from_the_softmax_at_the_temperature():
    graph = char_model("GRU", 1)
    torch.manual_seed(0)
    model = compile_graph(graph, device="cpu").eval()
    with torch.no_grad():  # logits = the head's bias at every step: each character an independent draw
        model.head0.weight.zero_()
        model.head0.bias.copy_(torch.linspace(-2.0, 2.5, VOCAB))
    vocabulary = "abcdefghijk"
    temperature = 0.7
    expected = torch.softmax(model.head0.bias.detach() / temperature, -1)
    draws = 20000
    text = sample_text(model, vocabulary, "abc", draws, temperature, seed=5, graph=graph)
    counts = torch.tensor([text.count(char) for char in vocabulary], dtype=torch.float32)
    # each frequency within 5 standard errors of its probability
    error = (counts / draws - expected).abs()
    bound = 5 * torch.sqrt(expected * (1 - expected) / draws) + 1e-4
    assert bool((error <= bound).all()), (counts / draws, expected)


@settings(max_examples=15, deadline=None)
@given(length=st.integers(1, 70), stop_at=st.integers(1, 80), beam=st.integers(0, 3))
def test_progress_counts_up_and_a_stop_returns_the_text_so_far(length, stop_at, beam):
    graph = char_model("LSTM", 1)
    torch.manual_seed(0)
    model = compile_graph(graph, device="cpu").eval()
    heard: list[int] = []

    def progress(done: int) -> bool:
        heard.append(done)
        return done < stop_at

    vocabulary = "abcdefghijk"
    if beam:
        text = beam_search(model, vocabulary, "ab", length, beam, graph=graph, progress=progress)
    else:
        text = sample_text(model, vocabulary, "ab", length, 0.9, seed=1, graph=graph, progress=progress)
    assert heard == sorted(heard) and heard[-1] == len(text)
    assert all(done % PROGRESS_EVERY == 0 or done == length for done in heard)
    expected_stop = next((d for d in range(PROGRESS_EVERY, length, PROGRESS_EVERY) if d >= stop_at), length)
    assert len(text) == min(length, expected_stop)
    if not beam:  # the text so far is the start of the whole text
        whole = sample_text(model, vocabulary, "ab", length, 0.9, seed=1, graph=graph)
        assert whole.startswith(text)


def test_graphs_that_are_not_a_plain_chain_use_the_fx_step():
    from graph_engine.probes.incremental import IncrementalDecoder

    translator = load_template("seq2seq_translator")
    torch.manual_seed(0)
    model = compile_graph(translator, device="cpu").eval()
    assert ChainStep.build(model, translator, IncrementalDecoder(model, translator).split) is None
    squashed = char_model("GRU", 1, ("Sign", "Linear"))  # a layer the chain step does not compute
    model = compile_graph(squashed, device="cpu").eval()
    assert ChainStep.build(model, squashed, decoder_for(model, squashed).split) is None
    greedy = sample_text(model, "abcdefghijk", "abc", 12, temperature=0, window=12)
    assert sample_text(model, "abcdefghijk", "abc", 12, temperature=0, graph=squashed) == greedy
    graph = char_model("LSTM", 1)
    model = compile_graph(graph, device="cpu")
    assert ChainStep.build(model.train(), graph, decoder_for(model, graph).split) is None  # dropout would act
    assert math.isfinite(len(sample_text(model.eval(), "abcdefghijk", "a", 5, 1.0, seed=0, graph=graph)))


def test_the_steps_run_on_one_thread_and_the_thread_count_comes_back():
    graph = char_model("LSTM", 1)
    torch.manual_seed(0)
    model = compile_graph(graph, device="cpu").eval()
    seen: list[int] = []
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        sample_text(model, "abcdefghijk", "ab", 40, 1.0, seed=0, graph=graph,
                    progress=lambda done: seen.append(torch.get_num_threads()))
        assert seen and set(seen) == {1}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
