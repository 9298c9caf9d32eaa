"""The playground under hostile requests (issue 19, item 10): malformed bodies are 4xx,
never 500; every response has security headers; only the page itself may change state;
sessions in use are never evicted, and creating one never 404s."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.testclient import TestClient

from linclass.web import app as app_module
from linclass.web import create_app
from linclass.web.app import SessionStore
from linclass.web.security import SECURITY_HEADERS
from linclass.web.validation import BadRequest

JSON = {"content-type": "application/json"}
DEEP = b"[" * 100_000 + b"]" * 100_000  # 200 kB: under the body limit, far too deep


@pytest.fixture()
def client():
    return TestClient(create_app())


@pytest.fixture()
def sessions(client):
    """Ids of one 2-D and one image session."""
    plane = client.post("/api/2d", json={"preset": "lecture"}).json()["session"]
    image = client.post("/api/image", json={}).json()["session"]
    return plane, image


def post_paths(plane, image):
    return ["/api/2d", f"/api/2d/{plane}/config", f"/api/2d/{plane}/step",
            f"/api/2d/{plane}/reset", f"/api/2d/{plane}/points", f"/api/2d/{plane}/params",
            "/api/image", f"/api/image/{image}/config", f"/api/image/{image}/step"]


def test_deeply_nested_json_is_a_400_on_every_post_endpoint(client, sessions):
    for path in post_paths(*sessions):
        for body in (DEEP, b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}"):
            r = client.post(path, content=body, headers=JSON)
            assert r.status_code == 400 and "nests" in r.json()["error"], (path, r.text)


@pytest.mark.parametrize("field", ["alpha", "margin", "learning_rate"])
@pytest.mark.parametrize("value", [b"1" + b"0" * 400, b"-" + b"9" * 400, b"1e400"])
def test_numbers_beyond_a_float_are_a_422(client, sessions, field, value):
    plane, image = sessions
    body = b'{"%s": %s}' % (field.encode(), value)
    for path in (f"/api/2d/{plane}/config", f"/api/image/{image}/config", "/api/image"):
        r = client.post(path, content=body, headers=JSON)
        assert r.status_code == 422 and field in r.json()["error"] or "finite" in \
            r.json()["error"], (path, r.text)


def test_every_response_carries_the_security_headers(client, sessions):
    plane, _ = sessions
    responses = [client.get("/"), client.get("/static/app.js"), client.get("/api/options"),
                 client.get("/api/2d/nope"), client.get("/static/nope.js"),
                 client.post(f"/api/2d/{plane}/step", json={"steps": "x"}),
                 client.post("/api/2d", content=b"x", headers={"content-type": "text/plain"})]
    for r in responses:
        for name, value in SECURITY_HEADERS.items():
            assert r.headers.get(name) == value, (r.url, name)
    csp = responses[0].headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp


@pytest.mark.parametrize("headers", [
    {"content-type": "text/plain", "origin": "https://evil.example"},
    {"content-type": "application/x-www-form-urlencoded", "origin": "https://evil.example"},
    {"content-type": "multipart/form-data; boundary=x", "origin": "null"},
    {"content-type": "text/plain"},
    {"content-type": "application/json", "origin": "https://evil.example"},
    {"content-type": "application/json", "sec-fetch-site": "cross-site"},
])
def test_requests_another_page_could_send_change_nothing(headers, monkeypatch):
    created = []
    real_add = SessionStore.add
    monkeypatch.setattr(SessionStore, "add",
                        lambda self, s, *a: created.append(s) or real_add(self, s, *a))
    c = TestClient(create_app())
    for path in ("/api/2d", "/api/image"):
        r = c.post(path, content=b'{"seed": 1}', headers=headers)
        assert r.status_code in (403, 415) and "error" in r.json(), (path, r.text)
    assert created == []


def test_the_page_itself_may_change_state(client):
    own = {**JSON, "origin": "http://testserver", "sec-fetch-site": "same-origin"}
    assert client.post("/api/2d", content=b'{"seed": 1}', headers=own).status_code == 200
    assert client.post("/api/2d").status_code == 200  # no body, no type: curl -X POST


# --- sessions -------------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_full_store_evicts_only_idle_sessions_and_says_503_otherwise():
    clock = Clock()
    store = SessionStore(2, "image", idle_seconds=60, clock=clock)
    a, b = store.add("A"), store.add("B")
    clock.now = 30
    store.run(a, lambda s: None)
    with pytest.raises(BadRequest, match="too many image sessions") as err:
        store.add("C")  # both used within the last minute
    assert err.value.status == 503
    clock.now = 95  # b idle for 95 s, a for 65 s: the least recently used idle one goes
    c = store.add("C")
    assert store.run(a, lambda s: s) == "A" and store.run(c, lambda s: s) == "C"
    with pytest.raises(BadRequest, match="unknown") as err:
        store.run(b, lambda s: s)
    assert err.value.status == 404


@pytest.mark.timeout(30)
def test_a_session_in_use_is_never_evicted_however_long_it_runs():
    clock = Clock()
    store = SessionStore(1, "image", idle_seconds=60, clock=clock)
    sid = store.add("A")
    inside, leave = threading.Event(), threading.Event()

    def long_step(session):
        inside.set()
        leave.wait(10)
        return session

    with ThreadPoolExecutor(1) as pool:
        step = pool.submit(store.run, sid, long_step)
        inside.wait(10)
        clock.now = 10_000  # "idle" by the clock, but a request is inside it
        with pytest.raises(BadRequest, match="too many"):
            store.add("B")
        leave.set()
        assert step.result() == "A"
    assert store.run(sid, lambda s: s) == "A"


def test_learners_training_keep_their_sessions_when_more_arrive(monkeypatch):
    monkeypatch.setattr(app_module, "MAX_IMAGE_SESSIONS", 2)
    c = TestClient(create_app())
    ids = [c.post("/api/image", json={}).json()["session"] for _ in range(2)]
    for sid in ids:
        assert c.post(f"/api/image/{sid}/step", json={"steps": 1}).status_code == 200
    r = c.post("/api/image", json={})
    assert r.status_code == 503 and "too many image sessions" in r.json()["error"]
    for sid in ids:  # nobody was pulled out mid-training
        assert c.post(f"/api/image/{sid}/step", json={"steps": 1}).status_code == 200


@pytest.mark.timeout(120)
def test_creating_an_image_session_never_404s(monkeypatch):
    monkeypatch.setattr(app_module, "MAX_IMAGE_SESSIONS", 2)
    monkeypatch.setattr(app_module, "SESSION_IDLE_SECONDS", 0.0)
    c = TestClient(create_app())
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: c.post("/api/image", json={}).status_code, range(40)))
    assert set(codes) <= {200, 503} and 200 in codes, codes


# --- one client cannot lock the others out (issue 29, item 13) -------------------------------


def test_a_client_creating_sessions_in_a_loop_replaces_its_own_and_locks_nobody_out():
    clock = Clock()
    store = SessionStore(10, "2-D", idle_seconds=600, clock=clock, per_client=3)
    learner = store.add("L", "10.0.0.2")
    spam = [store.add(f"S{i}", "10.0.0.1") for i in range(199)]  # all within a second
    assert store.run(learner, lambda s: s) == "L"
    for i in range(6):  # new clients still get sessions at once, up to the cap
        store.add(f"N{i}", f"10.0.1.{i}")
    assert store.run(spam[-1], lambda s: s) == "S198"  # the spammer keeps its newest three
    with pytest.raises(BadRequest) as err:
        store.run(spam[0], lambda s: s)
    assert err.value.status == 404


def test_a_client_at_its_share_with_every_session_in_use_gets_a_503_naming_it():
    clock = Clock()
    store = SessionStore(10, "image", idle_seconds=600, clock=clock, per_client=1)
    sid = store.add("A", "c")
    inside, leave = threading.Event(), threading.Event()

    def long_step(session):
        inside.set()
        leave.wait(10)
        return session

    with ThreadPoolExecutor(1) as pool:
        step = pool.submit(store.run, sid, long_step)
        inside.wait(10)
        with pytest.raises(BadRequest, match="from this client") as err:
            store.add("B", "c")
        assert err.value.status == 503
        store.add("C", "another")  # others are not held up
        leave.set()
        assert step.result() == "A"


def test_the_app_limits_sessions_per_client_address(monkeypatch):
    monkeypatch.setattr(app_module, "MAX_2D_SESSIONS", 6)
    monkeypatch.setattr(app_module, "MAX_2D_SESSIONS_PER_CLIENT", 2)
    app = create_app()
    c = TestClient(app)
    codes = [c.post("/api/2d", json={"preset": "empty"}).status_code for _ in range(12)]
    assert codes == [200] * 12  # was a 503 from the seventh on, for every client
    others = [TestClient(app, client=(f"10.0.0.{i}", 50000)) for i in range(3)]
    for other in others:
        assert other.post("/api/2d", json={"preset": "empty"}).status_code == 200
