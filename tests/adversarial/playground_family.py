"""Adversarial clients of the playground (issue 29, item 13, and its session store):
clients creating sessions in loops and in parallel, from one address and from many,
learners mid-training, hostile requests. Handled: nobody is locked out by another client,
a learner's session survives, every answer is JSON with a 2xx/4xx/503 status, never a 500.

    python tests/adversarial/playground_family.py

The fast regression tests are in tests/test_playground_security.py.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from runtime_harness import main
from starlette.testclient import TestClient

from linclass.web import app as app_module
from linclass.web import create_app
from linclass.web.app import SessionStore
from linclass.web.validation import BadRequest

APP = create_app()


def client(address: str = "127.0.0.1") -> TestClient:
    return TestClient(APP, client=(address, 50000))


def fresh(address: str = "127.0.0.1") -> TestClient:
    return TestClient(create_app(), client=(address, 50000))


def new_2d(c: TestClient) -> tuple[int, str | None]:
    r = c.post("/api/2d", json={"preset": "empty"})
    return r.status_code, (r.json().get("session") if r.status_code == 200 else None)


def status(ok: bool, detail: str) -> tuple[bool, str]:
    """A case's verdict and what it saw."""
    return ok, detail


def case_199_sessions_then_another_client():
    c = fresh()
    app = c.app
    spam = [c.post("/api/2d", json={"preset": "empty"}).status_code for _ in range(199)]
    other = TestClient(app, client=("10.0.0.7", 1)).post("/api/2d", json={}).status_code
    return status(other == 200 and set(spam) == {200}, f"spam {set(spam)}, other {other}")


def case_the_spammer_itself_is_never_locked_out():
    c = fresh()
    codes = [new_2d(c)[0] for _ in range(260)]
    return status(set(codes) == {200}, f"{codes.count(200)} of 260 created")


def case_a_learner_on_another_address_keeps_its_session():
    app = create_app()
    learner = TestClient(app, client=("10.0.0.2", 1))
    _, sid = new_2d(learner)
    spammer = TestClient(app, client=("10.0.0.3", 1))
    for _ in range(300):
        new_2d(spammer)
    code = learner.post(f"/api/2d/{sid}/step", json={"steps": 1}).status_code
    return status(code == 200, f"learner's step after 300 sessions of another client: {code}")


def case_a_learner_on_the_same_address_survives_a_short_burst():
    app = create_app()
    c = TestClient(app)
    _, sid = new_2d(c)
    c.post(f"/api/2d/{sid}/step", json={"steps": 1})
    for _ in range(30):  # fewer than the client's share
        new_2d(c)
    code = c.post(f"/api/2d/{sid}/step", json={"steps": 1}).status_code
    return status(code == 200, f"step after a burst of 30: {code}")


def case_image_sessions_spammed_then_another_client():
    app = create_app()
    spammer = TestClient(app, client=("10.0.0.4", 1))
    codes = [spammer.post("/api/image", json={}).status_code for _ in range(20)]
    other = TestClient(app, client=("10.0.0.5", 1)).post("/api/image", json={}).status_code
    return status(other == 200 and set(codes) == {200}, f"spam {set(codes)}, other {other}")


def case_parallel_creation_from_one_address_never_500s():
    c = fresh()
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: new_2d(c)[0], range(120)))
    return status(set(codes) <= {200, 503} and 200 in codes, f"codes {sorted(set(codes))}")


def case_parallel_creation_from_many_addresses():
    app = create_app()
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: new_2d(TestClient(app, client=(f"10.1.0.{i % 50}", 1)))[0],
                              range(150)))
    return status(set(codes) <= {200, 503} and codes.count(200) >= 140,
                  f"{codes.count(200)} of 150 created, codes {sorted(set(codes))}")


