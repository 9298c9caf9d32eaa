"""``linclass playground``: serve the interactive playground on this machine."""

from __future__ import annotations

import ipaddress
import socket
import threading
import webbrowser

import typer

LOOPBACK_NAMES = ("localhost",)

EPILOG = "Examples:\n\n  linclass playground --open-browser\n"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses such as 127.0.0.1 and ::1."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def trusted_hosts(host: str, allow_remote: bool) -> list[str] | None:
    """The ``Host`` headers the server accepts: on a loopback address only loopback names
    (against DNS rebinding, ``--allow-remote`` or not); on another address any (None)."""
    if not is_loopback(host) and allow_remote:
        return None
    return sorted({host, "127.0.0.1", "localhost", "::1", "[::1]"})


def playground(
    port: int = typer.Option(8765, min=1, max=65535, help="TCP port."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on; loopback by default."),
    open_browser: bool = typer.Option(False, "--open-browser/--no-open-browser",
                                      help="Open the page in the default browser."),
    allow_remote: bool = typer.Option(False, "--allow-remote",
                                      help="Permit a non-loopback --host (anyone who can "
                                      "reach it can use the server)."),
) -> None:
    """Start the interactive playground: 2-D hyperplanes and image templates, live."""
    import uvicorn

    from linclass.web import create_app

    if not is_loopback(host) and not allow_remote:
        raise typer.BadParameter(
            f"{host!r} is not a loopback address; the playground listens only on this "
            "machine unless you also pass --allow-remote", param_hint="--host")
    trusted = trusted_hosts(host, allow_remote)
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    sock = listen(host, port)  # before the banner: a busy port is one error line
    typer.echo(f"linclass playground on {url}  (Ctrl+C to stop)")
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    config = uvicorn.Config(create_app(trusted_hosts=trusted), log_level="warning")
    with sock:
        uvicorn.Server(config).run(sockets=[sock])


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening, or ``error: ...`` and exit 1 (a port
    in use, an address this machine does not have)."""
    from linclass.cli.common import fail

    try:
        family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError as e:
        raise fail(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    return sock
