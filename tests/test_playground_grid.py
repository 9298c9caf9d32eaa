"""The image view's grid (learning rate x alpha as stacked heads), through Starlette's
TestClient: it learns what ``fit_heads`` and each setting's own ``fit`` learn, an epoch per
request, and bad grids are refused with a message that names what is wrong."""

import numpy as np
import pytest
from starlette.testclient import TestClient

from linclass.data import stratified_split
from linclass.model import init_params, predict
from linclass.objective import Objective
from linclass.training import fit
from linclass.training.heads import Heads
from linclass.training.sweep import fit_heads
from linclass.web import create_app
from linclass.web import session_grid as sgrid
from linclass.web.session_image import load_image_data


@pytest.fixture()
def client():
    return TestClient(create_app())


def image_session(client, **body) -> str:
    r = client.post("/api/image", json={"dataset": "digits", **body})
    assert r.status_code == 200, r.text
    return r.json()["session"]


def run_grid(client, sid, lr, alpha, epochs):
    """Start a grid and step it to the end; every epoch's JSON grid, the start's first."""
    r = client.post(f"/api/image/{sid}/grid", json={"lr": lr, "alpha": alpha, "epochs": epochs})
    assert r.status_code == 200, r.text
    grids = [r.json()["grid"]]
    while not grids[-1]["done"]:
        r = client.post(f"/api/image/{sid}/grid/step", json={})
        assert r.status_code == 200, r.text
        grids.append(r.json()["grid"])
    return grids


def as_heads(cells) -> np.ndarray:
    """A JSON heat map (alpha rows, lr columns; null for none) as the heads' (H,) order."""
    return np.array([np.nan if v is None else v for row in cells for v in row])


def reference(seed, config, lr, alpha, epochs):
    """The same settings trained by ``fit_heads`` itself, built here from the request's
    values: the start of the session's seed, the grid's rows, heads alpha-major."""
    rows = sgrid.grid_rows("digits")
    start = {k: v.astype(rows.X.dtype) for k, v in init_params(64, 10, random_state=seed).items()}
    heads = Heads(config["loss"], config["penalty"], np.repeat(alpha, len(lr)),
                  np.tile(lr, len(alpha)),
                  loss_kwargs={"margin": config["margin"]} if config["loss"] == "svm" else {})
    seen = []
    result = fit_heads(start, rows.X, rows.y, heads, optimizer=config["optimizer"],
                       optimizer_kwargs={k: config[k] for k in ("momentum",) if
                                         config["optimizer"] in ("momentum", "nesterov")},
                       batch_size=config["batch_size"], max_epochs=epochs, tol=None,
                       random_state=seed, X_val=rows.X_val, y_val=rows.y_val,
                       on_epoch=lambda e, objective, held: seen.append(held))
    return start, rows, result, np.array(seen)


@pytest.mark.parametrize("config", [
    {"optimizer": "momentum", "batch_size": 64},
    {"loss": "svm", "optimizer": "sgd", "batch_size": 100},
    {"optimizer": "gd"},
])
def test_each_epoch_of_the_grid_is_what_fit_heads_learns(client, config):
    sid = image_session(client, seed=3, **config)
    lr, alpha = [0.01, 0.1, 1.0, 100.0], [0.0, 1e-3, 1e-2]
    grids = run_grid(client, sid, lr, alpha, 4)
    assert [g["epoch"] for g in grids] == [0, 1, 2, 3, 4]
    assert all(v is None for row in grids[0]["accuracy"] for v in row)  # nothing trained yet
    full = client.get(f"/api/image/{sid}").json()["config"]
    _, _, result, seen = reference(3, full, lr, alpha, 4)
    # every epoch's validation accuracy of every head, exactly (one seed, one batch order)
    np.testing.assert_array_equal(np.array([as_heads(g["accuracy"]) for g in grids[1:]]), seen)
    np.testing.assert_array_equal(as_heads(grids[-1]["accuracy"]), result.held_out)
    last = grids[-1]
    reasons = [v for row in last["dropped"] for v in row]
    assert reasons == [s if s.startswith("diverged") else None for s in result.status]
    best = int(np.nanargmax(result.held_out))  # the first of the highest, as linclass search
    assert (last["best"]["alpha_index"], last["best"]["lr_index"]) == divmod(best, len(lr))
    assert last["best"]["accuracy"] == result.held_out[best]
    # done: a further step does no work
    again = client.post(f"/api/image/{sid}/grid/step", json={}).json()["grid"]
    assert again["epoch"] == 4 and again["accuracy"] == last["accuracy"]


