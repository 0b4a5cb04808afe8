"""What every JSON API here shares: errors as ``{"error": {"code", "message", "field"?}}``,
bodies read with a size limit, and a middleware that never lets a stack trace out."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from flows.i18n import N_, Translator
from flows.problems import Problem
from flows.results import json_default

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024


class ApiError(Exception):
    """An answer other than success; rendered as the JSON error body."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None,
                 extra: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return json_response({"error": error, **self.extra}, status=self.status,
                             headers=self.headers)


def json_response(data: Any, *, status: int = 200,
                  headers: Mapping[str, str] | None = None) -> web.Response:
    body = json.dumps(data, ensure_ascii=False, default=json_default, separators=(",", ":"))
    return web.Response(text=body, status=status, content_type="application/json",
                        headers=headers)


async def read_object(request: web.Request, tr: Translator) -> dict[str, Any]:
    """The JSON object in the body: 413 past `MAX_BODY`, 400 if not JSON, 422 if not an object."""
    _ = tr.gettext
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "too_large", _("The request body is too large."))
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise ApiError(413, "too_large", _("The request body is too large."))
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_json", _("The request body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid", _("The request body must be a JSON object."))
    return data


MAX_ID = 2**31 - 1  # the tables' integer keys: a larger id names no row (PostgreSQL refuses it)
MAX_OFFSET = 10**9  # beyond any list; a longer number would overflow the database's integer
LIST_LIMIT = 500


def query_page(query: Mapping[str, str], problems: list[Problem], *,
               default_limit: int = 100) -> tuple[int, int]:
    """`?offset=&limit=` of a list: (offset, limit), or a problem added to `problems`."""
    try:
        offset = int(query.get("offset", "0").strip() or "0")
        limit = int(query.get("limit", str(default_limit)).strip() or str(default_limit))
    except ValueError:
        offset = limit = -1
    if not 0 <= offset <= MAX_OFFSET or not 1 <= limit <= LIST_LIMIT:
        problems.append(Problem("paging", N_("offset: 0 or more; limit: 1 to {max}"), "limit",
                                {"max": LIST_LIMIT}))
    return offset, limit


def query_id(query: Mapping[str, str], name: str, problems: list[Problem]) -> int | None:
    """An id given as a query parameter (None: not given), or a problem added."""
    raw = query.get(name, "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12 or int(raw) > MAX_ID:
        problems.append(Problem("id", N_("{field}: an id (a whole number)"), name,
                                {"field": name}))
        return None
    return int(raw)


def path_id(request: web.Request, name: str, not_found: str) -> int:
    """A numeric id from the path; 404 with `not_found` for anything else."""
    raw = request.match_info[name]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12 or int(raw) > MAX_ID:
        raise ApiError(404, "not_found", not_found)
    return int(raw)


def problems_error(problems: list[Problem], tr: Translator) -> ApiError:
    """422 naming the first problem's field, with every problem listed."""
    first = problems[0]
    return ApiError(422, first.code, first.render(tr), field=first.subject,
                    extra={"problems": [
                        {"code": p.code, "field": p.subject, "message": p.render(tr)}
                        for p in problems]})


@web.middleware
async def json_errors(request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                      ) -> web.StreamResponse:
    """API errors as JSON; anything unexpected is logged and answered without details."""
    try:
        return await handler(request)
    except ApiError as error:
        return error.response()
    except web.HTTPException as exc:
        if exc.status >= 400:
            code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "http_error")
            return ApiError(exc.status, code, exc.reason).response()
        raise
    except Exception:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return ApiError(500, "internal", "Internal error").response()
