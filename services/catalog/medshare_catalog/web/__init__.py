"""The researcher web page: static files that sign in with a token and call the API.

Also the API's own pages, /docs (Swagger UI) and /redoc, served from assets installed
with the catalog (the `fastapi-offline` package's copy), never from a CDN, so they
work on a machine without internet access.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute, Route

STATIC_DIR = Path(__file__).parent / "static"
DOCS_ASSETS = "/docs-assets"
FAVICON = "/ui/favicon.svg"


def docs_assets_dir() -> Path:
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fastapi-offline is not installed: /docs has no Swagger UI assets")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def mount_page(app: FastAPI) -> None:
    """Serve the page under /ui (it holds no data) and send / there."""
    app.mount("/ui", StaticFiles(directory=STATIC_DIR, html=True), name="ui")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/ui/")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    mount_docs(app)


def _is_cdn_docs(route: BaseRoute) -> bool:
    return isinstance(route, Route) and route.path in {"/docs", "/redoc"}


def mount_docs(app: FastAPI) -> None:
    """Replace FastAPI's CDN-backed /docs and /redoc with pages on local assets."""
    app.router.routes[:] = [route for route in app.router.routes if not _is_cdn_docs(route)]
    app.mount(DOCS_ASSETS, StaticFiles(directory=docs_assets_dir()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=FAVICON,
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - API",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=FAVICON,
            with_google_fonts=False,
        )
