"""A shared link (the URL fragment) reproduces the 2-D view, and a bad one is refused in
words, never with a server error; the data controls (noise, test fraction) and the
confidence shading, through the API."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from linclass.losses import softmax
from linclass.model import predict, scores
from linclass.web import create_app
from linclass.web import session2d as s2d
from linclass.web.link import MAX_LINK_CHARS, LinkState, decode, encode
from linclass.web.presets import VIEW
from linclass.web.transforms import EXTRA_FEATURES, transform


@pytest.fixture()
def client():
    return TestClient(create_app())


def new(client, **body):
    r = client.post("/api/2d", json=body)
    assert r.status_code == 200, r.text
    return r.json()["session"], r.json()


def f32(X):
    return np.asarray(X, dtype=np.float32).astype(np.float64).tolist()


# --- links ---------------------------------------------------------------------------------


def test_a_link_reproduces_an_edited_view(client):
    sid, st0 = new(client, preset="xor", seed=3, noise=0.2, test_fraction=0.5)
    client.post(f"/api/2d/{sid}/features", json={"extras": ["x1·x2"]})
    client.post(f"/api/2d/{sid}/config", json={"loss": "softmax", "alpha": 0.003,
                                               "optimizer": "adam", "learning_rate": 0.05})
    client.post(f"/api/2d/{sid}/step", json={"steps": 40})
    X = f32(np.array(st0["points"]["X"])[:-2] + 0.1)  # the page sends float32 points
    y = st0["points"]["y"][:-2]
    st = client.post(f"/api/2d/{sid}/points", json={"X": X, "y": y}).json()
    assert st["points_edited"] and "points=" in st["link"] and "labels=" in st["link"]

    _, again = new(client, link=st["link"])
    for key in ["preset", "seed", "noise", "test_fraction", "features", "config", "points",
                "test_points", "W", "b", "loss", "scores", "regions", "test_accuracy",
                "link"]:
        assert again[key] == st[key], key
    assert again["step"] == 0 and again["history"] == []  # the view, not how it came


def test_a_link_carries_only_what_differs(client):
    _, st = new(client, preset="lecture")
    assert st["link"].startswith("v=1&preset=lecture&W=")
    assert "points" not in st["link"] and "loss" not in st["link"] and "seed" not in st["link"]
    _, st = new(client, preset="circles")  # its own test fraction: not written
    assert "test_fraction" not in st["link"]
    _, st = new(client, preset="circles", test_fraction=0.1)
    assert "test_fraction=0.1" in st["link"]


def test_the_largest_view_fits_in_a_link(client):
    """500 edited points, every extra feature, every setting changed: under the limit."""
    sid, st = new(client, preset="empty", noise=0.9, seed=2**31 - 1)
    rng = np.random.default_rng(0)
    X = f32(rng.uniform(-99.999, 99.999, (s2d.MAX_POINTS, 2)))
    y = rng.integers(0, 3, s2d.MAX_POINTS).tolist()
    client.post(f"/api/2d/{sid}/points", json={"X": X, "y": y})
    client.post(f"/api/2d/{sid}/features", json={"extras": list(EXTRA_FEATURES)})
    client.post(f"/api/2d/{sid}/config", json={
        "loss": "softmax", "penalty": "elasticnet", "alpha": 0.123456789012345,
        "l1_ratio": 0.987654321, "optimizer": "adam", "learning_rate": 0.000123456789,
        "batch_size": 17, "momentum": 0.8765432109})
    W = (-rng.uniform(1e5, 1e6, (3, 5)) / 7).tolist()
    st = client.post(f"/api/2d/{sid}/params", json={"W": W, "b": [-123456.789012345] * 3}).json()
    assert len(st["link"]) <= MAX_LINK_CHARS, len(st["link"])
    _, again = new(client, link=st["link"])
    assert again["points"] == st["points"] and again["W"] == st["W"]
    assert again["config"] == st["config"]


def test_a_link_round_trips_through_encode_and_decode():
    state = LinkState("spirals", 7, 0.35, 0.2, {"loss": "softmax", "alpha": 1e-05},
                      ("x1²", "x2²"), np.array([[1.0, -2.5, 0.1, 3e-7]]), np.array([0.25]),
                      (np.array([[0.5, -1.25], [2.0, 0.0]]), np.array([1, 0])))
    text = encode(state)
    back = decode("#" + text, ["loss", "alpha"], 4, 5)
    assert (back.preset, back.seed, back.noise, back.test_fraction) == ("spirals", 7, 0.35, 0.2)
    assert back.config == {"loss": "softmax", "alpha": 1e-05} and back.extras == ("x1²", "x2²")
    assert back.W.tolist() == state.W.tolist() and back.b.tolist() == [0.25]
    assert back.points[0].tolist() == [[0.5, -1.25], [2.0, 0.0]]
    assert back.points[1].tolist() == [1, 0]


@pytest.mark.parametrize("link, status, words", [
    ("x" * (MAX_LINK_CHARS + 1), 413, "too long"),
    ("preset=xor&preset=lecture", 422, "preset is given twice"),
    ("preset=xor&colour=red", 422, "unknown key 'colour'"),
    ("v=9&preset=xor", 422, "version '9'"),
    ("seed=3", 422, "names no preset"),
    ("preset=moons", 422, "unknown preset"),
    ("preset=xor&seed=-1", 422, "seed"),
    ("preset=xor&seed=1.5", 422, "seed must be an integer in [0, 2147483647]"),
    ("preset=xor&noise=NaN", 422, "noise must be a number"),
    ("preset=xor&noise=1e999", 422, "noise must be a finite number"),
    ("preset=xor&noise=5", 422, "noise must lie in [0, 1]"),
    ("preset=xor&test_fraction=0.95", 422, "test_fraction must lie in [0, 0.9]"),
    ("preset=xor&learning_rate=0", 422, "learning_rate must be"),
    ("preset=xor&loss=hinge2", 422, "unknown loss"),
    ("preset=xor&features=x3", 422, "unknown feature"),
    ("preset=xor&W=1,2;3,4", 422, "W and b come together"),
    ("preset=xor&W=1,2;3&b=0,0", 422, "same number of weights"),
    ("preset=xor&W=1,2,3&b=0", 422, "W must have shape (2, 2)"),
    ("preset=xor&W=1e7,2;3,4&b=0,0", 422, "no larger than 1e6"),
    ("preset=xor&points=AAAA", 422, "points and labels come together"),
    ("preset=xor&points=AAAA&labels=0", 422, "8 bytes a point"),
    ("preset=xor&points=AA*A&labels=0", 422, "URL-safe base64"),
    ("preset=xor&points=AAAAAAAAAAA&labels=01", 422, "2 digits for 1 points"),
    ("preset=xor&points=AAAAAAAAAAA&labels=7", 422, "labels must lie in [0, 1]"),
    ("preset=xor&points=AADAfwAAAAA&labels=0", 422, "finite numbers in [-100, 100]"),
    ("preset=xor&&", 422, "not a list of key=value pairs"),
])
def test_a_bad_link_is_refused_with_a_message(client, link, status, words):
    r = client.post("/api/2d", json={"link": link})
    assert r.status_code == status, r.text
    assert r.json()["error"].startswith("this link cannot be opened: ")
    assert words in r.json()["error"], r.json()["error"]


def test_a_link_comes_alone_and_as_text(client):
    r = client.post("/api/2d", json={"link": "preset=xor", "seed": 2})
    assert r.status_code == 422 and "send it alone" in r.json()["error"]
    r = client.post("/api/2d", json={"link": ["preset=xor"]})
    assert r.status_code == 422 and "link must be a string" in r.json()["error"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(text=st.one_of(
    st.text(max_size=200),
    st.lists(st.tuples(st.sampled_from(["v", "preset", "seed", "noise", "test_fraction",
                                        "features", "W", "b", "points", "labels", "loss",
                                        "alpha", "batch_size"]),
                       st.text(alphabet="0123456789.,;-eE+xAa_%", max_size=12)), max_size=6)
    .map(lambda kv: "&".join(f"{k}={v}" for k, v in [("preset", "xor"), *kv]))))
def test_no_link_breaks_the_server(client, text):
    r = client.post("/api/2d", json={"link": text})
    assert r.status_code in (200, 413, 422), (text, r.text)
    if r.status_code != 200:
        assert r.json()["error"].startswith("this link cannot be opened: ")


# --- noise and test fraction -------------------------------------------------------------


def test_noise_jitters_the_same_points_further(client):
    _, st0 = new(client, preset="three_blobs")
    _, st1 = new(client, preset="three_blobs", noise=0.2)
    _, st2 = new(client, preset="three_blobs", noise=0.4)
    X0, X1, X2 = (np.array(s["points"]["X"]) for s in (st0, st1, st2))
    inside = (np.abs(X2) < 2.8).all(axis=1) & (np.abs(X1) < 2.8).all(axis=1)  # none clipped
    np.testing.assert_allclose((X2 - X0)[inside], 2 * (X1 - X0)[inside], atol=1e-12)
    assert np.std(X1 - X0) == pytest.approx(0.2, rel=0.25)  # 90 draws of N(0, 0.2²)
    assert st1["noise"] == 0.2 and st1["points"]["y"] == st0["points"]["y"]


def test_test_fraction_holds_out_that_share(client):
    sid, st = new(client, preset="three_blobs", test_fraction=0.4)
    assert len(st["test_points"]["y"]) == 18 and len(st["points"]["y"]) == 27
    S = scores({"W": np.array(st["W"]), "b": np.array(st["b"])},
               np.array(st["test_points"]["X"]))
    assert st["test_predictions"] == np.argmax(S, axis=1).tolist()
    assert st["test_accuracy"] == pytest.approx(
        np.mean(np.array(st["test_predictions"]) == st["test_points"]["y"]))
    # a reset of the same preset keeps the data settings; another preset has its own
    same = client.post(f"/api/2d/{sid}/reset", json={"preset": "three_blobs"}).json()
    assert same["test_fraction"] == 0.4 and same["test_points"] == st["test_points"]
    other = client.post(f"/api/2d/{sid}/reset", json={"preset": "circles"}).json()
    assert other["test_fraction"] == 0.3 and other["noise"] == 0.0
    back = client.post(f"/api/2d/{sid}/reset", json={"test_fraction": 0.0}).json()
    assert back["preset"] == "circles" and back["test_points"]["y"] == []
    assert len(back["points"]["y"]) == 120


@pytest.mark.parametrize("body, words", [
    ({"noise": -0.1}, "noise must lie in [0, 1]"),
    ({"noise": "high"}, "noise must be a number"),
    ({"test_fraction": 1.0}, "test_fraction must lie in [0, 0.9]"),
    ({"test_fraction": True}, "test_fraction must be a number"),
])
def test_bad_data_settings_are_refused(client, body, words):
    sid, st = new(client, preset="circles")
    for r in (client.post("/api/2d", json=body),
              client.post(f"/api/2d/{sid}/reset", json=body)):
        assert r.status_code == 422 and words in r.json()["error"]
    assert client.get(f"/api/2d/{sid}").json()["points"] == st["points"]  # unchanged


def test_features_reset_with_the_preset(client):
    sid, _ = new(client, preset="circles")
    client.post(f"/api/2d/{sid}/features", json={"extras": ["x1²", "x2²"]})
    same = client.post(f"/api/2d/{sid}/reset", json={"preset": "circles"}).json()
    assert same["features"] == ["x1", "x2", "x1²", "x2²"]  # the Reset button keeps them
    other = client.post(f"/api/2d/{sid}/reset", json={"preset": "xor"}).json()
    assert other["features"] == ["x1", "x2"] and np.array(other["W"]).shape == (2, 2)


def test_options_give_the_data_limits(client):
    o = client.get("/api/options").json()
    assert o["limits"]["max_noise"] == 1.0 and o["limits"]["max_test_fraction"] == 0.9
    assert o["limits"]["max_link_chars"] == MAX_LINK_CHARS
    assert {p["name"]: p["test_fraction"] for p in o["presets"]}["circles"] == 0.3


# --- confidence shading --------------------------------------------------------------------


def cells(g):
    """(class, level) per cell of the region grid, row-major, row 0 at the top."""
    runs = np.array(g["runs"]).reshape(-1, 3)
    return np.repeat(runs[:, 0], runs[:, 2]), np.repeat(runs[:, 1], runs[:, 2])


def centres(g):
    x0, x1, y0, y1 = VIEW
    xs = x0 + (np.arange(g["nx"]) + 0.5) * (x1 - x0) / g["nx"]
    ys = y1 - (np.arange(g["ny"]) + 0.5) * (y1 - y0) / g["ny"]
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def test_softmax_shading_is_the_winners_probability(client):
    sid, _ = new(client, preset="three_blobs")
    st = client.post(f"/api/2d/{sid}/config", json={"loss": "softmax"}).json()
    g = st["regions"]
    assert g["confidence"] == "probability"
    klass, level = cells(g)
    S = scores({"W": np.array(st["W"]), "b": np.array(st["b"])}, centres(g))
    e = np.exp(S - S.max(axis=1, keepdims=True))  # softmax written out, not the library's
    p = (e / e.sum(axis=1, keepdims=True)).max(axis=1)
    want = np.minimum(np.floor(g["levels"] * (p - 1 / 3) / (2 / 3)), g["levels"] - 1)
    assert np.array_equal(klass, np.argmax(S, axis=1))
    assert np.mean(level == want) > 0.999  # a few cells may sit on a level's edge
    assert level.min() == 0 and level.max() == g["levels"] - 1


def test_svm_shading_is_the_lead_over_the_runner_up_in_margins(client):
    sid, _ = new(client, preset="lecture")
    st = client.post(f"/api/2d/{sid}/config", json={"margin": 2.0}).json()
    g = st["regions"]
    assert g["confidence"] == "margin"
    _, level = cells(g)
    params = {"W": np.array(st["W"]), "b": np.array(st["b"])}
    S = np.sort(scores(params, centres(g)), axis=1)
    lead = (S[:, -1] - S[:, -2]) / 2.0
    want = np.minimum(np.floor(g["levels"] * np.minimum(lead, 1)), g["levels"] - 1)
    assert np.mean(level == want) > 0.999
    # at the boundary the model is least sure; far from it, full strength
    near = lead < 0.05
    assert near.any() and (level[near] == 0).all()
    assert (level[lead > 1] == g["levels"] - 1).all()


def test_confidence_follows_the_extra_features(client):
    sid, _ = new(client, preset="circles")
    st = client.post(f"/api/2d/{sid}/features", json={"extras": ["x1²", "x2²"]}).json()
    st = client.post(f"/api/2d/{sid}/step", json={"steps": 100}).json()
    g = st["regions"]
    klass, _ = cells(g)
    params = {"W": np.array(st["W"]), "b": np.array(st["b"])}
    assert np.array_equal(klass, predict(params, transform(centres(g), ["x1²", "x2²"])))


def test_the_library_softmax_is_what_the_shading_uses():
    S = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    s = s2d.Session2D("three_blobs")
    s.configure(loss="softmax")
    c = s.confidence(S)
    assert c[1] == pytest.approx(0.0)  # a tie
    assert c[0] == pytest.approx((softmax(S)[0].max() - 1 / 3) / (2 / 3))


def test_a_refused_reset_changes_nothing():
    s = s2d.Session2D("circles")
    s.set_features(["x1²"])
    before = s.state()
    for bad in [{"preset": "moons"}, {"noise": 2.0}, {"test_fraction": -0.5}]:
        with pytest.raises(ValueError):
            s.reset(**bad)
        assert s.state() == before
