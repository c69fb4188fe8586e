"""The REST API (FastAPI): thin routes over the books; rules stay in the domain and the store."""

from accrue.api.app import create_app

__all__ = ["create_app"]
