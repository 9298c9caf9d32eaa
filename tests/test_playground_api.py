"""Every playground endpoint, good and bad requests, through Starlette's TestClient."""

import json
import math

import numpy as np
import pytest
from starlette.testclient import TestClient

from linclass.losses import LOSSES
from linclass.objective import value_and_grad
from linclass.options import choice, names, to_json
from linclass.web import create_app
from linclass.web import session2d as s2d
from linclass.web import session_image as simg
from linclass.web.presets import PRESETS, VIEW
from linclass.web.validation import MAX_BODY_BYTES

JSON = {"content-type": "application/json"}  # what the page sends with every body


@pytest.fixture()
def client():
    return TestClient(create_app())


@pytest.fixture()
def lecture(client):
    """A 2-D session on the lecture preset; returns (client, session id, first state)."""
    r = client.post("/api/2d", json={"preset": "lecture"})
    assert r.status_code == 200, r.text
    return client, r.json()["session"], r.json()


def no_nan(obj) -> bool:
    """True if no float anywhere in a JSON document is NaN or infinite."""
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, dict):
        return all(no_nan(v) for v in obj.values())
    if isinstance(obj, list):
        return all(no_nan(v) for v in obj)
    return True


# --- page and options ---------------------------------------------------------------------


def test_page_and_assets_are_served_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/static/app.js" in page.text and "http" not in page.text.split("<body>")[0].replace(
        "http-equiv", "")  # no CDN links in the head
    for name, kind in [("app.js", "javascript"), ("style.css", "css")]:
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"]
    assert client.get("/static/../app.py").status_code == 404


def test_options_list_the_library_names(client):
    o = client.get("/api/options").json()
    assert o["views"]["2d"]["losses"] == list(names("loss")) and set(LOSSES) <= set(names("loss"))
    assert {p["name"] for p in o["presets"]} == set(PRESETS)
    # every optimizer the playground can step: all of the records but the solvers (lbfgs)
    assert o["views"]["2d"]["optimizers"] == [
        n for n in names("optimizer") if not choice("optimizer", n).has("solver")]
    assert o["params"] == to_json()["params"]  # the records, as they are
    assert o["datasets"][0] == "digits" and o["datasets"] == simg.available_datasets()
    assert o["view"] == list(VIEW)


def test_unknown_route_and_method_answer_json(client):
    r = client.get("/api/nothing")
    assert r.status_code == 404 and "error" in r.json()
    r = client.get("/api/2d")  # POST only
    assert r.status_code == 405 and "error" in r.json()


# --- 2-D view -----------------------------------------------------------------------------


def test_new_2d_state_is_what_the_library_computes(lecture):
    _, sid, st = lecture
    assert st["session"] == sid and st["preset"] == "lecture" and st["step"] == 0
    X, y = np.array(st["points"]["X"]), np.array(st["points"]["y"])
    params = {"W": np.array(st["W"]), "b": np.array(st["b"])}
    c = st["config"]
    value, grads = value_and_grad(params, X, y, c["loss"], c["penalty"], c["alpha"],
                                  margin=c["margin"])
    assert st["loss"] == pytest.approx(value)
    np.testing.assert_allclose(st["dW"], grads["W"])
    np.testing.assert_allclose(st["db"], grads["b"])
    # each point's own loss is the library's loss over that one point
    for i in range(len(y)):
        single, _ = LOSSES["svm"](np.array(st["scores"][i:i + 1]), y[i:i + 1], margin=1.0)
        assert st["point_losses"][i] == pytest.approx(single)
    g = st["regions"]
    classes = np.repeat(g["runs"][0::3], g["runs"][2::3])
    assert len(classes) == g["nx"] * g["ny"] and set(classes) <= {0, 1, 2}
    # the corner cell (top left, x = y_max side) is the library's prediction there
    from linclass.model import predict
    corner = np.array([[VIEW[0] + 3 / g["nx"], VIEW[3] - 3 / g["ny"]]])
    assert classes[0] == predict(params, corner)[0]


def test_get_2d_returns_the_same_state(lecture):
    client, sid, st = lecture
    again = client.get(f"/api/2d/{sid}").json()
    assert again["loss"] == st["loss"] and again["W"] == st["W"]


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_steps_lower_the_loss_for_every_loss(client, loss):
    sid = client.post("/api/2d", json={"preset": "three_blobs"}).json()["session"]
    before = client.post(f"/api/2d/{sid}/config", json={"loss": loss, "alpha": 0.01}).json()
    after = client.post(f"/api/2d/{sid}/step", json={"steps": 30}).json()
    assert after["step"] == 30 and [h["step"] for h in after["history"]] == list(range(31))
    assert after["history"][-1]["loss"] == after["loss"]  # the curve ends at the counter
    assert after["loss"] < before["loss"]
    assert after["W"] != before["W"]