def case_own_sessions_all_in_use_is_a_503_for_that_client_only():
    store = SessionStore(10, "image", per_client=1)
    sid = store.add("A", "c")
    inside, leave = threading.Event(), threading.Event()
    with ThreadPoolExecutor(1) as pool:
        step = pool.submit(store.run, sid, lambda s: (inside.set(), leave.wait(10)))
        inside.wait(10)
        try:
            store.add("B", "c")
            mine = "accepted"
        except BadRequest as e:
            mine = f"{e.status}: {e.message[:60]}"
        other = store.add("C", "d") is not None
        leave.set()
        step.result()
    return status(mine.startswith("503") and other, f"same client: {mine}; other client ok")


def case_full_store_of_busy_learners_still_503s():
    store = SessionStore(2, "image", idle_seconds=600, per_client=8)
    store.add("A", "a"), store.add("B", "b")
    try:
        store.add("C", "c")
    except BadRequest as e:
        return status(e.status == 503, "legitimately full: 503")
    return False, "a learner's session was pulled out"


def case_idle_sessions_make_room():
    now = [0.0]
    store = SessionStore(2, "2-D", idle_seconds=60, clock=lambda: now[0], per_client=8)
    store.add("A", "a"), store.add("B", "b")
    now[0] = 100
    return status(store.add("C", "c") is not None, "an idle session made room")


def case_unknown_session_is_404():
    r = client().get("/api/2d/nope")
    return status(r.status_code == 404 and "error" in r.json(), f"{r.status_code}")


def case_cross_origin_create_is_refused():
    r = client().post("/api/2d", content=b"{}", headers={"content-type": "application/json",
                                                         "origin": "https://evil.example"})
    return status(r.status_code == 403, f"{r.status_code}")


def case_text_plain_create_is_refused():
    r = client().post("/api/2d", content=b"{}", headers={"content-type": "text/plain"})
    return status(r.status_code in (403, 415), f"{r.status_code}")


def case_deeply_nested_json():
    r = client().post("/api/2d", content=b"[" * 5000 + b"]" * 5000,
                      headers={"content-type": "application/json"})
    return status(r.status_code == 400, f"{r.status_code}")


def case_oversized_body():
    r = client().post("/api/2d", content=b'{"seed": "' + b"x" * 3_000_000 + b'"}',
                      headers={"content-type": "application/json"})
    return status(r.status_code == 413, f"{r.status_code}")


def case_nan_literal():
    r = client().post("/api/2d", content=b'{"seed": NaN}',
                      headers={"content-type": "application/json"})
    return status(400 <= r.status_code < 500, f"{r.status_code}")


def case_steps_beyond_the_limit():
    c = client()
    _, sid = new_2d(c)
    r = c.post(f"/api/2d/{sid}/step", json={"steps": 10**9})
    return status(400 <= r.status_code < 500, f"{r.status_code}")


def case_unknown_preset():
    r = client().post("/api/2d", json={"preset": "../../etc/passwd"})
    return status(400 <= r.status_code < 500, f"{r.status_code}")


def case_huge_seed():
    r = client().post("/api/2d", json={"seed": 2**80})
    return status(400 <= r.status_code < 500, f"{r.status_code}")


def case_points_with_nan():
    c = client()
    _, sid = new_2d(c)
    r = c.post(f"/api/2d/{sid}/points", content=b'{"X": [[NaN, 1]], "y": [0]}',
               headers={"content-type": "application/json"})
    return status(400 <= r.status_code < 500, f"{r.status_code}")


def case_explain_bad_index():
    c = client()
    sid = c.post("/api/image", json={}).json()["session"]
    r = c.get(f"/api/image/{sid}/explain/-1")
    return status(400 <= r.status_code < 500, f"{r.status_code}")


def case_no_client_address():
    store = SessionStore(3, "2-D", per_client=app_module.MAX_2D_SESSIONS_PER_CLIENT)
    sid = store.add("A")  # a request without an address: the shared "" client
    return status(store.run(sid, lambda s: s) == "A", "sessions without an address work")


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    sys.exit(main("playground", CASES))
