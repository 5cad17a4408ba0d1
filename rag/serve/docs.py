"""The API's OpenAPI schema and docs page, with no network: ``/api/openapi.json`` and ``/api/docs``
(Swagger UI).

FastAPI's own page loads Swagger UI from a CDN; this one uses the copy shipped in the
``fastapi-offline`` package (its ``static/`` folder: swagger-ui-bundle.js, swagger-ui.css,
favicon.png), served from ``/api/docs/<file>``. The page loads nothing from outside this server (no
fonts, no validator badge; tests/test_openapi.py checks it in Chromium). No ReDoc page: its bundle
fetches its logo from the vendor's CDN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, JSONResponse

from .models import ApiError

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSET_FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css", "favicon.png": "image/png"}
SWAGGER_PARAMETERS = {"validatorUrl": None, "defaultModelsExpandDepth": 0, "tryItOutEnabled": True}


def openapi_schema(request: Request) -> dict[str, Any]:
    """The app's OpenAPI document (FastAPI builds it once from the routes and their models)."""
    return request.app.openapi()


def docs_routes(router: APIRouter) -> None:
    """Add ``/openapi.json``, ``/docs`` and ``/docs/<asset>`` to ``router`` (prefix ``/api``)."""

    @router.get("/openapi.json", include_in_schema=False)
    async def openapi_json(request: Request):
        return JSONResponse(openapi_schema(request))

    @router.get("/docs", include_in_schema=False)
    async def swagger(request: Request):
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(openapi_url=f"{root}/api/openapi.json", title=f"{request.app.title} · API",
                                   swagger_js_url=f"{root}/api/docs/swagger-ui-bundle.js",
                                   swagger_css_url=f"{root}/api/docs/swagger-ui.css",
                                   swagger_favicon_url=f"{root}/api/docs/favicon.png",
                                   swagger_ui_parameters=SWAGGER_PARAMETERS)

    @router.get("/docs/{name}", include_in_schema=False)
    async def asset(name: str):
        if name not in ASSET_FILES:
            raise ApiError(404, f"没有这个文件：{name} / no such docs asset; there are {', '.join(ASSET_FILES)}")
        return FileResponse(ASSETS / name, media_type=ASSET_FILES[name], headers={"Cache-Control": "max-age=86400"})