@pytest.mark.parametrize("optimizer", ["momentum", "nesterov"])
def test_momentum_optimizers_and_reset(lecture, optimizer):
    client, sid, st0 = lecture
    client.post(f"/api/2d/{sid}/config", json={"optimizer": optimizer, "learning_rate": 0.05})
    st = client.post(f"/api/2d/{sid}/step", json={"steps": 20}).json()
    assert st["loss"] < st0["loss"] and st["config"]["optimizer"] == optimizer
    back = client.post(f"/api/2d/{sid}/reset", json={}).json()
    assert back["W"] == st0["W"] and back["step"] == 0 and back["history"] == []
    xor = client.post(f"/api/2d/{sid}/reset", json={"preset": "xor"}).json()
    assert xor["preset"] == "xor" and xor["n_classes"] == 2 and len(xor["W"]) == 2


def test_points_replace_and_change_the_point_loss(lecture):
    client, sid, st = lecture
    X = [list(p) for p in st["points"]["X"]]
    X[0] = [-2.5, -2.5]  # drag a class-0 point deep into another class's region
    moved = client.post(f"/api/2d/{sid}/points", json={"X": X, "y": st["points"]["y"]}).json()
    assert moved["points"]["X"][0] == [-2.5, -2.5]
    assert moved["point_losses"][0] != st["point_losses"][0]
    assert moved["loss"] != st["loss"]
    empty = client.post(f"/api/2d/{sid}/points", json={"X": [], "y": []}).json()
    assert empty["loss"] is None and empty["point_losses"] == []
    stepped = client.post(f"/api/2d/{sid}/step", json={}).json()
    assert stepped["step"] == 0 and "Add some points" in stepped["message"]
    one = client.post(f"/api/2d/{sid}/points", json={"X": [[1, 1]], "y": [2]}).json()
    assert one["message"] is None and one["point_losses"][0] >= 0


def test_params_edit_updates_the_loss_at_once(lecture):
    client, sid, st = lecture
    W = [[0.0, 0.0]] * 3
    r = client.post(f"/api/2d/{sid}/params", json={"W": W, "b": [0.0, 0.0, 0.0]}).json()
    # all scores 0: SVM loss is (C - 1) * margin per point, and no penalty on W = 0
    assert r["loss"] == pytest.approx(2.0) and r["W"] == W


def test_diverging_learning_rate_is_flagged_without_nan(lecture):
    client, sid, _ = lecture
    client.post(f"/api/2d/{sid}/config", json={"learning_rate": 1e9, "alpha": 10.0})
    r = client.post(f"/api/2d/{sid}/step", json={"steps": 50})
    assert r.status_code == 200
    st = r.json()
    assert st["diverged"] is True and "learning rate" in st["message"]
    assert no_nan(st) and "NaN" not in r.text and "Infinity" not in r.text
    ok = client.post(f"/api/2d/{sid}/config", json={"learning_rate": 0.01}).json()
    assert ok["diverged"] is False and ok["message"] is None


@pytest.mark.parametrize(
    "path, body, status, words",
    [
        ("config", {"loss": "hinge"}, 422, "unknown loss"),
        ("config", {"optimizer": "adam"}, 422, "unknown optimizer"),
        ("config", {"penalty": "l3"}, 422, "unknown penalty"),
        ("config", {"learning_rate": "fast"}, 422, "must be a number"),
        ("config", {"learning_rate": True}, 422, "must be a number"),
        ("config", {"alpha": -1}, 422, "alpha must be in [0, 1000000]"),
        ("config", {"margin": 1e300}, 422, "margin must be in (0, 1000000]"),
        ("config", {"learning_rate": 0}, 422, "learning_rate must be in (0,"),
        ("config", {"learning_rat": 0.1}, 422, "unknown field"),
        ("step", {"steps": 0}, 422, "steps"),
        ("step", {"steps": 10**9}, 422, "steps"),
        ("step", {"steps": 2.5}, 422, "integer"),
        ("reset", {"preset": "moons"}, 422, "unknown preset"),
        ("points", {"X": [[0, 0]]}, 422, "required"),
        ("points", {"X": [[0, "a"]], "y": [0]}, 422, "must be a number"),
        ("points", {"X": [[0, 0, 0]], "y": [0]}, 422, "list of 2"),
        ("points", {"X": [[0, 0]], "y": [7]}, 422, "y[0]"),
        ("points", {"X": [[0, 0]], "y": [3]}, 422, "labels must lie"),  # lecture has 3
        ("points", {"X": [[0, 0]], "y": [0, 1]}, 422, "labels"),
        ("points", {"X": [[500, 0]], "y": [0]}, 422, "must lie in"),
        ("points", {"X": [[0, 0]] * (s2d.MAX_POINTS + 1), "y": [0] * (s2d.MAX_POINTS + 1)},
         413, "at most"),
        ("params", {"W": [[1, 2]], "b": [0]}, 422, "shape"),
        ("params", {"W": [[1, 2]] * 3, "b": [0, 0, "x"]}, 422, "must be a number"),
        ("params", {"W": [[1e7, 2]] * 3, "b": [0, 0, 0]}, 422, "must lie in"),
    ],
)
def test_bad_2d_requests_get_a_4xx_with_a_message(lecture, path, body, status, words):
    client, sid, st = lecture
    r = client.post(f"/api/2d/{sid}/{path}", json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]
    # and the session is unharmed
    assert client.get(f"/api/2d/{sid}").json()["loss"] == st["loss"]


