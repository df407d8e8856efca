"""graph_engine.data: built-in datasets shaped for each template, disk readers, and bad data.

Every file a reader sees is built here in tmp_path; nothing is downloaded.
"""

from __future__ import annotations

import gzip
from collections import Counter

import numpy as np
import pytest
import torch

from graph_engine.data import (
    BUILTIN_DATASETS, CLASSIFICATION, LANGUAGE_MODEL, REGRESSION, SEGMENTATION, SHAPE_CLASSES, DataError,
    Dataset, InputFit, infer_task, load_dataset,
)
from graph_engine.data.builtin import python_docs_text
from graph_engine.data.shapes import SEGMENTATION_CLASSES, draw_shapes
from graph_engine.data.text import UNKNOWN, build_vocabulary
from tests.engine.data_files import cifar_bytes, idx_bytes, write_cifar, write_idx, write_image_folder

TEN = (10,)
TOKENS = InputFit((64,), "int64", (64, 128))


def load(spec, shape, output=None, dtype="float32", **kwargs) -> Dataset:
    return load_dataset(str(spec), InputFit(tuple(shape), dtype, output), **kwargs)


def refuses(spec, shape, *fragments, output=None, dtype="float32", **kwargs) -> str:
    """Load must raise DataError with a one-line message containing every fragment."""
    with pytest.raises(DataError) as info:
        load(spec, shape, output, dtype, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def assert_classification(data: Dataset, shape, num_classes: int) -> None:
    assert data.task == CLASSIFICATION
    assert data.sample_shape == tuple(shape) == tuple(data.x_val.shape[1:])
    assert data.x_train.dtype == data.x_val.dtype == torch.float32
    assert data.y_train.dtype == data.y_val.dtype == torch.int64
    assert data.y_train.shape == (len(data.x_train),) and data.y_val.shape == (len(data.x_val),)
    assert data.num_classes == num_classes == len(data.class_names)
    for y in (data.y_train, data.y_val):
        assert 0 <= int(y.min()) and int(y.max()) < num_classes


# ----------------------------------------------------------------------------- the public surface

def test_public_names():
    assert BUILTIN_DATASETS == ("digits", "shapes", "shapes-segmentation", "python-docs", "python-source",
                                "blobs", "xor", "circles", "moons", "spiral")
    assert issubclass(DataError, ValueError)


# ----------------------------------------------------------------------------- built-ins

@pytest.mark.parametrize("shape", [(1, 8, 8), (64,), (8, 8), (1, 32, 32), (3, 16, 16)])
def test_digits_fits_every_template_shape(shape):
    data = load("digits", shape, TEN)
    assert_classification(data, shape, 10)
    assert (len(data.x_train), len(data.x_val)) == (1437, 360)
    assert data.class_names == [str(d) for d in range(10)]
    assert 0.0 <= float(data.x_train.min()) and float(data.x_train.max()) <= 1.0
    assert set(data.y_val.tolist()) == set(range(10))              # stratified: every class held out
    assert data.describe() == f"digits: 1437 train / 360 val, {'×'.join(map(str, shape))}, 10 classes"


def test_digits_layouts_are_the_same_pixels():
    image = load("digits", (1, 8, 8), TEN)
    flat, rows = load("digits", (64,), TEN), load("digits", (8, 8), TEN)
    assert torch.equal(image.x_train.reshape(-1, 64), flat.x_train)
    assert torch.equal(image.x_train[:, 0], rows.x_train)
    assert image.extra["natural_shape"] == (1, 8, 8)
    assert (image.extra["layout"], flat.extra["layout"], rows.extra["layout"]) == ("image", "flat", "rows")
    big = load("digits", (1, 32, 32), TEN)
    assert torch.equal(big.y_train, image.y_train)
    # upsampling a 1×8×8 digit keeps its mean brightness roughly
    assert abs(float(big.x_train.mean()) - float(image.x_train.mean())) < 0.02
    rgb = load("digits", (3, 8, 8), TEN)
    assert torch.equal(rgb.x_train[:, 0], rgb.x_train[:, 2])
    assert torch.equal(rgb.x_train[:, :1], image.x_train)


def test_digits_determinism_and_seeded_split():
    a, b = load("digits", (64,), TEN, seed=3), load("digits", (64,), TEN, seed=3)
    for name in ("x_train", "y_train", "x_val", "y_val"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    c = load("digits", (64,), TEN, seed=4)
    assert not torch.equal(a.x_val, c.x_val)
    assert len(load("digits", (64,), TEN, validation_fraction=0.5).x_val) == 899


def test_shapes_for_the_cnn_templates():
    data = load("shapes", (3, 32, 32), TEN)
    assert_classification(data, (3, 32, 32), 10)
    assert data.class_names == list(SHAPE_CLASSES) and len(SHAPE_CLASSES) == 10
    assert (len(data.x_train), len(data.x_val)) == (2400, 600)
    counts = torch.bincount(torch.cat([data.y_train, data.y_val]), minlength=10)
    assert counts.tolist() == [300] * 10
    assert torch.bincount(data.y_val, minlength=10).tolist() == [60] * 10
    assert 0.0 <= float(data.x_train.min()) and float(data.x_train.max()) <= 1.0
    assert float(data.x_train.std()) > 0.1


def test_shapes_are_drawn_at_the_inputs_size_and_deterministically():
    small = load("shapes", (1, 16, 20), (10,), seed=1)
    assert small.sample_shape == (1, 16, 20)
    again = load("shapes", (1, 16, 20), (10,), seed=1)
    assert torch.equal(small.x_train, again.x_train) and torch.equal(small.y_val, again.y_val)
    other = load("shapes", (1, 16, 20), (10,), seed=2)
    assert not torch.equal(small.x_train, other.x_train)
    flat = load("shapes", (3072,), TEN)                  # not an image Input: drawn at 32×32, flattened
    assert flat.sample_shape == (3072,)
    refuses("shapes", (8, 8), "shapes: 3×32×32 images do not fit the Input 8×8",
            "(1, H, W), (3, H, W) or (3072,)", output=TEN)


def test_drawing_3000_shapes_paints_each_class_in_one_batch(monkeypatch):
    """Vectorised: one mask computation per class over all its images, never one per image (how
    long it takes is measured in bench/shapes_drawing.py, not asserted here)."""
    from graph_engine.data import shapes

    batches = []

    def counted(mask):
        def draw(u, v):
            batches.append(u.shape)
            return mask(u, v)
        return draw

    monkeypatch.setattr(shapes, "_MASKS", tuple(counted(mask) for mask in shapes._MASKS))
    images, labels = draw_shapes(3000, 32, 32, seed=0)
    assert images.shape == (3000, 3, 32, 32) and images.dtype == np.float32 and labels.shape == (3000,)
    assert sorted(batches) == [(300, 32, 32)] * 10


def test_shapes_segmentation_for_the_unet():
    data = load("shapes-segmentation", (3, 32, 32), (6, 32, 32))
    assert data.task == SEGMENTATION and data.num_classes == 6
    assert data.class_names == list(SEGMENTATION_CLASSES) == [
        "background", "circle", "square", "triangle", "cross", "star"]
    assert data.x_train.shape == (2400, 3, 32, 32) and data.x_train.dtype == torch.float32
    assert data.y_train.shape == (2400, 32, 32) and data.y_train.dtype == torch.int64
    assert data.y_val.shape == (600, 32, 32)
    assert set(torch.unique(data.y_train).tolist()) == set(range(6))
    assert (data.y_train.reshape(2400, -1) > 0).any(dim=1).all()      # every image has a shape
    assert data.describe() == "shapes-segmentation: 2400 train / 600 val, 3×32×32, 6 classes"
    again = load("shapes-segmentation", (3, 32, 32), (6, 32, 32))
    assert torch.equal(data.y_train, again.y_train) and torch.equal(data.x_val, again.x_val)


def test_segmentation_masks_follow_the_output_size():
    data = load("shapes-segmentation", (3, 32, 32), (8, 16, 16))
    assert data.x_train.shape[1:] == (3, 32, 32) and data.y_train.shape[1:] == (16, 16)
    assert int(data.y_train.max()) <= 5
    refuses("shapes-segmentation", (3, 32, 32), "shapes-segmentation has 6 classes",
            "Output has 4 channels", "out_channels to 6", output=(4, 32, 32))
    refuses("shapes-segmentation", (3, 32, 32), "Output must be (K, H, W)", output=(6,))


@pytest.mark.parametrize("name", ["python-docs", "python-source"])
def test_text_corpora_for_the_char_lstm(name):
    data = load_dataset(name, TOKENS)
    assert data.task == LANGUAGE_MODEL
    assert data.x_train.dtype == data.y_train.dtype == data.x_val.dtype == torch.int64
    assert data.x_train.shape[1:] == data.y_train.shape[1:] == data.x_val.shape[1:] == (64,)
    assert len(data.vocabulary) == data.num_classes <= 128
    assert list(data.vocabulary) == sorted(set(data.vocabulary))
    assert 0 <= int(data.x_train.min()) and int(data.x_train.max()) < data.num_classes
    assert torch.equal(data.x_train[:, 1:], data.y_train[:, :-1])
    assert data.describe().endswith(f"64, {data.num_classes} characters")
    if name == "python-docs":
        text = python_docs_text()
        assert 400_000 < len(text) < 600_000 and data.extra["characters"] == len(text)
        assert len(data) == (len(text) - 1) // 64
        window = "".join(data.vocabulary[i] for i in data.x_val[0].tolist())
        assert window in text
    else:
        assert 1_000_000 < data.extra["characters"] <= 3_000_000


def test_text_split_is_seeded():
    a, b, c = load_dataset("python-docs", TOKENS), load_dataset("python-docs", TOKENS), \
        load_dataset("python-docs", TOKENS, seed=1)
    assert torch.equal(a.x_val, b.x_val) and torch.equal(a.y_train, b.y_train)
    assert not torch.equal(a.x_val, c.x_val)


# ----------------------------------------------------------------------------- fitting errors

def test_images_that_do_not_fit_the_input_say_what_would():
    refuses("digits", (5, 5), "digits: 1×8×8 images do not fit the Input 5×5; "
            "use an Input of (1, H, W), (3, H, W), (64,) or (8, 8)", output=TEN)
    refuses("digits", (63,), "do not fit the Input 63", output=TEN)
    refuses("digits", (2, 8, 8), "do not fit the Input 2×8×8", output=TEN)
    refuses("digits", (64,), "images need a float Input", dtype="int64", output=TEN)


def test_more_classes_than_output_units():
    refuses("digits", (1, 8, 8), "digits has 10 classes but the graph's Output has 5 units; "
            "set the last layer's out_features to 10", output=(5,))
    refuses("digits", (1, 8, 8), "a classifier's Output must be (K,)", "8×10", output=(8, 10))
    assert load("digits", (64,), (12,)).num_classes == 10          # spare units are fine


def test_text_needs_an_int64_sequence_input():
    refuses("python-docs", (64,), "text needs an int64 Input of shape (T,) feeding an Embedding")
    refuses("python-docs", (1, 8, 8), "text needs an int64 Input", dtype="int64")
    refuses("python-docs", (64,), "Output must be (64, V)", dtype="int64", output=(10,))


def test_validation_fraction_is_checked():
    refuses("digits", (64,), "validation_fraction must be in [0, 1)", output=TEN, validation_fraction=1.0)
    data = load("digits", (64,), TEN, validation_fraction=0.0)
    assert len(data.x_train) == 1797 and len(data.x_val) == 0


def test_unknown_dataset():
    refuses("digit", (64,), "digit: no such file or directory", "built-in datasets: digits, shapes")


# ----------------------------------------------------------------------------- image folders

def test_png_and_jpeg_folder(tmp_path):
    root = write_image_folder(tmp_path / "pets", {"dog": 6, "cat": 5, "bird": 4})
    data = load(root, (3, 16, 16), (3,))
    assert_classification(data, (3, 16, 16), 3)
    assert data.class_names == ["bird", "cat", "dog"]
    assert data.name == "pets" and data.source == str(root)
    assert len(data) == 15 and data.extra["natural_shape"] == (3, 10, 12)
    labels = torch.cat([data.y_train, data.y_val])
    assert torch.bincount(labels).tolist() == [4, 5, 6]
    grey = load(root, (1, 10, 12))
    assert grey.sample_shape == (1, 10, 12)
    assert load(root, (360,)).sample_shape == (360,)


def test_folder_with_mixed_sizes_uses_the_most_common(tmp_path):
    from PIL import Image

    root = write_image_folder(tmp_path / "mixed", {"a": 3, "b": 3}, size=(8, 8))
    Image.fromarray(np.zeros((20, 30), dtype=np.uint8)).save(root / "a" / "big.png")
    data = load(root, (192,))
    assert data.extra["natural_shape"] == (3, 8, 8) and data.sample_shape == (192,)
    assert len(data) == 7


def test_grey_folder_reads_rows(tmp_path):
    from PIL import Image

    root = tmp_path / "grey"
    for name in ("x", "y"):
        (root / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((6, 5), 40 * i, dtype=np.uint8)).save(root / name / f"{i}.png")
    data = load(root, (6, 5))
    assert data.sample_shape == (6, 5) and data.extra["layout"] == "rows"


def test_bad_image_folders(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    refuses(empty, (1, 8, 8), str(empty), "no class sub-folders with images")

    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "a.png").write_bytes(b"")
    refuses(loose, (1, 8, 8), "one sub-folder per class")

    root = write_image_folder(tmp_path / "some", {"a": 2})
    (root / "b").mkdir()
    (root / "b" / "notes.txt").write_text("not an image")
    refuses(root, (1, 8, 8), "class folder 'b' has no PNG or JPEG images")


def test_corrupt_images_are_named(tmp_path):
    root = write_image_folder(tmp_path / "broken", {"a": 2, "b": 2})
    junk = root / "b" / "junk.png"
    junk.write_bytes(b"this is not a png")
    refuses(root, (3, 8, 8), str(junk), "not a PNG or JPEG file")

    root = write_image_folder(tmp_path / "truncated", {"a": 2, "b": 2})
    good = root / "a" / "0.png"
    good.write_bytes(good.read_bytes()[:60])
    refuses(root, (3, 8, 8), str(good), "cannot read the image")


def test_one_class_is_not_classification(tmp_path):
    root = write_image_folder(tmp_path / "solo", {"only": 3})
    refuses(root, (3, 8, 8), "only 1 class", "at least two")


def test_folder_classes_against_the_output(tmp_path):
    root = write_image_folder(tmp_path / "three", {"a": 2, "b": 2, "c": 2})
    refuses(root, (3, 8, 8), "three has 3 classes but the graph's Output has 2 units", output=(2,))


# ----------------------------------------------------------------------------- CSV

def test_csv_with_header_and_named_label_column(tmp_path):
    path = tmp_path / "points.csv"
    rows = ["a,class,b"] + [f"{i},{i % 3},{i * 2.5}" for i in range(30)]
    path.write_text("\n".join(rows) + "\n")
    data = load(path, (2,), (3,))
    assert_classification(data, (2,), 3)
    assert data.extra["header"] is True and data.extra["label_column"] == "class"
    assert data.extra["feature_columns"] == ["a", "b"]
    x = torch.cat([data.x_train, data.x_val])
    assert data.x_train.mean(dim=0).abs().max() < 1e-5                 # standardised on train
    assert torch.allclose(data.x_train.std(dim=0, unbiased=False), torch.ones(2), atol=1e-5)
    mean, std = data.extra["feature_mean"], data.extra["feature_std"]
    assert mean.shape == std.shape == (2,) and x.shape == (30, 2)
    assert torch.bincount(data.y_val, minlength=3).tolist() == [2, 2, 2]   # stratified


def test_csv_without_header_takes_the_last_column(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("".join(f"{i},{i % 4},{7.0}, {i % 2}\n" for i in range(20)))
    data = load(path, (3,))
    assert_classification(data, (3,), 2)
    assert data.extra["header"] is False and data.extra["label_column"] == 4
    # a constant column keeps std 1: no division by zero
    assert float(data.extra["feature_std"][2]) == 1.0
    assert torch.all(torch.cat([data.x_train[:, 2], data.x_val[:, 2]]) == 0)


def test_csv_string_labels_map_to_sorted_names(tmp_path):
    path = tmp_path / "iris.csv"
    names = ["virginica", "setosa", "versicolor"]
    path.write_text("".join(f"{i * 0.1:.1f},{i % 5},{names[i % 3]}\n" for i in range(30)))
    data = load(path, (2,), (3,))
    assert data.class_names == ["setosa", "versicolor", "virginica"]
    assert data.extra["header"] is False


def test_csv_regression_and_reshape(tmp_path):
    path = tmp_path / "houses.csv"
    rows = ["rooms,area,age,target"] + [f"{i % 5},{i * 3},{i % 7},{i * 1.25 + 0.1}" for i in range(40)]
    path.write_text("\n".join(rows))
    data = load(path, (3,), (1,))
    assert data.task == REGRESSION and data.num_classes is None
    assert data.y_train.dtype == torch.float32 and data.y_train.shape == (32, 1)
    refuses(path, (3,), "each target has shape 1 but the graph's Output has shape 2", output=(2,))
    refuses(path, (4,), "3 feature columns do not fit the Input 4; use an Input of (3,)")

    pixels = tmp_path / "pixels.csv"
    pixels.write_text("".join(",".join(str((i * j) % 9) for j in range(4)) + f",{i % 2}\n"
                              for i in range(10)))
    assert load(pixels, (1, 2, 2), (2,)).sample_shape == (1, 2, 2)


def test_whole_number_targets_with_one_output_unit_are_regression(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("".join(f"{i},{i * 10}\n" for i in range(10)))
    assert load(path, (1,), (1,)).task == REGRESSION
    assert load(path, (1,)).task == CLASSIFICATION


def test_bad_csv_files(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("x,y,label\n1,2,0\n3,oops,1\n")
    refuses(path, (2,), str(path), "line 3, column 2", "'oops' is not a number")

    path.write_text("1,2,0\n3,,1\n")
    refuses(path, (2,), "line 2, column 2: an empty cell")

    path.write_text("1,2,0\n3,4,1\n5,6\n")
    refuses(path, (2,), "line 3 has 2 columns, expected 3")

    path.write_text("1,2,0\n3,4,1\n\n5,6,7\n")
    refuses(path, (2,), "bad.csv: line 4 has label 7 but the graph's Output has 3 units (labels 0..2)",
            "out_features to 8", output=(3,))

    path.write_text("1,2,0\n3,4,-1\n")
    refuses(path, (2,), "line 2 has label -1", "0..K-1")

    path.write_text("a,b,label\n")
    refuses(path, (2,), "no data rows")

    path.write_text("")
    refuses(path, (2,), "the file is empty")

    path.write_bytes(b"1,2,0\n3,\xff,1\n")
    refuses(path, (2,), "not UTF-8", "byte offset 8")


# ----------------------------------------------------------------------------- NPZ

def test_npz_classification_and_regression(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "cls.npz"
    np.savez(path, x=rng.normal(5.0, 2.0, (40, 4)), y=np.arange(40) % 4)
    data = load(path, (4,), (4,))
    assert_classification(data, (4,), 4)
    assert data.x_train.mean(dim=0).abs().max() < 1e-5
    assert data.extra["feature_mean"].shape == (4,)

    path = tmp_path / "reg.npz"
    np.savez(path, x=rng.normal(size=(30, 2, 3)), y=rng.normal(size=(30, 2)))
    data = load(path, (2, 3), (2,))
    assert data.task == REGRESSION and data.y_train.shape == (24, 2) and data.y_train.dtype == torch.float32
    assert load(path, (6,), (2,)).sample_shape == (6,)

    path = tmp_path / "float_labels.npz"
    np.savez(path, x=rng.normal(size=(20, 3)), y=(np.arange(20) % 2).astype(np.float64))
    assert load(path, (3,), (2,)).task == CLASSIFICATION


def test_npz_tokens_and_segmentation(tmp_path):
    path = tmp_path / "tokens.npz"
    np.savez(path, x=np.arange(60).reshape(20, 3) % 7, y=np.arange(20) % 2)
    data = load(path, (3,), (2,), dtype="int64")
    assert data.x_train.dtype == torch.int64 and "feature_mean" not in data.extra

    path = tmp_path / "seg.npz"
    masks = np.zeros((10, 8, 8), dtype=np.int64)
    masks[:, 2:5, 2:5] = 2
    np.savez(path, x=np.ones((10, 1, 8, 8), dtype=np.float32), y=masks)
    data = load(path, (1, 8, 8), (3, 4, 4))
    assert data.task == SEGMENTATION and data.num_classes == 3 and data.y_train.shape == (8, 4, 4)


def test_bad_npz_files(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, x=np.zeros((5, 2)))
    refuses(path, (2,), str(path), "no array 'y'", "numpy.savez")

    np.savez(path, x=np.zeros((5, 2)), y=np.zeros(4))
    refuses(path, (2,), "x has 5 samples but y has 4")

    np.savez(path, x=np.zeros((6, 2)), y=np.array([0, 1, 2, 0, 1, 12]))
    refuses(path, (2,), "row 5 has label 12", "Output has 10 units (labels 0..9)", output=TEN)

    path.write_bytes(b"not a zip")
    refuses(path, (2,), str(path), "not a .npz archive")

    np.savez(path, x=np.array([[1.0], [np.nan]]), y=np.array([0, 1]))
    refuses(path, (1,), "row 1 has a NaN or infinite feature")

    assert infer_task(np.array([0.5, 1.0])) == REGRESSION


# ----------------------------------------------------------------------------- idx (MNIST)

def _mnist_like(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 6, 5), dtype=np.uint8), np.arange(n) % 10


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_uses_t10k_as_validation(tmp_path, gz):
    folder = tmp_path / "mnist"
    images, labels = _mnist_like(30, 0)
    write_idx(folder, "train", images, labels, gz=gz)
    write_idx(folder, "t10k", *_mnist_like(10, 1), gz=gz)
    data = load(folder, (1, 6, 5), TEN)
    assert_classification(data, (1, 6, 5), 10)
    assert (len(data.x_train), len(data.x_val)) == (30, 10)
    assert data.extra["validation"] == "test files"
    assert torch.allclose(data.x_train[:, 0], torch.from_numpy(images).float() / 255)
    assert load(folder, (30,), TEN).sample_shape == (30,)


def test_idx_images_file_with_labels_beside_it(tmp_path):
    images_file = write_idx(tmp_path / "fashion", "train", *_mnist_like(20, 0))
    data = load(images_file, (1, 12, 10), TEN)
    assert (len(data.x_train), len(data.x_val)) == (16, 4) and data.extra["validation"] == "split"
    assert data.class_names[0] == "T-shirt/top" and data.class_names[9] == "Ankle boot"


def test_bad_idx_files(tmp_path):
    folder = tmp_path / "digits-idx"
    images, labels = _mnist_like(10, 0)
    images_file = write_idx(folder, "train", images, labels)
    labels_file = folder / "train-labels-idx1-ubyte"

    images_file.write_bytes(b"\x00\x00\x08\x01" + idx_bytes(images)[4:])
    refuses(folder, (1, 6, 5), str(images_file), "magic number 0x00000801, expected 0x00000803")

    images_file.write_bytes(idx_bytes(images)[:-7])
    refuses(folder, (1, 6, 5), "truncated idx file")

    images_file.write_bytes(idx_bytes(images))
    labels_file.write_bytes(idx_bytes(labels[:9]))
    refuses(folder, (1, 6, 5), "9 labels for the 10 images")

    labels_file.write_bytes(gzip.compress(b"garbage"))
    refuses(folder, (1, 6, 5), "magic number")

    gz_folder = tmp_path / "gz"
    write_idx(gz_folder, "train", images, labels, gz=True)
    broken = gz_folder / "train-labels-idx1-ubyte.gz"
    broken.write_bytes(b"not gzip at all")
    refuses(gz_folder, (1, 6, 5), str(broken), "cannot read the file")


# ----------------------------------------------------------------------------- CIFAR-10 binary

def test_cifar_bin_folder(tmp_path):
    folder = write_cifar(tmp_path / "cifar-10-batches-bin")
    (folder / "batches.meta.txt").write_text("\n".join(f"thing{k}" for k in range(10)) + "\n\n")
    data = load(folder, (3, 32, 32), TEN)
    assert_classification(data, (3, 32, 32), 10)
    assert data.name == "cifar-10" and data.class_names[3] == "thing3"
    assert (len(data.x_train), len(data.x_val)) == (40, 10) and data.extra["validation"] == "test files"
    assert load(tmp_path, (1, 16, 16), TEN).sample_shape == (1, 16, 16)       # the parent folder works too
    assert len(load(folder / "data_batch_1.bin", (3, 32, 32)).x_train) == 40


def test_cifar_without_test_batch_is_split(tmp_path):
    folder = write_cifar(tmp_path / "c", batches=1, per_batch=30, test=0)
    data = load(folder, (3072,), TEN)
    assert (len(data.x_train), len(data.x_val)) == (24, 6)
    assert data.class_names[0] == "airplane"


def test_bad_cifar_files(tmp_path):
    folder = write_cifar(tmp_path / "cifar-10-batches-bin")
    batch = folder / "data_batch_2.bin"
    batch.write_bytes(batch.read_bytes()[:-5])
    refuses(folder, (3, 32, 32), str(batch), "not a whole number of 3073-byte")

    batch.write_bytes(cifar_bytes(np.zeros((2, 3, 32, 32)), [1, 42]))
    refuses(folder, (3, 32, 32), "record 1 has label 42")

    pickled = tmp_path / "cifar-10-batches-py"
    pickled.mkdir()
    (pickled / "data_batch_1").write_bytes(b"\x80\x04")
    refuses(pickled, (3, 32, 32), "pickled CIFAR-10", "cifar-10-batches-bin")


# ----------------------------------------------------------------------------- text files

def test_utf8_text_file(tmp_path):
    path = tmp_path / "poem.txt"
    text = "ab\r\ncabbage über alles\r\n" * 20
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    data = load(path, (16,), (16, 64), dtype="int64")
    assert data.task == LANGUAGE_MODEL and data.source == str(path) and data.name == "poem.txt"
    clean = text.replace("\r\n", "\n")
    assert data.vocabulary == "".join(sorted(set(clean)))
    assert len(data) == (len(clean) - 1) // 16
    assert torch.equal(data.x_train[:, 1:], data.y_train[:, :-1])
    rows = torch.cat([data.x_train, data.x_val]).tolist()
    windows = ["".join(data.vocabulary[i] for i in row) for row in rows]
    assert all(w in clean for w in windows)


def test_vocabulary_larger_than_the_output_keeps_the_most_frequent(tmp_path):
    vocabulary, ids, unknown = build_vocabulary("aaaabbbccd\ufffdxyz", 4)
    assert vocabulary == "abc" + UNKNOWN and unknown == 5
    assert ids.tolist() == [0] * 4 + [1] * 3 + [2] * 2 + [3] * 5
    path = tmp_path / "t.txt"
    text = "the quick brown fox jumps over the lazy dog " * 10
    path.write_text(text)
    data = load(path, (8,), (8, 6), dtype="int64")
    assert data.num_classes == 6 and data.vocabulary[-1] == UNKNOWN
    counts = Counter(text)
    frequent = sorted(counts, key=lambda ch: (-counts[ch], ch))[:5]
    assert data.vocabulary[:-1] == "".join(sorted(frequent))
    assert int(torch.cat([data.x_train, data.y_train]).max()) == 5


def test_bad_text_files(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("caf".encode() + "é au lait".encode("latin-1"))
    refuses(path, (8,), str(path), "not UTF-8 text", "byte offset 3", dtype="int64")

    path = tmp_path / "empty.txt"
    path.write_text("")
    refuses(path, (8,), "empty.txt: the text is empty", dtype="int64")

    path = tmp_path / "short.txt"
    path.write_text("tiny")
    refuses(path, (8,), "4 characters is shorter than one window", dtype="int64")

    path.write_text("long enough text " * 5)
    refuses(path, (8,), "text needs an int64 Input")

    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG")
    refuses(image, (8,), "one image is not a dataset", dtype="int64")
