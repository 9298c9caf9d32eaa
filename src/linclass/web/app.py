"""The playground's web app: one page, static assets, and small JSON endpoints.

The page only draws and sends controls; every number it shows comes from a session in
:mod:`linclass.web.session2d` or :mod:`linclass.web.session_image`. Endpoints (all JSON,
errors as ``{"error": "..."}`` with a 4xx status):

    GET  /api/options                      names and limits the page builds its controls from
    POST /api/2d                           new 2-D session {preset?, seed?, noise?,
                                           test_fraction?}, or {link} (web.link)
    GET  /api/2d/{sid}                     its state
    POST /api/2d/{sid}/config              {<config>}: any of web.config.FIELDS, checked
                                           whole, applied whole or not at all
    POST /api/2d/{sid}/step                {steps?}
    POST /api/2d/{sid}/reset               {preset?, seed?, noise?, test_fraction?}
    POST /api/2d/{sid}/points              {X: [[x, y], ...], y: [label, ...]}
    POST /api/2d/{sid}/params              {W: [[w1, w2, <extra features>], ...], b: [...]}
    POST /api/2d/{sid}/features            {extras: ["x1²", "x2²", "x1·x2"] (any of them)}
    GET  /api/2d/{sid}/landscape?n=31      the loss over a 2-D slice of W, b and the path
    POST /api/image                        new image session {dataset?, seed?, <config>}
    GET  /api/image/{sid}                  its state
    POST /api/image/{sid}/config           {<config>}
    POST /api/image/{sid}/step             {steps?}
    GET  /api/image/{sid}/explain/{index}  one test image, step by step
    POST /api/image/{sid}/grid             new grid {lr: [...], alpha: [...], epochs?} of
                                           the session's controls (web.session_grid)
    GET  /api/image/{sid}/grid             its heat map so far
    POST /api/image/{sid}/grid/step        {}: one more epoch of every head
    POST /api/image/{sid}/grid/pick        {lr, alpha}: that head becomes the model
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from linclass.losses import RECORDS as LOSS_RECORDS
from linclass.web import session2d as s2d
from linclass.web import session_grid as sgrid
from linclass.web import session_image as simg
from linclass.web.config import FIELDS, options_json
from linclass.web.link import MAX_LINK_CHARS, LinkError, decode
from linclass.web.presets import MAX_NOISE, MAX_TEST_FRACTION, PRESETS, SOURCES, VIEW
from linclass.web.security import SecurityMiddleware
from linclass.web.transforms import EXTRA_FEATURES
from linclass.web.validation import (
    BadRequest,
    choice,
    integer,
    matrix,
    number,
    only_keys,
    read_json,
)

STATIC = Path(__file__).parent / "static"
MAX_2D_SESSIONS = 200
MAX_IMAGE_SESSIONS = 16  # each holds a (10, D) W and an index permutation: small, but bounded
# One client (an address: every tab of a browser on loopback) holds at most this many; its
# next new session replaces its own least recently used one, so a client creating sessions
# in a loop can fill only its share, never lock the others out.
MAX_2D_SESSIONS_PER_CLIENT = 50
MAX_IMAGE_SESSIONS_PER_CLIENT = 8

#: The menus' words for each loss, from the loss records.
LOSS_LABELS = {name: record.label for name, record in LOSS_RECORDS.items()}


SESSION_IDLE_SECONDS = 600.0  # a session unused this long may make room for a new one


@dataclass
class _Entry:
    session: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    active: int = 0  # requests inside run() for this session right now
    last_used: float = 0.0
    client: str = ""  # who created it (the client's address)


class SessionStore:
    """Sessions by random id, at most ``cap`` of them and ``per_client`` per client.

    A client at its ``per_client`` share that creates one more gives up its own least
    recently used session that no request is inside (a client creating sessions in a loop
    replaces its own). Otherwise a new session may push out the least recently used one
    only if that one is idle: no request is using it and none has for ``idle_seconds``.
    When every session is in use, :meth:`add` refuses with 503 "too many sessions" instead
    of pulling a session out from under a learner mid-training. Each entry has its own
    lock, so one browser's run loop and its drags never interleave inside a session, while
    different sessions proceed in parallel.
    """

    def __init__(self, cap: int, kind: str, idle_seconds: float = SESSION_IDLE_SECONDS,
                 clock: Callable[[], float] = time.monotonic, per_client: int | None = None
                 ) -> None:
        self._items: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._cap = cap
        self._kind = kind
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._per_client = None if per_client is None else max(1, per_client)  # None: no share

    def add(self, session: Any, client: str = "") -> str:
        """Store a new session of ``client`` and return its id.

        Raises:
            BadRequest: 503 when the client's sessions are all in use at its share, or the
                store is full of sessions that are not idle.
        """
        sid = secrets.token_urlsafe(12)
        with self._lock:
            now = self._clock()
            own = [k for k, e in self._items.items() if e.client == client]  # LRU first
            if self._per_client is not None and len(own) >= self._per_client:
                mine = next((k for k in own if self._items[k].active == 0), None)
                if mine is None:
                    raise BadRequest(
                        f"too many {self._kind} sessions in use from this client "
                        f"({len(own)}, at most {self._per_client}); close a playground tab",
                        503)
                del self._items[mine]
            while len(self._items) >= self._cap:
                idle = next((k for k, e in self._items.items() if e.active == 0
                             and now - e.last_used >= self._idle_seconds), None)
                if idle is None:
                    raise BadRequest(
                        f"too many {self._kind} sessions in use ({self._cap}); close a "
                        f"playground tab or try again in a few minutes", 503)
                del self._items[idle]
            self._items[sid] = _Entry(session, last_used=now, client=client)
        return sid

    def run(self, sid: str, fn: Callable[[Any], Any]) -> Any:
        """Call ``fn(session)`` under the session's lock; 404 for an unknown id."""
        with self._lock:
            entry = self._items.get(sid)
            if entry is None:
                raise BadRequest(f"unknown {self._kind} session {sid[:40]!r}: it may have "
                                 "expired or the server restarted; start a new one", 404)
            self._items.move_to_end(sid)
            entry.active += 1
        try:
            with entry.lock:
                return fn(entry.session)
        except ValueError as e:  # the sessions' own checks: a client error
            raise BadRequest(str(e)) from None
        finally:
            with self._lock:
                entry.active -= 1
                entry.last_used = self._clock()