@pytest.mark.parametrize("raw", [b'{"learning_rate": NaN}', b'{"alpha": Infinity}',
                                 b'{"margin": -Infinity}'])
def test_nan_and_infinity_literals_are_refused(lecture, raw):
    client, sid, _ = lecture
    r = client.post(f"/api/2d/{sid}/config", content=raw, headers=JSON)
    assert r.status_code == 422 and "finite" in r.json()["error"]


def test_nan_inside_points_is_refused(lecture):
    client, sid, _ = lecture
    raw = b'{"X": [[0, NaN]], "y": [0]}'
    r = client.post(f"/api/2d/{sid}/points", content=raw, headers=JSON)
    assert r.status_code == 422 and "finite" in r.json()["error"]


@pytest.mark.parametrize("raw, status", [(b"{not json", 400), (b"[1, 2]", 400),
                                         (b"\xff\xfe", 400)])
def test_malformed_bodies(lecture, raw, status):
    client, sid, _ = lecture
    r = client.post(f"/api/2d/{sid}/step", content=raw, headers=JSON)
    assert r.status_code == status and "error" in r.json()


def test_oversized_body_is_refused_before_parsing(lecture):
    client, sid, _ = lecture
    r = client.post(f"/api/2d/{sid}/points", content=b"[" + b"0," * MAX_BODY_BYTES + b"0]",
                    headers=JSON)
    assert r.status_code == 413 and "too large" in r.json()["error"]


def test_unknown_session_is_404(client):
    for r in (client.get("/api/2d/nope"), client.post("/api/2d/nope/step", json={}),
              client.get("/api/image/nope"),
              client.get("/api/image/nope/explain/0")):
        assert r.status_code == 404 and "unknown" in r.json()["error"]


def test_new_2d_bad_preset_and_seed(client):
    assert client.post("/api/2d", json={"preset": 3}).status_code == 422
    assert client.post("/api/2d", json={"seed": -1}).status_code == 422
    assert client.post("/api/2d", json={"seed": "1"}).status_code == 422
    assert client.post("/api/2d").status_code == 200  # empty body: defaults


def test_session_store_is_capped(client, monkeypatch):
    from linclass.web import app as app_module

    monkeypatch.setattr(app_module, "MAX_2D_SESSIONS", 3)
    monkeypatch.setattr(app_module, "SESSION_IDLE_SECONDS", 0.0)  # any unused one may go
    c = TestClient(app_module.create_app())
    ids = [c.post("/api/2d", json={"preset": "empty"}).json()["session"] for _ in range(4)]
    assert c.get(f"/api/2d/{ids[0]}").status_code == 404  # least recently used, dropped
    assert all(c.get(f"/api/2d/{i}").status_code == 200 for i in ids[1:])


def test_trusted_hosts_refuse_other_host_headers():
    c = TestClient(create_app(trusted_hosts=["127.0.0.1", "localhost"]),
                   base_url="http://127.0.0.1")
    assert c.get("/api/options").status_code == 200
    assert c.get("/api/options", headers={"host": "evil.example"}).status_code == 400


# --- image view ---------------------------------------------------------------------------


@pytest.fixture()
def image(client):
    r = client.post("/api/image", json={"dataset": "digits", "learning_rate": 0.5})
    assert r.status_code == 200, r.text
    return client, r.json()["session"], r.json()


