"""The researcher's console (docs/console.md): the live dashboard at ``/research`` and its API.

Every route needs the researcher's sign-in cookie (:mod:`crowdplay.server.web.signin`): without
it the page redirects to the sign-in page and the API (``/research/api/*``) answers 401. A
participant's session token is never one, nor is the admin token as a bearer header (that is the
research API's, ``/api/research/*``, for scripts). Actions (POST) also need the request to come
from the console's own page (``Origin``), and validate their input.

The dashboard polls ``GET /research/api/overview`` (the numbers and the charts' current URLs)
and ``GET /research/api/sessions`` (the table of participants) every few seconds; a chart's URL
carries its data's version, so the page loads a chart again only when it changed.

The replay viewer (``/research/episodes/<id>``) loads ``GET /research/api/episodes/<id>`` (the
log and the verdict, ``study/viewer.py``) and the game's ROM, and replays the log in the browser.
"""

from __future__ import annotations

from urllib.parse import quote

from quart import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    request,
    send_from_directory,
)
from quart.blueprints import BlueprintSetupState

from crowdplay import roms
from crowdplay.errors import BadRequest, UnknownRom
from crowdplay.server.study import charts, dashboard
from crowdplay.server.study.identities import PLATFORMS
from crowdplay.server.study.payments import (
    BONUS_PLATFORMS,
    bonus_file,
    exclude_episode,
    include_episode,
    mark_bonus_paid,
    payments_csv,
)
from crowdplay.server.study.viewer import episode_view
from crowdplay.server.web.errors import error
from crowdplay.server.web.payloads import json_object
from crowdplay.server.web.signin import require_same_origin, signed_in
from crowdplay.server.web.state import state

__all__ = ["console", "POLL_SECONDS"]

POLL_SECONDS = 3
"""How often the dashboard asks for new numbers (the page reads it from the overview)."""

_API = "/research/api/"

console = Blueprint("console", __name__, url_prefix="/research")


@console.record_once
def _setup(setup: BlueprintSetupState) -> None:
    setup.app.extensions["crowdplay.charts"] = charts.ChartCache()


def _charts() -> charts.ChartCache:
    cache: charts.ChartCache = current_app.extensions["crowdplay.charts"]
    return cache


@console.before_request
async def _require_researcher() -> None:
    """Pages redirect to the sign-in page, the API answers 401, without the cookie."""
    if not signed_in():
        if request.path.startswith(_API):
            abort(error(401, "sign in to the console first (POST /research/signin)"))
        target = f"/research/signin?next={quote(request.path)}"
        abort(Response(b"", status=303, headers={"Location": target, "Cache-Control": "no-store"}))
    if request.method not in ("GET", "HEAD"):
        require_same_origin()


@console.after_request
async def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@console.get("")
@console.get("/")
async def dashboard_page() -> Response:
    """The dashboard."""
    return await send_from_directory(state().settings.client_dir, "research.html")


@console.get("/episodes/<episode_id>")
async def viewer_page(episode_id: str) -> Response:
    """The replay viewer of one episode (the page asks for the episode itself)."""
    return await send_from_directory(state().settings.client_dir, "research-episode.html")


@console.get("/api/episodes/<episode_id>")
async def episode_for_viewer(episode_id: str) -> Response:
    """``{"episode": {verdict, statistics, task, ...}, "log": <canonical JSON>}``."""
    st = state()
    view = await episode_view(st.episodes, st.tasks, st.settings.secret_key, episode_id)
    if view is None:
        return error(404, f"no episode {episode_id[:64]!r}")
    return Response(view.to_json(), content_type="application/json")


@console.get("/api/roms/<game>")
async def rom(game: str) -> Response:
    """A ROM of the installed ale-py, for replaying an episode of any game (no task needed)."""
    try:
        body = roms.rom_bytes(game)
    except UnknownRom as err:
        return error(404, str(err))
    return Response(body, content_type="application/octet-stream")


@console.get("/api/overview")
async def overview() -> Response:
    """The dashboard's numbers (``study/dashboard.py``) and each chart's current URL."""
    st = state()
    body = await dashboard.overview(st.db, st.tasks)
    versions = {}
    for name in charts.CHARTS:
        data = await charts.chart_data(st.db, st.tasks, name)
        versions[name] = f"{_API}charts/{name}.svg?v={charts.data_version(data)}"
    body["charts"] = versions
    body["poll_seconds"] = POLL_SECONDS
    body["bonus_platforms"] = list(BONUS_PLATFORMS)
    return jsonify(body)


@console.get("/api/sessions")
async def sessions() -> Response:
    """The most recent sessions with their participant (pseudonym) and episodes."""
    rows = await dashboard.participant_sessions(state().db, state().settings.secret_key)
    return jsonify({"sessions": rows, "limit": dashboard.MAX_SESSIONS})


@console.get("/api/charts/<name>.svg")
async def chart(name: str) -> Response:
    """One chart as SVG, drawn from the current data."""
    if name not in charts.CHARTS:
        return error(404, f"no chart {name[:40]!r}; charts: {', '.join(charts.CHARTS)}")
    data = await charts.chart_data(state().db, state().tasks, name)
    svg = await _charts().svg(name, data)
    return Response(svg, content_type="image/svg+xml; charset=utf-8")


@console.get("/api/payments.csv")
async def payments() -> Response:
    """The payments CSV (``study/payments.py``), optionally of one platform."""
    platform = request.args.get("platform")
    if platform is not None and platform not in PLATFORMS:
        raise BadRequest(f"platform must be one of {list(PLATFORMS)}, got {platform[:40]!r}")
    body = await payments_csv(state().db, platform)
    return _download(body, f"payments-{platform or 'all'}.csv")


@console.get("/api/bonuses/<platform>.csv")
async def bonuses(platform: str) -> Response:
    """The platform's bulk-bonus file of settled bonuses not yet marked paid."""
    body = await bonus_file(state().db, state().tasks, platform)
    return _download(body, f"bonuses-{platform}.csv")


def _download(body: str, name: str) -> Response:
    response = Response(body, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@console.post("/api/episodes/<episode_id>/exclude")
async def exclude(episode_id: str) -> Response:
    """Exclude an ended episode from payment: ``{"reason": "..."}``; its session is re-settled."""
    body = json_object(await request.get_data(), "the request body")
    unknown = sorted(set(body) - {"reason"})
    if unknown:
        raise BadRequest(f"unknown field(s) {unknown}; accepted: reason")
    row = await exclude_episode(state().db, state().tasks, episode_id, body.get("reason"))
    return jsonify({"episode_id": row.id, "excluded_reason": row.excluded_reason})


@console.post("/api/episodes/<episode_id>/include")
async def include(episode_id: str) -> Response:
    """Undo an exclusion: the episode counts toward payment again."""
    row = await include_episode(state().db, state().tasks, episode_id)
    return jsonify({"episode_id": row.id, "excluded_reason": None})


@console.post("/api/sessions/<session_id>/bonus-paid")
async def bonus_paid(session_id: str) -> Response:
    """Mark a settled session's bonus paid (it leaves the bulk-bonus files)."""
    session = await mark_bonus_paid(state().db, session_id)
    paid = session.bonus_paid_at
    return jsonify({"session_id": session.id, "bonus_paid_at": paid and paid.isoformat()})