# --- reading fields -----------------------------------------------------------------------

CONFIG_FIELDS = set(FIELDS)  # both views; each session checks its own menus and limits
DATA_FIELDS = {"preset", "seed", "noise", "test_fraction"}  # what draws a preset's points


def data_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The preset, seed, noise and test fraction a request gives, checked (absent ones
    are left out: the session keeps or defaults them)."""
    out: dict[str, Any] = {}
    if "preset" in body:
        out["preset"] = choice(body["preset"], "preset", list(PRESETS))
    if "seed" in body:
        out["seed"] = integer(body["seed"], "seed", 0, 2**31 - 1)
    if "noise" in body:
        out["noise"] = number(body["noise"], "noise", 0.0, MAX_NOISE)
    if "test_fraction" in body:
        out["test_fraction"] = number(body["test_fraction"], "test_fraction", 0.0,
                                      MAX_TEST_FRACTION)
    return out


def open_link(link: Any) -> s2d.Session2D:
    """The 2-D session a shared link describes; every refusal names what is wrong."""
    if not isinstance(link, str):
        raise BadRequest("link must be a string (the part of the address after #)")
    try:
        return s2d.Session2D.from_link(decode(link, FIELDS, s2d.MAX_CLASSES,
                                              len(s2d.ALL_FEATURES)))
    except LinkError as e:
        status = 413 if "too long" in str(e) else 422
        raise BadRequest(f"this link cannot be opened: {e}", status) from None
    except ValueError as e:  # a value the session's own checks refuse
        raise BadRequest(f"this link cannot be opened: {e}") from None


# --- endpoints ----------------------------------------------------------------------------


def create_app(trusted_hosts: list[str] | None = None) -> Starlette:
    """The playground app with fresh, empty session stores.

    Every response carries the headers of :mod:`linclass.web.security`, and a request
    that changes state must come from the page itself (same origin, a JSON body).

    Args:
        trusted_hosts: If given, requests whose ``Host`` header is not in the list are
            refused (a guard against DNS rebinding when serving on loopback).
    """
    planes = SessionStore(MAX_2D_SESSIONS, "2-D", SESSION_IDLE_SECONDS,
                          per_client=MAX_2D_SESSIONS_PER_CLIENT)
    images = SessionStore(MAX_IMAGE_SESSIONS, "image", SESSION_IDLE_SECONDS,
                          per_client=MAX_IMAGE_SESSIONS_PER_CLIENT)

    def client_of(request: Request) -> str:
        return request.client.host if request.client is not None else ""

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def options(request: Request) -> Response:
        views = {"2d": s2d.CONTROLS, "image": simg.CONTROLS}
        return JSONResponse({
            **options_json(views),
            "loss_labels": LOSS_LABELS,
            "extra_features": list(EXTRA_FEATURES),
            "presets": [{"name": k, "description": src.description,
                         "test_fraction": src.test_fraction} for k, src in SOURCES.items()],
            "datasets": simg.available_datasets(),
            "view": list(VIEW),
            "limits": {"max_points": s2d.MAX_POINTS, "max_steps_2d": s2d.MAX_STEPS_PER_CALL,
                       "max_steps_image": simg.MAX_STEPS_PER_CALL,
                       "max_classes_2d": s2d.MAX_CLASSES, "max_noise": MAX_NOISE,
                       "max_test_fraction": MAX_TEST_FRACTION,
                       "max_link_chars": MAX_LINK_CHARS},
            "grid": {"max_side": sgrid.MAX_GRID_SIDE, "max_epochs": sgrid.MAX_GRID_EPOCHS,
                     "default_epochs": sgrid.DEFAULT_GRID_EPOCHS,
                     "max_steps": sgrid.MAX_GRID_STEPS, "rows": sgrid.GRID_ROWS,
                     "val_fraction": sgrid.VAL_FRACTION},
        })

    # 2-D view

    async def new_2d(request: Request) -> Response:
        body = await read_json(request)
        only_keys(body, DATA_FIELDS | {"link"})
        if "link" in body:
            if len(body) > 1:
                raise BadRequest("a link holds the whole view: send it alone")
            session = await run_in_threadpool(open_link, body["link"])
        else:
            data = {"preset": "three_blobs", **data_fields(body)}
            session = await run_in_threadpool(lambda: s2d.Session2D(**data))
        state = await run_in_threadpool(session.state)  # not shared yet: no lock, no 404
        return JSONResponse({"session": planes.add(session, client_of(request)), **state})

    async def _state_2d(sid: str, change: Callable[[s2d.Session2D], None]) -> Response:
        def work(s: s2d.Session2D) -> dict[str, Any]:
            change(s)
            return s.state()
        state = await run_in_threadpool(planes.run, sid, work)
        return JSONResponse({"session": sid, **state})

    async def get_2d(request: Request) -> Response:
        return await _state_2d(request.path_params["sid"], lambda s: None)

    async def config_2d(request: Request) -> Response:
        body = await read_json(request)
        only_keys(body, CONFIG_FIELDS)
        return await _state_2d(request.path_params["sid"], lambda s: s.configure(**body))

    async def step_2d(request: Request) -> Response:
        body = await read_json(request)
        only_keys(body, {"steps"})
        n = integer(body.get("steps", 1), "steps", 1, s2d.MAX_STEPS_PER_CALL)
        return await _state_2d(request.path_params["sid"], lambda s: s.step(n))

    async def reset_2d(request: Request) -> Response:
        body = await read_json(request)
        only_keys(body, DATA_FIELDS)
        data = data_fields(body)
        return await _state_2d(request.path_params["sid"], lambda s: s.reset(**data))

    async def points_2d(request: Request) -> Response:
        body = await read_json(request)
        only_keys(body, {"X", "y"})
        if "X" not in body or "y" not in body:
            raise BadRequest("both X (a list of [x, y]) and y (a list of labels) are required")
        X = matrix(body["X"], "X", s2d.MAX_POINTS, 2, 100.0)
        y_list = body["y"]
        if not isinstance(y_list, list):
            raise BadRequest("y must be a list of labels")
        if len(y_list) > s2d.MAX_POINTS:
            raise BadRequest(f"y has {len(y_list)} entries; at most {s2d.MAX_POINTS}", 413)
        y = [integer(v, f"y[{i}]", 0, s2d.MAX_CLASSES - 1) for i, v in enumerate(y_list)]
        return await _state_2d(request.path_params["sid"], lambda s: s.set_points(X, y))

    async def params_2d(request: Request) -> Response:
        body = await read_json(request)
        only_keys(body, {"W", "b"})
        if "W" not in body or "b" not in body:
            raise BadRequest("both W (a list of [w1, w2] rows) and b (a list) are required")
        rows = body["W"]
        n_cols = len(rows[0]) if isinstance(rows, list) and rows and isinstance(rows[0], list) \
            else 2
        if n_cols > len(s2d.ALL_FEATURES):
            raise BadRequest(f"W rows have at most {len(s2d.ALL_FEATURES)} weights, got {n_cols}")
        W = matrix(rows, "W", s2d.MAX_CLASSES, n_cols, 1e6)
        b = matrix(body["b"], "b", s2d.MAX_CLASSES, None, 1e6)
        return await _state_2d(request.path_params["sid"], lambda s: s.set_params(W, b))

    async def features_2d(request: Request) -> Response:
        body = await read_json(request)
        only_keys(body, {"extras"})
        extras = body.get("extras")
        if not isinstance(extras, list) or not all(isinstance(e, str) for e in extras):
            raise BadRequest("extras must be a list of feature names")
        return await _state_2d(request.path_params["sid"], lambda s: s.set_features(extras))

    async def landscape_2d(request: Request) -> Response:
        raw = request.query_params.get("n", "31")
        if not raw.isdigit() or len(raw) > 6:
            raise BadRequest(f"n must be an integer, got {raw[:20]!r}")
        out = await run_in_threadpool(planes.run, request.path_params["sid"],
                                      lambda s: s.landscape(int(raw)))
        return JSONResponse(out)

    # image view

    async def new_image(request: Request) -> Response:
        body = await read_json(request)
        only_keys(body, CONFIG_FIELDS | {"dataset", "seed"})
        dataset = choice(body.get("dataset", "digits"), "dataset", simg.available_datasets())
        seed = integer(body.get("seed", 0), "seed", 0, 2**31 - 1)
        config = {k: v for k, v in body.items() if k in CONFIG_FIELDS}

        def make() -> simg.ImageSession:
            try:
                return simg.ImageSession(dataset, seed, **config)
            except ValueError as e:
                raise BadRequest(str(e)) from None
        session = await run_in_threadpool(make)
        # The state of the new session is read before it is shared: adding and reading in
        # two steps could let other new sessions push it out in between (a 404).
        state = await run_in_threadpool(lambda: session.state(with_gallery_images=True))
        return JSONResponse({"session": images.add(session, client_of(request)), **state})

    async def _state_image(sid: str, change: Callable[[simg.ImageSession], None]) -> Response:
        def work(s: simg.ImageSession) -> dict[str, Any]:
            change(s)
            return s.state()
        state = await run_in_threadpool(images.run, sid, work)
        return JSONResponse({"session": sid, **state})

    async def get_image(request: Request) -> Response:
        sid = request.path_params["sid"]
        state = await run_in_threadpool(
            images.run, sid, lambda s: s.state(with_gallery_images=True))
        return JSONResponse({"session": sid, **state})

    async def config_image(request: Request) -> Response:
        body = await read_json(request)
        only_keys(body, CONFIG_FIELDS)
        return await _state_image(request.path_params["sid"], lambda s: s.configure(**body))

    async def step_image(request: Request) -> Response:
        body = await read_json(request)
        only_keys(body, {"steps"})
        k = integer(body.get("steps", 10), "steps", 1, simg.MAX_STEPS_PER_CALL)
        return await _state_image(request.path_params["sid"], lambda s: s.step(k))

    async def explain_image(request: Request) -> Response:
        raw = request.path_params["index"]
        if not raw.isdigit() or len(raw) > 9:
            raise BadRequest(f"test image index must be a non-negative integer, got {raw[:20]!r}")
        out = await run_in_threadpool(images.run, request.path_params["sid"],
                                      lambda s: s.explain(int(raw)))
        return JSONResponse(out)

    # the image view's grid: stacked heads, an epoch per request

    async def _grid(sid: str, change: Callable[[simg.ImageSession], Any]) -> Response:
        def work(s: simg.ImageSession) -> dict[str, Any]:
            change(s)
            return sgrid.session_grid(s).to_json()
        grid = await run_in_threadpool(images.run, sid, work)
        return JSONResponse({"session": sid, "grid": grid})

    async def new_grid(request: Request) -> Response:
        body = await read_json(request)
        only_keys(body, {"lr", "alpha", "epochs"})
        missing = [k for k in ("lr", "alpha") if k not in body]
        if missing:
            raise BadRequest(f"a grid needs {' and '.join(missing)}: lists of numbers, e.g. "
                             '{"lr": [0.01, 0.1], "alpha": [0, 0.001]}')
        args = (body["lr"], body["alpha"], body.get("epochs", sgrid.DEFAULT_GRID_EPOCHS))
        return await _grid(request.path_params["sid"], lambda s: sgrid.start_grid(s, *args))

    async def get_grid(request: Request) -> Response:
        return await _grid(request.path_params["sid"], lambda s: None)

    async def step_grid(request: Request) -> Response:
        only_keys(await read_json(request), set())
        return await _grid(request.path_params["sid"],
                           lambda s: sgrid.session_grid(s).step())

    async def pick_grid(request: Request) -> Response:
        body = await read_json(request)
        only_keys(body, {"lr", "alpha"})
        if "lr" not in body or "alpha" not in body:
            raise BadRequest("give the cell's lr and alpha, e.g. {\"lr\": 0.1, \"alpha\": 0}")

        def work(s: simg.ImageSession) -> dict[str, Any]:
            sgrid.load_head(s, body["lr"], body["alpha"])
            return {**s.state(), "grid": sgrid.session_grid(s).to_json()}
        state = await run_in_threadpool(images.run, request.path_params["sid"], work)
        return JSONResponse({"session": request.path_params["sid"], **state})

    # errors: always JSON, never a stack trace on the page

    async def bad_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadRequest)
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    async def server_error(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}"},
                            status_code=500)

    routes = [
        Route("/", index),
        Route("/api/options", options),
        Route("/api/2d", new_2d, methods=["POST"]),
        Route("/api/2d/{sid}", get_2d),
        Route("/api/2d/{sid}/config", config_2d, methods=["POST"]),
        Route("/api/2d/{sid}/step", step_2d, methods=["POST"]),
        Route("/api/2d/{sid}/reset", reset_2d, methods=["POST"]),
        Route("/api/2d/{sid}/points", points_2d, methods=["POST"]),
        Route("/api/2d/{sid}/params", params_2d, methods=["POST"]),
        Route("/api/2d/{sid}/features", features_2d, methods=["POST"]),
        Route("/api/2d/{sid}/landscape", landscape_2d),
        Route("/api/image", new_image, methods=["POST"]),
        Route("/api/image/{sid}", get_image),
        Route("/api/image/{sid}/config", config_image, methods=["POST"]),
        Route("/api/image/{sid}/step", step_image, methods=["POST"]),
        Route("/api/image/{sid}/explain/{index}", explain_image),
        Route("/api/image/{sid}/grid", new_grid, methods=["POST"]),
        Route("/api/image/{sid}/grid", get_grid, methods=["GET"]),
        Route("/api/image/{sid}/grid/step", step_grid, methods=["POST"]),
        Route("/api/image/{sid}/grid/pick", pick_grid, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(SecurityMiddleware)]
    if trusted_hosts:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=trusted_hosts))
    return Starlette(routes=routes, middleware=middleware, exception_handlers={
        BadRequest: bad_request, HTTPException: http_error, Exception: server_error})