def test_new_image_session(image):
    _, _, st = image
    assert st["class_names"] == [str(k) for k in range(10)] and st["image_shape"] == [8, 8]
    px = np.array(st["templates"]["pixels"])
    assert px.shape == (10, 64) and px.min() >= 0 and px.max() <= 255
    g = st["gallery"]
    assert len(g["indices"]) == len(g["labels"]) == len(g["images"]) == 30
    assert len(g["images"][0]) == 64


def test_image_steps_train_and_change_the_templates(image):
    client, sid, st0 = image
    st = client.post(f"/api/image/{sid}/step", json={"steps": 40}).json()
    assert st["step"] == 40 and [h["step"] for h in st["history"]] == [0, 40]
    assert st0["history"][0]["test_accuracy"] < 0.5  # the curves start before training
    h = st["history"][-1]
    assert h["test_accuracy"] > 0.8 and h["train_loss"] < math.log(10)
    assert st["templates"]["pixels"] != st0["templates"]["pixels"]
    assert "images" not in st["gallery"]  # sent once, with the new session
    again = client.get(f"/api/image/{sid}").json()
    assert again["step"] == 40 and "images" in again["gallery"]


def test_image_config_and_explain(image):
    client, sid, st = image
    cfg = client.post(f"/api/image/{sid}/config",
                      json={"loss": "svm", "margin": 2.0, "batch_size": 32}).json()
    assert cfg["config"]["loss"] == "svm" and cfg["config"]["batch_size"] == 32
    idx = st["gallery"]["indices"][0]
    ex = client.get(f"/api/image/{sid}/explain/{idx}").json()
    assert ex["loss"] == "svm" and ex["margin"] == 2.0 and ex["index"] == idx
    assert ex["label"] == st["gallery"]["labels"][0] and len(ex["image"]) == 64
    assert len(ex["terms"]) == 9 and "probabilities" not in ex  # a hinge loss has none
    assert np.array(ex["contributions"]["pixels"]).shape == (10, 64)
    assert ex["lines"][-1].startswith("L_i = ")


def test_image_diverges_with_a_message_and_no_nan(client):
    r = client.post("/api/image", json={"learning_rate": 1e9, "alpha": 10.0, "loss": "svm"})
    sid = r.json()["session"]
    st = client.post(f"/api/image/{sid}/step", json={"steps": 20})
    assert st.status_code == 200 and no_nan(st.json())
    assert st.json()["diverged"] is True and "learning rate" in st.json()["message"]


@pytest.mark.parametrize(
    "body, words",
    [
        ({"dataset": "cifar-10"}, "unknown dataset"),
        ({"loss": "mse"}, "unknown loss"),
        ({"optimizer": "adagrad"}, "unknown optimizer"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 10**6}, "batch_size"),
        ({"learning_rate": "0.1"}, "must be a number"),
        ({"epochs": 3}, "unknown field"),
    ],
)
def test_bad_new_image_requests(client, body, words):
    r = client.post("/api/image", json=body)
    assert r.status_code == 422 and words in r.json()["error"]


@pytest.mark.parametrize(
    "method, path, body, status, words",
    [
        ("post", "step", {"steps": 10**6}, 422, "steps"),
        ("post", "step", {"steps": "ten"}, 422, "integer"),
        ("post", "config", {"alpha": float("nan")}, 422, "finite"),
        ("get", "explain/99999", None, 422, "index"),
        ("get", "explain/-1", None, 422, "index"),
        ("get", "explain/abc", None, 422, "index"),
    ],
)
def test_bad_image_requests(image, method, path, body, status, words):
    client, sid, _ = image
    if method == "post":
        # json.dumps writes NaN as the literal the server must refuse
        r = client.post(f"/api/image/{sid}/{path}", content=json.dumps(body), headers=JSON)
    else:
        r = client.get(f"/api/image/{sid}/{path}")
    assert r.status_code == status, r.text
    assert words in r.json()["error"]


@pytest.mark.skipif("fashion-mnist" not in simg.available_datasets(),
                    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_trains_when_installed(client):
    r = client.post("/api/image", json={"dataset": "fashion-mnist", "learning_rate": 0.1})
    assert r.status_code == 200, r.text
    st0 = r.json()
    assert st0["image_shape"] == [28, 28] and st0["class_names"][0] == "T-shirt/top"
    assert np.array(st0["templates"]["pixels"]).shape == (10, 784)
    assert len(st0["gallery"]["images"][0]) == 784
    st = client.post(f"/api/image/{st0['session']}/step", json={"steps": 60}).json()
    assert st["history"][-1]["test_accuracy"] > 0.6
    assert st["history"][-1]["train_loss"] < st0["history"][0]["train_loss"]
