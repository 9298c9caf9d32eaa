"""The interactive playground: a small local web app over the library's own math.

``create_app()`` builds the Starlette app; ``linclass playground`` serves it on loopback.
"""

from linclass.web.app import create_app

__all__ = ["create_app"]
