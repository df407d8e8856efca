"""Incremental decoding (issue 12): the graph transform that runs an encoder once and a
decoder one step at a time equals re-running the whole prefix, and beam search with a STOP
symbol finds the maximum-likelihood sequence when its width covers every sequence."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from graph_engine import Graph, analyze, compile_graph
from graph_engine.probes import beam_search, sample_text
from graph_engine.probes import decoding
from graph_engine.probes.incremental import DecodingError, IncrementalDecoder, split_decoder
from graph_engine.templates import load_template

S, T, V_SRC, V_TGT, HIDDEN = 6, 5, 9, 7, 12


def translator(cell: str = "LSTM", layers: int = 1, hidden: int = HIDDEN, vocab: int = V_TGT,
               length: int = T) -> Graph:
    """source tokens → Embedding → encoder; (h_n, c_n) → decoder's state; tokens → Embedding →
    decoder → Linear → logits."""
    graph = Graph("Tiny translator")
    graph.create_node("Input", {"shape": [S], "dtype": "int64"}, node_id="source")
    graph.create_node("Embedding", {"num_embeddings": V_SRC, "embedding_dim": 5}, node_id="src_embed")
    rnn = {"hidden_size": hidden, "num_layers": layers}
    graph.create_node(cell, {**rnn, "return_sequences": False}, node_id="encoder")
    graph.create_node("Input", {"shape": [length], "dtype": "int64"}, node_id="target_in")
    graph.create_node("Embedding", {"num_embeddings": vocab, "embedding_dim": 4}, node_id="tgt_embed")
    graph.create_node(cell, rnn, node_id="decoder")
    graph.create_node("Tanh", {}, node_id="squash")
    graph.create_node("Linear", {"out_features": vocab}, node_id="head")
    graph.create_node("Output", {}, node_id="logits")
    for a, b in (("source", "src_embed"), ("src_embed", "encoder"), ("target_in", "tgt_embed"),
                 ("tgt_embed", "decoder"), ("decoder", "squash"), ("squash", "head"), ("head", "logits")):
        graph.connect(a, b)
    graph.connect("encoder", "decoder", port=1, source_port=1)
    if cell == "LSTM":
        graph.connect("encoder", "decoder", port=2, source_port=2)
    return graph


@pytest.mark.parametrize("cell,layers", [("LSTM", 2), ("GRU", 1), ("RNN", 2)])
def test_incremental_decoding_equals_rerunning_the_prefix(cell, layers):
    graph = translator(cell, layers)
    torch.manual_seed(0)
    model = compile_graph(graph, device="cpu").double().eval()
    decoder = IncrementalDecoder(model, graph)
    assert decoder.split.decoder_input == "target_in" and decoder.split.context_inputs == ("source",)
    assert decoder.split.connected_states == ["decoder"]
    source = torch.randint(0, V_SRC, (3, S))
    target = torch.randint(0, V_TGT, (3, T))
    with torch.no_grad():
        full = model(source, target)
        state = decoder.start(source)
        steps = []
        for t in range(T):
            logits, state = decoder.step(target[:, t:t + 1], state)
            steps.append(logits)
        incremental = torch.cat(steps, 1)
        # a prefix fed at once gives the same state as feeding it token by token
        _, at_once = decoder.step(target[:, :3], decoder.start(source))
        logits, _ = decoder.step(target[:, 3:4], at_once)
    assert (full - incremental).abs().max() < 1e-6
    assert (full[:, 3:4] - logits).abs().max() < 1e-6


def test_char_lstm_sampling_is_incremental_and_equals_the_window():
    graph = load_template("char_lstm")
    torch.manual_seed(1)
    model = compile_graph(graph, device="cpu").double().eval()
    decoder = IncrementalDecoder(model, graph)
    assert decoder.split.context_inputs == () and decoder.step_module.code.count("self.lstm(") == 1
    tokens = torch.randint(0, 128, (2, 64))
    with torch.no_grad():
        full = model(tokens)
        state = decoder.start(batch=2)
        steps = []
        for t in range(64):
            logits, state = decoder.step(tokens[:, t:t + 1], state)
            steps.append(logits)
    assert (full - torch.cat(steps, 1)).abs().max() < 1e-6
    vocabulary = "".join(chr(i) for i in range(128))
    # within one window the windowed re-run and the incremental decoder choose the same characters
    window = sample_text(model, vocabulary, "The ", 40, temperature=0, window=64)
    assert sample_text(model, vocabulary, "The ", 40, temperature=0, graph=graph) == window
    assert beam_search(model, vocabulary, "The ", 20, 3, window=64) == beam_search(
        model, vocabulary, "The ", 20, 3, graph=graph)


def test_the_decoder_step_shares_the_trained_layers():
    graph = translator()
    model = compile_graph(graph, device="cpu")
    decoder = IncrementalDecoder(model, graph)
    assert decoder.step_module.decoder is model.decoder and decoder.context_module.encoder is model.encoder
    # the step graph is an ordinary graph: one token, the encoder's state, and the states as Inputs
    assert "def forward(self, target_in, context_0, context_1, decoder_h0, decoder_c0)" in decoder.step_module.code


def _tiny(vocab: int = 3, length: int = 3) -> tuple[Graph, torch.nn.Module]:
    graph = translator("GRU", 1, hidden=4, vocab=vocab, length=length)
    torch.manual_seed(3)
    model = compile_graph(graph, device="cpu").double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)  # sharp, varied distributions: greedy is not optimal
    return graph, model


def _all_sequences(vocab: int, length: int, stop: int):
    """Every output: tokens ending with STOP within ``length`` steps, or ``length`` tokens without it."""
    for n in range(1, length + 1):
        for body in itertools.product([v for v in range(vocab) if v != stop], repeat=n - 1):
            yield (*body, stop)
    yield from itertools.product([v for v in range(vocab) if v != stop], repeat=length)


def test_beam_search_of_width_v_to_the_t_finds_the_most_likely_sequence():
    vocab, length, start, stop = 3, 3, 0, 2
    graph, model = _tiny(vocab, length)
    decoder = IncrementalDecoder(model, graph)
    found_better_than_greedy = False
    for seed in range(4):
        source = torch.randint(0, V_SRC, (1, S), generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            state = decoder.start(source)
            scored = {seq: decoding.sequence_log_prob(decoder, state, start, list(seq), vocab)
                      for seq in _all_sequences(vocab, length, stop)}
            best = max(scored, key=scored.get)
            beams = decoding.beam_search(decoder, state, start, stop, length, vocab, beam_width=vocab ** length,
                                         alpha=0.0)
            greedy = decoding.beam_search(decoder, state, start, stop, length, vocab, beam_width=1, alpha=0.0)
        assert beams[0].tokens == best
        assert math.isclose(beams[0].log_prob, scored[best], abs_tol=1e-9)
        assert len(beams) == len(scored)  # nothing was pruned
        assert sorted(round(b.log_prob, 9) for b in beams) == sorted(round(v, 9) for v in scored.values())
        found_better_than_greedy |= greedy[0].tokens != best
    assert found_better_than_greedy  # the check has teeth: greedy misses the best somewhere


def test_greedy_batch_decoding_equals_beam_of_width_one():
    graph, model = _tiny(5, 4)
    decoder = IncrementalDecoder(model, graph)
    sources = torch.randint(0, V_SRC, (4, S), generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        tokens, totals = decoding.greedy(decoder, decoder.start(sources), 0, 2, 4, 5)
        for row in range(4):
            (one,) = decoding.beam_search(decoder, decoder.start(sources[row:row + 1]), 0, 2, 4, 5, 1, alpha=0.0)
            ids = tokens[row].tolist()
            ids = ids[:ids.index(2) + 1] if 2 in ids else ids
            assert tuple(ids) == one.tokens and math.isclose(float(totals[row]), one.log_prob, abs_tol=1e-9)


def test_length_normalisation_ranks_by_mean_log_probability():
    assert decoding.length_normalised(-6.0, 3, 1.0) == -2.0
    assert decoding.length_normalised(-6.0, 3, 0.0) == -6.0


def test_graphs_that_cannot_decode_step_by_step_say_why():
    graph = translator()
    graph.set_params("decoder", {"bidirectional": True})
    graph.set_params("encoder", {"num_layers": 2})  # the decoder's state is now 2×H
    with pytest.raises(DecodingError, match="reads the sequence backwards"):
        split_decoder(graph, analyze(graph))
    graph = load_template("char_lstm")
    graph.set_params("lstm", {"return_sequences": False})
    graph.set_params("next_char", {"out_features": 128})
    analysis = analyze(graph)
    with pytest.raises(DecodingError, match="returns only its last step"):
        split_decoder(graph, analysis)


def test_a_maxout_on_the_decoder_path_is_refused_before_the_step_graph_is_built():
    """Maxout groups dim 0, which in a (T, F) sequence is time: it once passed the per-step
    check as an activation and then failed while the step graph was built."""
    graph = load_template("seq2seq_translator")
    graph.remove_edge(next(e for e in graph.edges if (e.source, e.target) == ("decoder", "next_token")))
    graph.create_node("Maxout", {}, node_id="pieces")
    graph.connect("decoder", "pieces")
    graph.connect("pieces", "next_token")
    analysis = analyze(graph)
    assert analysis.errors == []
    with pytest.raises(DecodingError, match=r"'pieces' \(Maxout\) on the decoder path takes the maximum over "
                                            r"groups of dim 0, which for a \(T, F\) sequence are time steps"):
        split_decoder(graph, analysis)
    graph = translator()
    graph.create_node("Softmax", {"dim": 1}, node_id="features_softmax")  # on features: still per step
    edge = next(e for e in graph.edges if e.target == "logits")
    graph.remove_edge(edge)
    graph.connect(edge.source, "features_softmax")
    graph.connect("features_softmax", "logits")
    split_decoder(graph, analyze(graph))