def test_a_diverging_setting_is_dropped_with_its_reason_and_the_others_learn(client):
    sid = image_session(client, seed=0, optimizer="momentum", batch_size=64)
    # lr 100 with alpha 1: each step multiplies W by about 1 - 2 lr alpha = -199
    grid = run_grid(client, sid, [0.1, 100.0], [0.0, 1.0], 3)[-1]
    assert grid["accuracy"][1][1] is None
    why = grid["dropped"][1][1]
    assert why.startswith("diverged: the loss rose to ")
    assert "at epoch 1" in why and "lower the learning rate (it was 100)" in why
    assert grid["dropped"][0][0] is None and grid["accuracy"][0][0] > 0.85
    assert grid["best"] is not None and grid["best"]["alpha"] == 0.0
    r = client.post(f"/api/image/{sid}/grid/pick", json={"lr": 100.0, "alpha": 1.0})
    assert r.status_code == 422 and "was dropped: diverged" in r.json()["error"]
    # when every head has left, the grid is done early and has no best
    grids = run_grid(client, sid, [100.0], [1.0], 5)
    assert [g["epoch"] for g in grids] == [0, 1] and grids[-1]["done"]
    assert grids[-1]["best"] is None and grids[-1]["dropped"][0][0].startswith("diverged")


def test_every_cell_is_its_own_fit_and_picking_it_makes_it_the_model(client):
    sid = image_session(client, seed=5, optimizer="momentum", batch_size=64)
    lr, alpha = [0.05, 0.5], [0.0, 1e-2]
    grid = run_grid(client, sid, lr, alpha, 3)[-1]
    config = client.get(f"/api/image/{sid}").json()["config"]
    rows = sgrid.grid_rows("digits")
    start = {k: v.astype(rows.X.dtype) for k, v in init_params(64, 10, random_state=5).items()}
    data = load_image_data("digits")
    for i, a in enumerate(alpha):
        for j, r in enumerate(lr):
            own = fit(start, rows.X, rows.y, value_and_grad=Objective("softmax", "l2", a),
                      optimizer="momentum", learning_rate=r,
                      optimizer_kwargs={"momentum": config["momentum"]}, batch_size=64,
                      max_epochs=3, random_state=5, progress=False)
            own_acc = float(np.mean(predict(own.params, rows.X_val) == rows.y_val))
            assert grid["accuracy"][i][j] == pytest.approx(own_acc, abs=1e-12), (a, r)
            picked = client.post(f"/api/image/{sid}/grid/pick", json={"lr": r, "alpha": a})
            assert picked.status_code == 200, picked.text
            st = picked.json()
            assert (st["config"]["learning_rate"], st["config"]["alpha"]) == (r, a)
            assert st["epoch"] == 3 and len(st["history"]) == 1
            test_acc = np.mean(predict(own.params, data.X_eval_test)
                               == data.dataset.y_test[data.eval_test])
            assert st["history"][0]["test_accuracy"] == pytest.approx(test_acc, abs=1e-12)
    # training goes on from the picked model
    r = client.post(f"/api/image/{sid}/step", json={"steps": 5})
    assert r.status_code == 200 and r.json()["step"] == st["step"] + 5


def test_the_grid_rows_are_linclass_searchs_split_of_the_training_images():
    data = load_image_data("digits")
    rows = sgrid.grid_rows("digits")
    train, val = stratified_split(data.dataset.y_train, sgrid.VAL_FRACTION, sgrid.SPLIT_SEED)
    np.testing.assert_array_equal(rows.y, data.dataset.y_train[train])
    np.testing.assert_array_equal(rows.X_val, data.rows("train", val))
    assert not rows.X.flags.writeable  # shared by every session


def test_a_large_dataset_is_cut_to_the_grid_rows_every_class_in_proportion():
    from linclass.web.session_image import available_datasets

    if "fashion-mnist" not in available_datasets():
        pytest.skip("Fashion-MNIST is not installed (Debian's dataset-fashion-mnist)")
    rows = sgrid.grid_rows("fashion-mnist")
    assert len(rows.y) + len(rows.y_val) == sgrid.GRID_ROWS
    assert len(rows.y_val) == 500  # a tenth of each class's 500
    assert (np.bincount(rows.y_val) == 50).all() and (np.bincount(rows.y) == 450).all()


def test_options_give_the_grid_limits(client):
    g = client.get("/api/options").json()["grid"]
    assert g["max_side"] == sgrid.MAX_GRID_SIDE == 4
    assert g["max_epochs"] == sgrid.MAX_GRID_EPOCHS and g["val_fraction"] == 0.1


