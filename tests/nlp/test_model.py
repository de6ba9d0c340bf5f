from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from jiesu.errors import BadInput
from jiesu.nlp.evaluate import cross_validate, metrics
from jiesu.nlp.model import ARRAYS_FILE, MODEL_FILE, Params, TextClassifier

Data = tuple[list[str], list[str], list[str]]


def _texts(data: Data) -> tuple[list[str], list[str]]:
    titles, texts, labels = data
    return [f"{t}\n{x}" for t, x in zip(titles, texts, strict=True)], labels


@pytest.fixture(scope="module")
def trained(dataset: Data) -> tuple[TextClassifier, list[str], list[str]]:
    texts, labels = _texts(dataset)
    # Train on every other text, keep the rest unseen.
    return TextClassifier().fit(texts[::2], labels[::2]), texts[1::2], labels[1::2]


def test_learns_synthetic_categories(trained: tuple[TextClassifier, list[str], list[str]]) -> None:
    model, texts, labels = trained
    result = metrics(labels, model.predict_top(texts, k=3))
    assert result["n"] == len(texts)
    assert result["accuracy"] > 0.8
    assert result["macro_f1"] > 0.8
    assert result["top3_accuracy"] >= result["accuracy"]
    assert set(result["per_class"]) == set(labels)


def test_predict_top_shape_and_probabilities(
    trained: tuple[TextClassifier, list[str], list[str]],
) -> None:
    model, texts, _ = trained
    top = model.predict_top(texts[:4], k=3)
    assert [len(row) for row in top] == [3, 3, 3, 3]
    for row in top:
        probs = [p for _, p in row]
        assert probs == sorted(probs, reverse=True)
        assert all(0.0 <= p <= 1.0 for p in probs)
    full = model.predict_proba(texts[:4])
    assert np.allclose(full.sum(axis=1), 1.0)
    assert len(model.predict_top(texts[:1], k=99)[0]) == len(model.labels)


def test_save_load_identical_predictions(
    trained: tuple[TextClassifier, list[str], list[str]], tmp_path: Path
) -> None:
    model, texts, _ = trained
    model.metadata["data_sha256"] = "0" * 64
    model.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [ARRAYS_FILE, MODEL_FILE]
    doc = json.loads((tmp_path / "m" / MODEL_FILE).read_text(encoding="utf-8"))
    assert doc["labels"] == model.labels
    assert doc["metadata"]["data_sha256"] == "0" * 64
    loaded = TextClassifier.load(tmp_path / "m")
    assert loaded.predict_top(texts, k=3) == model.predict_top(texts, k=3)
    assert loaded.predict_top(["  ＜p＞暖气不热&nbsp;</p>"]) == model.predict_top(
        ["  ＜p＞暖气不热&nbsp;</p>"]
    )


def test_arrays_hold_no_objects(
    trained: tuple[TextClassifier, list[str], list[str]], tmp_path: Path
) -> None:
    model, _, _ = trained
    model.save(tmp_path / "m")
    with np.load(tmp_path / "m" / ARRAYS_FILE, allow_pickle=False) as arrays:
        assert all(arrays[name].dtype != object for name in arrays.files)


def test_load_rejects_missing_or_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"no model\.json"):
        TextClassifier.load(tmp_path)
    (tmp_path / MODEL_FILE).write_text('{"format": "other"}', encoding="utf-8")
    np.savez(tmp_path / ARRAYS_FILE, coef=np.zeros(1))
    with pytest.raises(BadInput, match="not a"):
        TextClassifier.load(tmp_path)


def test_binary_and_tiny_datasets() -> None:
    # Two classes, each seen twice: min_df falls back, binary scores are made two-sided.
    model = TextClassifier().fit(["暖气不热", "暖气不热了", "油烟扰民", "饭店油烟"], list("aabb"))
    assert model.predict(["暖气还是不热"]) == ["a"]
    assert model.predict(["油烟很大"]) == ["b"]
    assert model.predict_top(["油烟"], k=3)[0][0][0] == "b"


def test_without_words() -> None:
    model = TextClassifier(Params(words=False)).fit(["暖气不热", "油烟扰民"] * 3, list("ab") * 3)
    assert [b.name for b in model.blocks] == ["char"]
    assert model.predict(["暖气"]) == ["a"]


def test_fit_rejects_bad_input() -> None:
    with pytest.raises(BadInput):
        TextClassifier().fit(["a", "b"], ["x"])
    with pytest.raises(BadInput):
        TextClassifier().fit(["a", "b"], ["x", "x"])
    with pytest.raises(BadInput):
        TextClassifier().predict(["a"])


def test_cross_validate(dataset: Data) -> None:
    texts, labels = _texts(dataset)
    result = cross_validate(texts[:100], labels[:100], folds=3)
    assert result["n"] == 100
    assert result["folds"] == 3
    assert len(result["fold_macro_f1"]) == 3
    assert result["macro_f1"] > 0.7
    with pytest.raises(BadInput, match="smallest class"):
        cross_validate(texts[:10], labels[:10], folds=5)


def test_metrics_counts_never_predicted_class() -> None:
    top = [[("a", 0.9), ("b", 0.1)], [("a", 0.6), ("b", 0.4)]]
    result = metrics(["a", "b"], top)
    assert result["accuracy"] == 0.5
    assert result["top3_accuracy"] == 1.0
    assert result["per_class"]["b"]["f1"] == 0.0
    assert result["macro_f1"] == pytest.approx((2 / 3 + 0) / 2)


def test_load_rejects_arrays_that_do_not_match(
    trained: tuple[TextClassifier, list[str], list[str]], tmp_path: Path
) -> None:
    model, _, _ = trained
    model.save(tmp_path / "m")
    with np.load(tmp_path / "m" / ARRAYS_FILE, allow_pickle=False) as arrays:
        kept = {name: arrays[name] for name in arrays.files}
    kept["coef"] = kept["coef"][:, :-1]
    np.savez(tmp_path / "m" / ARRAYS_FILE, **kept)
    with pytest.raises(BadInput, match="do not match"):
        TextClassifier.load(tmp_path / "m")


def test_refuses_pickled_arrays(tmp_path: Path) -> None:
    TextClassifier().fit(["暖气不热", "油烟扰民"] * 3, list("ab") * 3).save(tmp_path)
    np.savez(tmp_path / ARRAYS_FILE, coef=np.array([{"x": 1}], dtype=object))
    with pytest.raises(BadInput, match="unreadable"):
        TextClassifier.load(tmp_path)


def test_fields_give_the_subject_its_own_blocks(dataset: Data, tmp_path: Path) -> None:
    titles, texts, labels = dataset
    docs = list(zip(titles, texts, strict=True))
    model = TextClassifier().fit(docs[::2], labels[::2])
    assert model.params.subject
    assert [b.name for b in model.blocks] == ["char", "word", "subject_char", "subject_word"]
    result = metrics(labels[1::2], model.predict_top(docs[1::2]))
    assert result["macro_f1"] > 0.8
    model.save(tmp_path / "m")
    loaded = TextClassifier.load(tmp_path / "m")
    assert loaded.params.subject
    assert loaded.predict_top(docs, k=3) == model.predict_top(docs, k=3)
    # A plain text still works: it simply has no subject features.
    assert len(loaded.predict_top([texts[0]])[0]) == 3


def test_single_field_is_a_plain_text(dataset: Data) -> None:
    _, texts, labels = dataset
    model = TextClassifier(Params(words=False)).fit([(t,) for t in texts[:60]], labels[:60])
    assert not model.params.subject
    assert [b.name for b in model.blocks] == ["char"]
