"""`linclass playground`: loopback by default, a non-loopback host only when asked."""

import pytest
import uvicorn
from typer.testing import CliRunner

from linclass.cli import app
from linclass.cli.playground import is_loopback


@pytest.mark.parametrize("host, expected", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("0.0.0.0", False), ("192.168.1.5", False), ("example.com", False),
])
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected


@pytest.fixture()
def served(monkeypatch):
    """``(app, {"host", "port", "log_level"})`` of each server the command would run. The
    socket is real but bound to a free port, so a server already on 8765 does not matter."""
    import importlib
    import socket

    # the module, not the command function that linclass.cli re-exports under its name
    pg = importlib.import_module("linclass.cli.playground")
    calls: list = []
    real_listen, requested = pg.listen, []

    def listen(host, port):
        requested.append((host, port))
        return real_listen("127.0.0.1", 0)

    def run(server, sockets):
        assert isinstance(sockets[0], socket.socket)
        calls.append((server.config.app, {"host": requested[-1][0], "port": requested[-1][1],
                                          "log_level": server.config.log_level}))

    monkeypatch.setattr(pg, "listen", listen)
    monkeypatch.setattr(uvicorn.Server, "run", run)
    return calls


def test_defaults_to_loopback_without_opening_a_browser(served, monkeypatch):
    import webbrowser
    monkeypatch.setattr(webbrowser, "open", lambda *a, **k: pytest.fail("opened a browser"))
    r = CliRunner().invoke(app, ["playground"])
    assert r.exit_code == 0, r.output
    (_, kw), = served
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8765
    assert "http://127.0.0.1:8765/" in r.output


def test_non_loopback_host_needs_allow_remote(served):
    r = CliRunner().invoke(app, ["playground", "--host", "0.0.0.0"])
    assert r.exit_code != 0 and "--allow-remote" in r.output and not served
    r = CliRunner().invoke(app, ["playground", "--host", "0.0.0.0", "--allow-remote",
                                 "--port", "9000"])
    assert r.exit_code == 0 and served[0][1] == {"host": "0.0.0.0", "port": 9000,
                                                 "log_level": "warning"}


def test_a_busy_port_is_one_error_line_before_any_banner(monkeypatch, one_line_error):
    import socket

    served: list = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda server, sockets: served.append(server))

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = CliRunner().invoke(app, ["playground", "--port", str(port)])
    one_line_error(r, f"cannot listen on 127.0.0.1:{port}", "in use")
    assert "playground on" not in r.output and not served


def test_bad_port_is_refused(served):
    r = CliRunner().invoke(app, ["playground", "--port", "70000"])
    assert r.exit_code != 0 and not served
