from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from jiesu.errors import BadInput
from jiesu.nlp.bench import bench_category
from jiesu.nlp.evaluate import cross_validate, metrics
from jiesu.nlp.model import (
    ARRAYS_FILE,
    MODEL_FILE,
    Params,
    TextClassifier,
    _char_grams,
    _keys_of_terms,
    _KeyTable,
)

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
    model = TextClassifier(Params(words=True)).fit(docs[::2], labels[::2])
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


def _path_labels(labels: list[str]) -> list[str]:
    # Five level-1 categories folded into three parents, so that parents are shared.
    parent = {"城乡建设": "甲", "环境保护": "甲", "交通运输": "乙", "劳动和社会保障": "乙"}
    return [f"{parent.get(lab, '丙')}/{lab}" for lab in labels]


def test_path_labels_score_leaves_with_their_parents(dataset: Data, tmp_path: Path) -> None:
    titles, texts, labels = dataset
    docs = list(zip(titles, texts, strict=True))
    paths = _path_labels(labels)
    model = TextClassifier(Params(path_sep="/")).fit(docs[::2], paths[::2])
    assert [len(level.labels) for level in model.levels] == [3, 5]
    top = model.predict_top(docs[1::2], k=3)
    assert all(label in model.labels for row in top for label, _ in row)
    assert metrics(paths[1::2], top)["macro_f1"] > 0.8
    proba = model.predict_proba(docs[1::2])
    assert np.allclose(proba.sum(axis=1), 1.0)
    # The parent level is part of each leaf's score: the best leaf sits under the best parent.
    parents = np.zeros((len(proba), 3))
    for j, lab in enumerate(model.labels):
        parents[:, model.levels[0].labels.index(lab.split("/")[0])] += proba[:, j]
    best_leaf_parent = model.levels[0].of_leaf[proba.argmax(axis=1)]
    assert (best_leaf_parent == parents.argmax(axis=1)).mean() > 0.95
    model.save(tmp_path / "m")
    loaded = TextClassifier.load(tmp_path / "m")
    assert loaded.params.path_sep == "/"
    assert loaded.predict_top(docs, k=3) == model.predict_top(docs, k=3)


def test_path_sep_without_shared_parents_is_one_level(dataset: Data) -> None:
    _, texts, labels = dataset
    model = TextClassifier(Params(path_sep="/")).fit(texts[:60], labels[:60])
    assert len(model.levels) == 1


def test_traditional_characters_read_as_simplified() -> None:
    texts = ["小区暖气不热", "暖气不热已经三天", "饭店油烟扰民", "油烟很大呛人"] * 3
    model = TextClassifier().fit(texts, list("aabb") * 3)
    assert model.params.t2s
    assert model.predict_top(["暖氣不熱"]) == model.predict_top(["暖气不热"])
    assert model.predict_top(["飯店油煙"]) == model.predict_top(["饭店油烟"])


def test_nb_svm_member_is_stacked_and_saved(
    trained: tuple[TextClassifier, list[str], list[str]], tmp_path: Path
) -> None:
    model, texts, _ = trained
    assert model.params.nb
    assert model.coef_nb.shape == model.coef.shape
    weights = model.levels[-1].weights
    assert len(weights) == 2 and all(w >= 0 for w in weights) and sum(weights) > 0
    model.save(tmp_path / "m")
    with np.load(tmp_path / "m" / ARRAYS_FILE, allow_pickle=False) as arrays:
        assert {"coef", "intercept", "coef_nb", "intercept_nb"} <= set(arrays.files)
    plain = TextClassifier(Params(nb=False)).fit(texts, model.predict(texts))
    assert plain.coef_nb.size == 0
    assert plain.levels[-1].weights[1] == 0.0
    plain.save(tmp_path / "p")
    assert TextClassifier.load(tmp_path / "p").predict_top(texts) == plain.predict_top(texts)


def test_refuses_an_older_format_clearly(tmp_path: Path) -> None:
    (tmp_path / MODEL_FILE).write_text(
        json.dumps({"format": "jiesu-text-classifier/1", "labels": ["a", "b"]}), encoding="utf-8"
    )
    np.savez(tmp_path / ARRAYS_FILE, coef=np.zeros((2, 1)))
    with pytest.raises(BadInput, match=r"earlier version.*train it again"):
        TextClassifier.load(tmp_path)


