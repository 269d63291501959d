"""The front page `/`: what this server is, for a person who opens its address in a
browser (a learning app talks to `/xapi/` instead)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from flask import Blueprint, Response, render_template, request

from lrs.extension import service
from lrs.i18n import Catalogue
from lrs.protocol import XAPI_PREFIX, query_params
from statements import XAPI_VERSIONS, parse_accept_language

bp = Blueprint("front", __name__)


def catalogue() -> Catalogue:
    """The reader's language: `?lang=` if it has a catalogue, else Accept-Language."""
    wanted = request.args.get("lang")
    return Catalogue.best(
        [wanted] if wanted else parse_accept_language(request.headers.get("Accept-Language"))
    )


def _version() -> str:
    try:
        return version("lrs")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


@bp.get("/")
def front() -> Response:
    query_params(allowed=("lang",))
    html = render_template(
        "front.html",
        t=catalogue(),
        version=_version(),
        xapi_versions=" / ".join(XAPI_VERSIONS),
        endpoint=request.url_root.rstrip("/") + XAPI_PREFIX + "/",
        tenants=service().tenants.list(),
    )
    return Response(html, mimetype="text/html")
