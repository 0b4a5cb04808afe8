"""The solution pool in the admin API: a solution as JSON (with its provider, its scenes named
with their levels, its industries named), and the list's query parameters checked, every bad
or unknown one named in one 422."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.api.json_api import ApiError, problems_error, query_page
from flows.i18n import N_, Translator
from flows.pool_fields import PoolReference, parse_industry, parse_scene
from flows.problems import Problem
from flows.profile import normalize, parse_credit_code
from storage.solutions import SolutionFilter, StoredSolution

QUERY_MAX = 100
QUERY = ("scene", "city", "industry", "provider", "q", "retired", "offset", "limit")
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def _industry_name(code: str, pool: PoolReference) -> str | None:
    choice = (pool.profile.section(code) if len(code) == 1
              else pool.profile.division(code[0], code[1:]))
    return None if choice is None else choice.name


def solution_view(s: StoredSolution, pool: PoolReference) -> dict[str, Any]:
    p = s.provider
    scenes = pool.iset.scene_by_code
    return {
        "id": s.id, "title": s.title, "summary": s.summary,
        "provider": {"id": s.provider_id, "credit_code": p.credit_code, "name": p.name,
                     "cities": list(p.cities), "contact_name": p.contact_name,
                     "contact_mobile": p.contact_mobile, "leading": p.leading,
                     "wechat_contact_bound": s.provider_contact_bound},  # never whom
        "lifts": [{"code": code, "name": scenes[code].name if code in scenes else None,
                   "level": level} for code, level in s.lifts.items()],
        "industries": [{"code": code, "name": _industry_name(code, pool)}
                       for code in s.industries],
        "price": s.price, "free_trial": s.free_trial, "deployment": s.deployment,
        "link": s.link, "retired": s.retired_at is not None,
        "retired_at": None if s.retired_at is None else s.retired_at.isoformat(),
        "created_at": s.created_at.isoformat(), "updated_at": s.updated_at.isoformat(),
    }


def _problem(code: str, message: str, field: str, **params: Any) -> Problem:
    return Problem(code, message, field, {"field": field, **params})


def solution_query(query: Mapping[str, str], pool: PoolReference, tr: Translator,
                   ) -> tuple[SolutionFilter, int, int]:
    """The list's filter and page from `?scene=&city=&industry=&provider=&q=&retired=&offset=
    &limit=`; raises the 422 that names every bad or unknown parameter."""
    problems: list[Problem] = []
    for name in sorted(set(query) - set(QUERY)):
        problems.append(_problem("unknown_field", N_("{field}: there is no such field"), name))
    given = {name: normalize(query[name]) for name in QUERY if query.get(name, "").strip()}
    scene = city = industry = provider_code = provider_name = text = None
    retired: bool | None = None
    if "scene" in given:
        scene = parse_scene(given["scene"], pool)
        if scene is None:
            problems.append(_problem("scene", N_("scene: {value} is not a scene of the "
                                                 "indicator set"), "scene",
                                     value=given["scene"]))
    if "city" in given:
        parsed = None if given["city"].isdigit() else pool.profile.parse_city(given["city"])
        if isinstance(parsed, str):
            city = parsed
        else:
            problems.append(_problem("city", N_("city: {value} is not a city of Shandong."),
                                     "city", value=given["city"]))
    if "industry" in given:
        industry = parse_industry(given["industry"], pool)
        if industry is None:
            problems.append(_problem("industry", N_("industry: {value} is not an industry "
                                                    "section or division"), "industry",
                                     value=given["industry"]))
    for name in ("provider", "q"):
        if len(given.get(name, "")) > QUERY_MAX:
            problems.append(_problem("too_long", N_("{field}: at most {max} characters"),
                                     name, max=QUERY_MAX))
            given.pop(name)
    if "provider" in given:
        code = parse_credit_code(given["provider"])
        if isinstance(code, str):
            provider_code = code
        else:
            provider_name = given["provider"]  # not a credit code: part of a name
    text = given.get("q")
    if "retired" in given:
        flag = given["retired"].lower()
        if flag in _TRUE | _FALSE:
            retired = flag in _TRUE
        else:
            problems.append(_problem("boolean", N_("{field}: true or false"), "retired"))
    offset, limit = query_page(given, problems)
    if problems:
        raise problems_error(problems, tr)
    return (SolutionFilter(scene=scene, city=city, industry=industry,
                           provider_code=provider_code, provider_name=provider_name, text=text,
                           retired=retired), offset, limit)


def title_taken(title: str, solution_id: int | None, tr: Translator) -> ApiError:
    """422 on the title: the provider has another solution of that title."""
    error = problems_error([_problem("duplicate", N_(
        "title: the provider already has a solution titled {title}"), "title", title=title)],
        tr)
    if solution_id is not None:
        error.extra["solution_id"] = solution_id
    return error
