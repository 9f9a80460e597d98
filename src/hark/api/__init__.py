"""HTTP: FastAPI routers, wire schemas, the error envelope and auth."""

from .app import create_app

__all__ = ["create_app"]
