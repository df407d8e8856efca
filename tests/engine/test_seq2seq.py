"""The seq2seq task (issue 12): its data, vocabularies, refusals before the first step,
scheduled sampling, metrics, and decoding a run from its folder."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from graph_engine import load_template
from graph_engine.data import DataError
from graph_engine.data.captions import captions_for, draw_captioned
from graph_engine.data.number_words import number_to_words
from graph_engine.data.seq2seq import Seq2SeqFit, load_seq2seq
from graph_engine.data.tokens import BOS_ID, EOS_ID, PAD_ID, Vocabulary, encode_sources, encode_targets
from graph_engine.errors import CompileError
from graph_engine.training import FitError, Trainer, load_dataset_for, settings_from_dict
from graph_engine.training.seq2seq import _inverse_sigmoid_k, teacher_forcing

TEXT_FIT = Seq2SeqFit((12,), "int64", 12, (12, 64))


def test_number_words():
    assert number_to_words(4017) == "four thousand seventeen"
    assert number_to_words(0) == "zero" and number_to_words(90) == "ninety"
    assert number_to_words(99_999) == "ninety nine thousand nine hundred ninety nine"
    assert number_to_words(100_200) == "one hundred thousand two hundred"


def test_vocabularies_have_the_specials_first_and_round_trip():
    vocab = Vocabulary.build(["a red circle", "a blue square"], "word")
    assert vocab.tokens[:4] == ("<pad>", "<bos>", "<eos>", "<unk>") and len(vocab) == 4 + 5
    assert vocab.decode(vocab.encode("a blue circle") + [EOS_ID, 5]) == "a blue circle"
    assert vocab.encode("a green circle")[1] == 3  # <unk>
    assert Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict()))) == vocab
    chars = Vocabulary.build(["4017", "12"], "char")
    targets = encode_targets(chars, ["12"], 4)
    assert targets.tolist() == [[BOS_ID, chars.index["1"], chars.index["2"], EOS_ID, PAD_ID]]
    sources = encode_sources(chars, ["12"], 4, reverse=True)  # left-padded: the last step reads a token
    assert sources.tolist() == [[PAD_ID, PAD_ID, chars.index["2"], chars.index["1"]]]


def test_number_words_data_is_deterministic_and_shaped_for_the_graph():
    data = load_seq2seq("number-words", TEXT_FIT, seed=0, fraction=0.2)
    again = load_seq2seq("number-words", TEXT_FIT, seed=0, fraction=0.2)
    assert torch.equal(data.x_train, again.x_train) and torch.equal(data.y_val, again.y_val)
    assert data.task == "seq2seq" and data.x_train.shape == (16_000, 12) and data.y_train.shape == (16_000, 13)
    source, target = data.extra["source_vocabulary"], data.extra["target_vocabulary"]
    assert source.level == "word" and target.level == "char" and len(target) == 14
    i = 0
    assert target.decode(data.y_val[i, 1:].tolist()) == data.extra["val_references"][i][0]
    assert number_to_words(int(data.extra["val_references"][i][0])) == data.extra["val_sources"][i]
    reverse = load_seq2seq("digits-words", TEXT_FIT, seed=0, fraction=0.2)
    assert reverse.extra["source_vocabulary"].level == "char" and reverse.extra["target_vocabulary"].level == "word"


def test_captioned_scenes_say_what_they_show():
    images, captions = draw_captioned(40, 32, 48, seed=3)
    assert images.shape == (40, 3, 32, 48) and images.dtype == np.float32
    assert all(len(c) == 3 and len(set(c)) == 3 for c in captions)
    assert captions_for([("small", "red", "circle"), ("large", "blue", "square")]) == [
        "a small red circle left of a large blue square", "a large blue square right of a small red circle",
        "a small red circle and a large blue square"]
    again, _ = draw_captioned(40, 32, 48, seed=3)
    assert np.array_equal(images, again)
    fit = Seq2SeqFit((3, 32, 48), "float32", 18, (18, 48))
    data = load_seq2seq("shapes-captions", fit, seed=0, fraction=0.2)
    assert data.y_train.shape[1:] == (3, 19) and data.y_val.shape[1:] == (19,)  # 3 phrasings to learn from
    assert len(data.extra["val_references"][0]) == 3


def test_a_users_tsv_and_captions(tmp_path):
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("source\ttarget\nhello world\tbonjour le monde\ngood night\tbonne nuit\n"
                   "hello\tbonjour\nthank you\tmerci\nyes\toui\n", encoding="utf-8")
    data = load_seq2seq(str(tsv), TEXT_FIT, seed=0, fraction=0.2)
    assert data.extra["source_vocabulary"].level == "word" and len(data) == 5
    bad = tmp_path / "bad.tsv"
    bad.write_text("hello\tbonjour\ngood night\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.tsv: line 2 has 1 column; each line needs a source and a target"):
        load_seq2seq(str(bad), TEXT_FIT)
    folder = tmp_path / "pictures"
    folder.mkdir()
    from PIL import Image

    for name in ("a.png", "b.png", "c.png"):
        Image.new("RGB", (20, 10), (200, 30, 30)).save(folder / name)
    (folder / "captions.tsv").write_text("a.png\ta red square\na.png\tred\nb.png\ta red thing\nc.png\tred\n",
                                         encoding="utf-8")
    fit = Seq2SeqFit((3, 32, 48), "float32", 18, (18, 48))
    data = load_seq2seq(str(folder), fit, seed=0, fraction=0.34)
    assert data.x_train.shape[1:] == (3, 32, 48) and len(data) == 3
    (folder / "captions.tsv").write_text("a.png\ta red square\nmissing.png\ta cat\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"captions.tsv: line 2 names missing.png, which is not an image in"):
        load_seq2seq(str(folder), fit)


def _settings(graph, **overrides):
    return settings_from_dict(graph.training, **overrides)


def test_refusals_come_before_any_step_and_make_no_run_folder(tmp_path):
    graph = load_template("seq2seq_translator")
    graph.set_params("next_token", {"out_features": 10})  # the digits need 14 outputs
    settings = _settings(graph)
    with pytest.raises(FitError, match="target vocabulary has 14 tokens but the Output scores 10; set the last "
                                       "layer's out_features to at least 14"):
        Trainer(graph, load_dataset_for(graph, settings), settings, None, tmp_path / "run")
    graph = load_template("seq2seq_translator")
    graph.set_params("source_embed", {"num_embeddings": 20})
    with pytest.raises(FitError, match="source vocabulary has 34 tokens but 'source_embed' accepts 20"):
        Trainer(graph, load_dataset_for(graph, settings), settings, None, tmp_path / "run")
    graph = load_template("seq2seq_translator")
    for port in (1, 2):
        graph.remove_edge(next(e for e in graph.edges if e.target == "decoder" and e.port == port))
    with pytest.raises(CompileError, match=r"the decoder 'decoder' \(LSTM\) has no state port connected"):
        load_dataset_for(graph, settings)
    graph = load_template("seq2seq_translator")
    graph.set_params("target_in", {"shape": [4]})
    graph.set_params("source", {"shape": [4]})
    with pytest.raises(DataError, match=r"the longest source has 7 word tokens but the source Input holds 4"):
        load_dataset_for(graph, settings)
    with pytest.raises(DataError, match="digits is not sequence-to-sequence data"):
        load_dataset_for(load_template("seq2seq_translator"), _settings(graph, dataset="digits"))
    with pytest.raises(DataError, match="number-words is sequence-to-sequence data"):
        load_dataset_for(load_template("digits_cnn"), _settings(graph, dataset="number-words"))
    assert not (tmp_path / "run").exists()


def test_teacher_forcing_schedules():
    base = load_template("seq2seq_translator")
    off = _settings(base)
    assert teacher_forcing(off, 10_000) == 1.0
    assert teacher_forcing(_settings(base, scheduled_sampling="always"), 0) == 0.0
    for kind in ("linear", "exponential", "inverse_sigmoid"):
        s = _settings(base, scheduled_sampling=kind, sampling_midpoint=500)
        values = [teacher_forcing(s, i) for i in range(0, 3000, 50)]
        assert values[0] > 0.9 and all(a >= b for a, b in zip(values, values[1:]))
        assert math.isclose(teacher_forcing(s, 500), 0.5, abs_tol=1e-6)
    k = _inverse_sigmoid_k(500)
    assert math.isclose(k * math.log(k), 500, rel_tol=1e-9)
    floor = _settings(base, scheduled_sampling="linear", sampling_midpoint=10, sampling_floor=0.25)
    assert teacher_forcing(floor, 1000) == 0.25


@pytest.mark.parametrize("decay,tokens", [("off", "model"), ("linear", "model"), ("always", "uniform")])
def test_a_short_seq2seq_run_measures_and_saves_its_vocabularies(tmp_path, decay, tokens):
    graph = load_template("seq2seq_translator")
    graph.set_params("encoder", {"hidden_size": 32})
    graph.set_params("decoder", {"hidden_size": 32})
    settings = _settings(graph, epochs=1, scheduled_sampling=decay, sampling_tokens=tokens, sampling_midpoint=5,
                         probe_every=3, probe_unit="steps")
    data = load_dataset_for(graph, settings)
    keep = 640
    data.x_train, data.y_train = data.x_train[:keep], data.y_train[:keep]
    data.x_val, data.y_val = data.x_val[:200], data.y_val[:200]
    data.extra["val_references"] = data.extra["val_references"][:200]
    events = []
    result = Trainer(graph, data, settings, events.append, tmp_path / "run").run()
    assert result.status == "completed", result.message
    metrics = result.metrics
    assert set(metrics) == {"loss", "token_accuracy", "exact_match", "bleu"}
    assert 0 <= metrics["bleu"] <= 1 and 0 <= metrics["exact_match"] <= 1
    steps = [e for e in events if e["type"] == "step"]
    if decay == "off":
        assert all("teacher_forcing" not in e for e in steps)
    else:
        assert [e["teacher_forcing"] for e in steps] == [teacher_forcing(settings, e["step"] - 1) for e in steps]
    probes = {e["kind"]: e["data"] for e in events if e["type"] == "probe"}
    assert probes["translations"]["rows"][0]["references"] and "activations" in probes
    assert probes["encoder_states"]["points"].shape == (200, 2)
    saved = json.loads((tmp_path / "run" / "vocabularies.json").read_text())
    assert saved["source"]["level"] == "word" and saved["target"]["tokens"][:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    assert saved["reverse_source"] is True


def test_decoding_a_run_from_its_folder(tmp_path):
    from graph_engine.training.replay import open_run
    from graph_engine.training.seq2seq_run import Seq2SeqModel

    graph = load_template("seq2seq_translator")
    settings = _settings(graph, epochs=1, dataset="digits-words")
    data = load_dataset_for(graph, settings)
    data.x_train, data.y_train = data.x_train[:256], data.y_train[:256]
    data.x_val, data.y_val = data.x_val[:64], data.y_val[:64]
    data.extra["val_references"] = data.extra["val_references"][:64]
    Trainer(graph, data, settings, None, tmp_path / "run", probes=False).run()
    model = Seq2SeqModel(open_run(tmp_path / "run"))
    x = model.encode_text("4017")
    assert x.shape == (1, 12) and int(x[0, -1]) == model.source_vocab.index["4"]  # reversed, left-padded
    beams = model.beam(x, 3)
    assert len(beams) == 3 and beams[0].score >= beams[1].score >= beams[2].score
    greedy = model.greedy(x)
    assert math.isclose(model.log_prob(x, greedy.text), greedy.log_prob, abs_tol=1e-4) or not greedy.finished
    with pytest.raises(DataError, match="'x' is not in the source vocabulary"):
        model.encode_text("4x")
    with pytest.raises(DataError, match="this run translates text"):
        model.encode_image(tmp_path / "nothing.png")