@pytest.mark.parametrize("body,fragments", [
    ({"lr": 0.1, "alpha": [0]}, ["lr must be a list of numbers, got 0.1"]),
    ({"lr": [], "alpha": [0]}, ["lr must be a non-empty list of numbers"]),
    ({"lr": [0.1, 0], "alpha": [0]}, ["lr must hold finite numbers > 0, got [0.0]"]),
    ({"lr": [0.1], "alpha": [-1e-3]}, ["alpha must hold finite numbers >= 0, got [-0.001]"]),
    ({"lr": [0.1, "fast"], "alpha": [0]}, ['lr[1] must be a number, got "fast"']),
    ({"lr": [True], "alpha": [0]}, ["lr[0] must be a number, got true"]),
    ({"lr": [0.1], "alpha": [[0]]}, ["alpha[0] must be a number"]),
    ({"lr": [0.1, 0.1], "alpha": [0]}, ["lr holds repeated values"]),
    ({"lr": [1e-3, 1e-2, 0.1, 1, 10], "alpha": [0]},
     ["lr holds 5 values; a grid takes at most 4 (at most 4 x 4 settings)"]),
    ({"lr": [0.1], "alpha": [0, 1, 2, 3, 4]}, ["alpha holds 5 values"]),
    ({"lr": [2e9], "alpha": [0]},
     ["lr: learning_rate must be in (0, 1000000000], got 2000000000.0"]),
    ({"lr": [10**400], "alpha": [0]}, ["lr[0] must be a finite number, got 401 digits"]),
    ({"lr": [0.1], "alpha": [0], "epochs": 51}, ["epochs must be an integer in [1, 50], got 51"]),
    ({"lr": [0.1], "alpha": [0], "epochs": 2.5}, ["epochs must be an integer"]),
    ({"lr": [0.1], "alpha": [0], "epochs": True}, ["epochs must be an integer"]),
    ({"lr": [0.1]}, ["a grid needs alpha"]),
    ({}, ["a grid needs lr and alpha"]),
    ({"lr": [0.1], "alpha": [0], "learning_rates": [1]}, ["unknown field(s) ['learning_rates']"]),
])
def test_bad_grids_are_refused_and_the_last_grid_is_kept(client, body, fragments):
    sid = image_session(client)
    good = run_grid(client, sid, [0.1], [0.0], 1)[-1]
    r = client.post(f"/api/image/{sid}/grid", json=body)
    assert r.status_code == 422, r.text
    for fragment in fragments:
        assert fragment in r.json()["error"], r.json()["error"]
    assert client.get(f"/api/image/{sid}/grid").json()["grid"] == good  # nothing changed


def test_a_grid_needs_a_gradient_optimizer_and_a_bounded_epoch(client):
    sid = image_session(client, optimizer="genetic")
    r = client.post(f"/api/image/{sid}/grid", json={"lr": [0.1], "alpha": [0]})
    assert r.status_code == 422
    assert "optimizer='genetic': a sweep trains gradient optimizers" in r.json()["error"]
    assert "choose one of them to run a grid" in r.json()["error"]
    sid = image_session(client, batch_size=1)  # 1,211 steps an epoch, one request
    r = client.post(f"/api/image/{sid}/grid", json={"lr": [0.1], "alpha": [0]})
    assert r.status_code == 422
    assert ("batch_size 1 makes an epoch of 1211 steps on the grid's 1211 images; a grid "
            "takes at most 1000 a request: raise batch_size to at least 2") in r.json()["error"]


def test_stepping_or_picking_without_a_grid_says_what_to_do(client):
    sid = image_session(client)
    for r in (client.post(f"/api/image/{sid}/grid/step", json={}),
              client.get(f"/api/image/{sid}/grid"),
              client.post(f"/api/image/{sid}/grid/pick", json={"lr": 0.1, "alpha": 0})):
        assert r.status_code == 422 and "no grid yet: start one" in r.json()["error"]
    r = client.post(f"/api/image/{sid}/grid", json={"lr": [0.1], "alpha": [0]})
    assert r.status_code == 200
    r = client.post(f"/api/image/{sid}/grid/pick", json={"lr": 0.1, "alpha": 0})
    assert r.status_code == 422 and "has not trained yet: run it first" in r.json()["error"]
    client.post(f"/api/image/{sid}/grid/step", json={})
    for body, fragment in [({"lr": 0.2, "alpha": 0}, "lr 0.2 is not in the grid"),
                           ({"lr": 0.1, "alpha": "0"}, 'alpha "0" is not in the grid'),
                           ({"lr": 0.1}, "give the cell's lr and alpha")]:
        r = client.post(f"/api/image/{sid}/grid/pick", json=body)
        assert r.status_code == 422 and fragment in r.json()["error"], r.text
    r = client.post(f"/api/image/{sid}/grid/step", json={"epochs": 3})
    assert r.status_code == 422 and "unknown field(s) ['epochs']" in r.json()["error"]
    r = client.post("/api/image/nope/grid/step", json={})
    assert r.status_code == 404
