"""Stratified, seeded splits."""

from __future__ import annotations

import numpy as np
import pytest

from linclass.data import stratified_split, train_val_split

Y = np.repeat(np.arange(4), [40, 20, 10, 2])


def test_partition_is_complete_sorted_and_stratified():
    first, second = stratified_split(Y, test_size=0.25, random_state=0)
    assert np.array_equal(np.sort(np.concatenate([first, second])), np.arange(len(Y)))
    assert np.all(np.diff(first) > 0) and np.all(np.diff(second) > 0)
    assert np.bincount(Y[second]).tolist() == [10, 5, 2, 1]  # round(0.25 n_c), >= 1


def test_seeded_and_generator_accepted():
    a = stratified_split(Y, 0.3, random_state=7)[1]
    assert np.array_equal(a, stratified_split(Y, 0.3, random_state=7)[1])
    assert not np.array_equal(a, stratified_split(Y, 0.3, random_state=8)[1])
    stratified_split(Y, 0.3, random_state=np.random.default_rng(0))


def test_singleton_class_stays_in_train_and_every_class_keeps_one():
    y = np.array([0, 1, 1, 2, 2, 2])
    first, second = stratified_split(y, 0.9, random_state=0)
    assert 0 in y[first] and set(y[first]) == {0, 1, 2} and set(y[second]) == {1, 2}


def test_train_val_split_keeps_dtype_rows_and_order():
    X = np.repeat(np.arange(len(Y)), 4).reshape(len(Y), 2, 2)  # each image holds its index
    X_tr, X_val, y_tr, y_val = train_val_split(X, Y, val_size=0.2, random_state=0)
    assert len(y_tr) + len(y_val) == len(Y) and set(y_val) == {0, 1, 2, 3}
    for images, labels in ((X_tr, y_tr), (X_val, y_val)):
        index = images[:, 0, 0]
        assert np.all(np.diff(index) > 0) and np.array_equal(Y[index], labels)
    assert train_val_split(X.astype(np.uint8), Y)[0].dtype == np.uint8


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1])
def test_bad_fraction(bad):
    with pytest.raises(ValueError, match="in \\(0, 1\\)"):
        stratified_split(Y, bad)


def test_length_mismatch():
    with pytest.raises(ValueError, match="samples"):
        train_val_split(np.zeros((3, 2)), np.zeros(4))