def test_char_grams_are_those_of_char_wb() -> None:
    texts = ["暖气不热 已经3天", "a b", "", "油烟，扬尘。abc def", "x"]
    grams = _char_grams(texts, 1, 4, where=True)
    assert grams.starts is not None and grams.sizes is not None
    ours: list[set[str]] = [set() for _ in texts]
    for doc, start, size in zip(grams.docs, grams.starts, grams.sizes, strict=True):
        ours[int(doc)].add(grams.padded[int(start) : int(start) + int(size)])
    analyzer = CountVectorizer(analyzer="char_wb", ngram_range=(1, 4)).build_analyzer()
    for text, found in zip(texts, ours, strict=True):
        # scikit-learn also counts the padding space alone as a unigram; we leave it out.
        assert found == set(analyzer(text)) - {" "}
    # A saved n-gram gets exactly the key it had in a text; 4-grams are hashed apart.
    terms = sorted({t for found in ours for t in found})
    keys = _keys_of_terms(terms)
    assert len(set(keys.tolist())) == len(terms)
    by_term = dict(zip(terms, keys.tolist(), strict=True))
    for key, start, size in zip(grams.keys, grams.starts, grams.sizes, strict=True):
        assert by_term[grams.padded[int(start) : int(start) + int(size)]] == int(key)
    assert all((k >> 63) == (len(t) > 3) for t, k in by_term.items())


def test_key_table_finds_every_key_and_nothing_else() -> None:
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(1, 2**62, size=5000, dtype=np.int64).astype(np.uint64))
    table = _KeyTable(keys)
    assert np.array_equal(table.find(keys), np.arange(len(keys)))
    others = rng.integers(2**62, 2**63, size=1000, dtype=np.int64).astype(np.uint64)
    assert (table.find(others) == -1).all()
    assert (_KeyTable(np.zeros(0, np.uint64)).find(keys) == -1).all()


def test_word_chars_and_max_chars_are_kept(dataset: Data, tmp_path: Path) -> None:
    titles, texts, labels = dataset
    docs = list(zip(titles, texts, strict=True))
    model = TextClassifier(Params(word_chars=20, max_chars=60)).fit(docs[:100], labels[:100])
    model.save(tmp_path / "m")
    loaded = TextClassifier.load(tmp_path / "m")
    assert (loaded.params.word_chars, loaded.params.max_chars) == (20, 60)
    assert loaded.predict_top(docs[100:], k=2) == model.predict_top(docs[100:], k=2)


def test_bench_category_on_a_small_file(dataset: Data, tmp_path: Path, csv_writer: Any) -> None:
    titles, texts, labels = dataset
    path = csv_writer.write(
        tmp_path / "requests.csv",
        ["主题", "详情", "分类"],
        list(zip(titles, texts, labels, strict=True)),
    )
    result = bench_category(
        None, path, ["主题", "详情"], 60, label_col="分类", repeat=1, single=5, parts=False
    )
    assert result["texts"] == 60
    assert result["model"]["classes"] == len(set(labels[:60]))
    assert result["category"]["per_second_best"] > 0
    assert result["category"]["single"]["p50_ms"] > 0
    json.dumps(result)
    with pytest.raises(BadInput, match="shared reference data is not on this machine"):
        bench_category(None, tmp_path / "nowhere" / "x.csv", ["主题"], 10)


def test_words_only_for_texts_written_in_letters(dataset: Data) -> None:
    titles, texts, labels = dataset
    chinese = TextClassifier().fit(list(zip(titles, texts, strict=True))[:60], labels[:60])
    assert chinese.params.words is False
    assert [b.name for b in chinese.blocks] == ["char", "subject_char"]
    english = ["street light out on main st", "pothole on elm street", "dead animal pickup"] * 4
    model = TextClassifier().fit(english, ["light", "road", "animal"] * 4)
    assert model.params.words is True
    assert [b.name for b in model.blocks] == ["char", "word"]
    assert model.predict(["light out near the park"]) == ["light"]
