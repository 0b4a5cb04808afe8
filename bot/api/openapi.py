"""The OpenAPI 3 document of the mini-program API, served at `/api/openapi.json`.

Written by hand next to `bot.api.miniprogram` and checked against it by the tests: every route is
documented, and fuzzed requests get only documented statuses and bodies matching these schemas.
"""

from __future__ import annotations

from typing import Any

from bot.api.miniprogram import CONSENT_RESULTS, PREFIX

_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    texts = {
        400: "The body is not valid JSON.",
        401: "Missing, wrong or expired session token.",
        404: "Not found (no draft, no such result or indicator set).",
        409: "The draft version is stale; the body carries the current draft.",
        413: "The body is larger than 64 KiB.",
        422: "A field is invalid; `error.field` names it.",
        429: "Past the per-person rate limit; see Retry-After.",
        503: "WeChat or the database is unavailable; nothing was changed.",
    }
    return {str(s): _json(_ref("Conflict" if s == 409 else "Error"), texts[s]) for s in statuses}


_AUTHED = (401, 429)
_WITH_BODY = (400, 413, 422)
_NUMBER = {"type": "number"}
_NULLABLE_NUMBER = {"type": "number", "nullable": True}
_TIME = {"type": "string", "format": "date-time"}
_ANSWER = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}},
                     {"type": "integer"}]}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {
            "error": {"type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string"}, "message": {"type": "string"},
                "field": {"type": "string", "nullable": True}}},
            "problems": {"type": "array", "items": {"type": "object", "properties": {
                "code": {"type": "string"}, "field": {"type": "string", "nullable": True},
                "message": {"type": "string"}}}},
        },
    },
    "Conflict": {"allOf": [_ref("Error"), _ref("DraftEnvelope")]},
    "Draft": {
        "type": "object",
        "required": ["id", "indicator_set", "step", "profile", "answers", "figures", "answered",
                     "total", "started_at", "updated_at"],
        "properties": {
            "id": {"type": "string"}, "indicator_set": {"type": "string"},
            "step": {"type": "string", "description": "where the person stands: a profile "
                     "field, a question or scene code, or `review`"},
            "profile": {"type": "object"},
            "answers": {"type": "object", "additionalProperties": _ANSWER},
            "figures": {"type": "object", "additionalProperties": {"type": "string"}},
            "answered": {"type": "integer", "minimum": 0},
            "total": {"type": "integer", "minimum": 1},
            "started_at": _TIME, "updated_at": _TIME,
        },
    },
    "DraftEnvelope": {
        "type": "object", "required": ["version", "draft"],
        "properties": {"version": {"type": "integer", "minimum": 0},
                       "draft": {"allOf": [_ref("Draft")], "nullable": True}},
    },
    "Version": {"type": "object", "required": ["version"],
                "properties": {"version": {"type": "integer", "minimum": 0}}},
    "Login": {"type": "object", "required": ["code"],
              "properties": {"code": {"type": "string", "minLength": 1, "maxLength": 128}}},
    "Session": {"type": "object", "required": ["token", "expires_in", "linked"],
                "properties": {"token": {"type": "string"}, "expires_in": {"type": "integer"},
                               "linked": {"type": "boolean", "description": "WeChat gave a "
                                          "unionid: the draft is shared with the chat"}}},
    "ProfileChange": {
        "type": "object", "required": ["version", "profile"],
        "properties": {"version": {"type": "integer", "minimum": 0}, "profile": {
            "type": "object", "minProperties": 1, "properties": {
                "credit_code": {"type": "string"}, "name": {"type": "string"},
                "city": {"type": "string"}, "county": {"type": "string"},
                "industry": {"type": "string"},
                "industry_division": {"type": "string", "nullable": True},
                "employees": {"oneOf": [{"type": "integer"}, {"type": "string"}],
                              "nullable": True}}}},
    },
    "AnswerChange": {
        "type": "object", "required": ["version"],
        "properties": {"version": {"type": "integer", "minimum": 0},
                       "answer": {**_ANSWER, "nullable": True},
                       "figures": {"type": "object", "additionalProperties": {
                           "oneOf": [{"type": "number"}, {"type": "string"}]}}},
    },
    "Figures": {"type": "object", "required": ["figures"], "properties": {"figures": {
        "type": "object", "minProperties": 1,
        "additionalProperties": {"oneOf": [{"type": "number"}, {"type": "string"}]}}}},
    "Computed": {
        "type": "object", "required": ["code", "answer", "option"],
        "properties": {"code": {"type": "string"}, "answer": {"type": "string"},
                       "option": {"type": "string"}, "percent": _NULLABLE_NUMBER,
                       "direction": {"type": "string", "nullable": True,
                                     "enum": ["up", "flat", "down", None]},
                       "current": _NULLABLE_NUMBER, "previous": _NULLABLE_NUMBER},
    },
    "Review": {"allOf": [_ref("DraftEnvelope"), {
        "type": "object", "required": ["items", "missing", "complete"],
        "properties": {
            "items": {"type": "array", "items": {"type": "object", "required": [
                "number", "code", "title", "answer", "texts"], "properties": {
                "number": {"type": "integer"}, "code": {"type": "string"},
                "title": {"type": "string"}, "answer": {**_ANSWER, "nullable": True},
                "texts": {"type": "array", "items": {"type": "string"}}}}},
            "missing": {"type": "array", "items": {"type": "object"}},
            "complete": {"type": "boolean"}}}]},
    "Result": {
        "type": "object",
        "required": ["id", "credit_code", "enterprise_name", "indicator_set", "submitted_at",
                     "level", "level_name", "total", "dimensions", "result", "previous"],
        "properties": {
            "id": {"type": "integer"},
            "report_url": {"type": "string", "nullable": True, "description":
                           "a new link to the result's report page (`/r/<token>`), valid "
                           "DXBOT_REPORT_LINK_DAYS days; null when none could be made"},
            "credit_code": {"type": "string"},
            "enterprise_name": {"type": "string"}, "indicator_set": {"type": "string"},
            "submitted_at": _TIME, "level": {"type": "integer", "minimum": 0},
            "level_name": {"type": "string"}, "total": _NUMBER,
            "dimensions": {"type": "object", "additionalProperties": _NUMBER},
            "result": {"type": "object", "description": "scores per group and question, scene "
                       "levels, the gap to the next level and suggestions"},
            "previous": {"type": "object", "nullable": True, "properties": {
                "id": {"type": "integer"}, "submitted_at": _TIME, "level": {"type": "integer"},
                "level_name": {"type": "string"}, "total": _NUMBER,
                "level_change": {"type": "integer"}, "total_change": _NUMBER}},
        },
    },
    "ResultList": {"type": "object", "required": ["results"], "properties": {"results": {
        "type": "array", "items": {"type": "object", "required": [
            "id", "submitted_at", "level", "level_name", "total"], "properties": {
            "id": {"type": "integer"}, "submitted_at": _TIME,
            "enterprise_name": {"type": "string"}, "credit_code": {"type": "string"},
            "level": {"type": "integer"}, "level_name": {"type": "string"},
            "total": _NUMBER}}}}},
    "Solution": {"type": "object", "required": [
        "id", "title", "summary", "provider", "price", "free_trial", "deployment", "lifts"],
        "properties": {
            "id": {"type": "integer"}, "title": {"type": "string"},
            "summary": {"type": "string"},
            "provider": {"type": "object", "required": ["name", "leading"], "properties": {
                "name": {"type": "string"}, "leading": {"type": "boolean"}}},
            "price": {"type": "string"}, "free_trial": {"type": "boolean"},
            "deployment": {"type": "string", "enum": ["cloud", "local", "both"]},
            "link": {"type": "string", "nullable": True},
            "lifts": {"type": "array", "items": {"type": "object", "required": [
                "code", "name", "level", "level_name"], "properties": {
                "code": {"type": "string"}, "name": {"type": "string"},
                "level": {"type": "integer"}, "level_name": {"type": "string"}}}},
            "why": {"type": "string", "nullable": True,
                    "description": "why it is proposed for the result, in one line"},
            "fits": {"type": "boolean",
                     "description": "whether it fits the person's latest result"}}},
    "Solutions": {"type": "object", "required": ["result_id", "solutions"], "properties": {
        "result_id": {"type": "integer"},
        "solutions": {"type": "array", "items": _ref("Solution")},
        "message": {"type": "string", "nullable": True,
                    "description": "when none fits yet"}}},
    "LeadRequest": {"type": "object", "required": ["solution_id", "mobile", "consent"],
                    "additionalProperties": False, "properties": {
        "solution_id": {"type": "integer", "minimum": 1},
        "mobile": {"type": "string", "description": "11-digit mainland mobile"},
        "consent": {"type": "boolean", "enum": [True], "description": "the person agrees "
                    "that the provider may call them on this mobile about this solution"}}},
    "Lead": {"type": "object", "required": [
        "id", "solution_id", "title", "provider", "status", "status_title", "created_at"],
        "properties": {
            "id": {"type": "integer"}, "solution_id": {"type": "integer"},
            "title": {"type": "string"}, "provider": {"type": "string"},
            "contact_name": {"type": "string", "nullable": True},
            "status": {"type": "string", "enum": ["new", "contacted", "trial", "project",
                                                  "closed"]},
            "status_title": {"type": "string"},
            "closed_reason": {"type": "string", "nullable": True},
            "created_at": _TIME, "updated_at": _TIME,
            "already": {"type": "boolean", "description": "an open lead was there before"},
            "message": {"type": "string", "description": "who will call, and when"}}},
    "Leads": {"type": "object", "required": ["leads"], "properties": {
        "leads": {"type": "array", "items": _ref("Lead")}}},
    "SubscribeResults": {"type": "object", "required": ["results"], "properties": {"results": {
        "type": "object", "minProperties": 1, "maxProperties": 20,
        "additionalProperties": {"type": "string", "enum": sorted(CONSENT_RESULTS)}}}},
    "Consents": {"type": "object", "required": ["consents"], "properties": {"consents": {
        "type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}}},
    "Enterprise": {"type": "object", "required": ["profile"], "properties": {"profile": {
        "type": "object", "required": ["credit_code", "name", "city", "county", "industry"],
        "properties": {"credit_code": {"type": "string"}, "name": {"type": "string"},
                       "city": {"type": "string"}, "county": {"type": "string"},
                       "industry": {"type": "string"},
                       "industry_division": {"type": "string", "nullable": True},
                       "employees": {"type": "integer", "nullable": True}}}}},
    "Notices": {"type": "object", "required": ["notices"], "properties": {"notices": {
        "type": "array", "items": {"type": "object", "required": [
            "id", "kind", "title", "body", "starts_at", "signup"], "properties": {
            "id": {"type": "integer"}, "kind": {"type": "string"},
            "title": {"type": "string"}, "body": {"type": "string"}, "starts_at": _TIME,
            "ends_at": {**_TIME, "nullable": True},
            "place": {"type": "string", "nullable": True},
            "link": {"type": "string", "nullable": True},
            "capacity": {"type": "integer", "nullable": True},
            "signup_deadline": {**_TIME, "nullable": True},
            "signup": {"type": "string", "nullable": True,
                       "enum": ["registered", "waitlisted", None]},
            "position": {"type": "integer", "nullable": True,
                         "description": "place on the waiting list"},
            "signup_open": {"type": "boolean"},
            "full": {"type": "boolean",
                     "description": "every seat taken: a sign-up goes on the waiting list"}}}}}},
    "SignUp": {"type": "object", "required": ["signup"], "properties": {
        "signup": {"type": "string", "enum": ["registered", "waitlisted", "cancelled"]},
        "position": {"type": "integer", "nullable": True,
                     "description": "place on the waiting list"}}},
    "Questionnaire": {
        "type": "object",
        "required": ["indicator_set", "profile", "dimensions", "questions", "scenes",
                     "max_scene_level"],
        "properties": {
            "indicator_set": {"type": "object"}, "profile": {"type": "object"},
            "dimensions": {"type": "array", "items": {"type": "object"}},
            "questions": {"type": "array", "items": {"type": "object", "required": [
                "code", "number", "type", "title", "options", "figures"]}},
            "scenes": {"type": "array", "items": {"type": "object", "required": [
                "code", "number", "name", "constraint", "levels"]}},
            "max_scene_level": {"type": "integer"},
            "unanswered_level_text": {"type": "string"}},
    },
}


def _op(summary: str, ok: tuple[int, str, str], errors: tuple[int, ...], *,
        body: str | None = None, auth: bool = True,
        parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    status, schema, description = ok
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {str(status): _json(_ref(schema), description), **_errors(*errors)},
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _ref(body)}}}
    if not auth:
        operation["security"] = []
    if parameters:
        operation["parameters"] = parameters
    return operation


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string"}}


def openapi_document() -> dict[str, Any]:
    code = _path_param("code", "question or scene code, such as B2 or S05")
    start = _op("Start a draft (or get the one in progress)",
                (201, "DraftEnvelope", "Started."), (*_AUTHED, *_WITH_BODY, 409), body="Version")
    start["responses"]["200"] = _json(_ref("DraftEnvelope"), "A draft was in progress already.")
    signup = _op("Sign up (capacity full: the waiting list)",
                 (201, "SignUp", "Signed up."), (*_AUTHED, 404, 409),
                 parameters=[_path_param("id", "notice id")])
    signup["responses"]["200"] = _json(_ref("SignUp"), "Signed up already.")
    signup["responses"]["409"] = _json(_ref("Error"), "Sign-up is closed.")
    lead = _op("Ask the provider of a solution to call (供需对接); one open lead per "
               "enterprise and solution", (201, "Lead", "Recorded; who will call and when."),
               (*_AUTHED, *_WITH_BODY, 404, 409), body="LeadRequest")
    lead["responses"]["200"] = _json(_ref("Lead"), "An open lead was there already.")
    lead["responses"]["409"] = _json(_ref("Error"), "No result yet to match to.")
    return {
        "openapi": "3.0.3",
        "info": {"title": "sme-dx-bot mini-program API", "version": "1",
                 "description": "The 2024 digital-level questionnaire for the mini-program. "
                 "Drafts are shared with the Official Account chat when WeChat links the "
                 "person's accounts (unionid); every change names the draft version."},
        "components": {
            "securitySchemes": {"session": {"type": "http", "scheme": "bearer",
                                            "description": "token from POST /login"}},
            "schemas": SCHEMAS,
        },
        "security": [{"session": []}],
        "paths": {
            f"{PREFIX}/login": {"post": _op(
                "Exchange a wx.login() code for a session token",
                (200, "Session", "Logged in."), (*_WITH_BODY, 401, 503), body="Login",
                auth=False)},
            f"{PREFIX}/questionnaire": {"get": _op(
                "The indicator set, profile lists and options",
                (200, "Questionnaire", "The questionnaire."), (*_AUTHED, 404),
                parameters=[{"name": "indicator_set", "in": "query", "required": False,
                             "schema": {"type": "string"}}])},
            f"{PREFIX}/enterprises/{{credit_code}}": {"get": _op(
                "The archived profile of a credit code (to reuse instead of typing it)",
                (200, "Enterprise", "The archive's profile."), (*_AUTHED, 404, 422),
                parameters=[_path_param("credit_code", "统一社会信用代码, 18 characters")])},
            f"{PREFIX}/draft": {
                "get": _op("The person's draft (shared with the chat)",
                           (200, "DraftEnvelope", "The draft, or null."), _AUTHED),
                "post": start,
            },
            f"{PREFIX}/draft/profile": {"patch": _op(
                "Change profile fields", (200, "DraftEnvelope", "Changed."),
                (*_AUTHED, *_WITH_BODY, 404, 409), body="ProfileChange")},
            f"{PREFIX}/draft/answers/{{code}}": {"put": _op(
                "Answer a question or scene (with figures, the option may be left out)",
                (200, "DraftEnvelope", "Answered."), (*_AUTHED, *_WITH_BODY, 404, 409),
                body="AnswerChange", parameters=[code])},
            f"{PREFIX}/figures/{{code}}": {"post": _op(
                "The option that figures give (nothing is stored)",
                (200, "Computed", "Computed."), (*_AUTHED, *_WITH_BODY),
                body="Figures", parameters=[code])},
            f"{PREFIX}/draft/review": {"get": _op(
                "Every answer with its text, and what is missing",
                (200, "Review", "The review."), (*_AUTHED, 404))},
            f"{PREFIX}/draft/submit": {"post": _op(
                "Submit: archived in one transaction, then the draft is cleared",
                (201, "Result", "Submitted; the preliminary level."),
                (*_AUTHED, *_WITH_BODY, 404, 409, 503), body="Version")},
            f"{PREFIX}/results": {"get": _op(
                "The enterprise's submitted results, newest first",
                (200, "ResultList", "The history."), _AUTHED)},
            f"{PREFIX}/results/{{id}}": {"get": _op(
                "One result with scores, level, gap, suggestions and the change since the "
                "previous one", (200, "Result", "The result."), (*_AUTHED, 404),
                parameters=[_path_param("id", "result id from the list")])},
            f"{PREFIX}/results/{{id}}/solutions": {"get": _op(
                "The province's solutions that fit a result, best first, each with why",
                (200, "Solutions", "The matches (none: a message)."), (*_AUTHED, 404),
                parameters=[_path_param("id", "result id from the list")])},
            f"{PREFIX}/solutions/{{id}}": {"get": _op(
                "One solution of the pool, and why it fits the latest result",
                (200, "Solution", "The solution."), (*_AUTHED, 404),
                parameters=[_path_param("id", "solution id")])},
            f"{PREFIX}/leads": {
                "get": _op("The enterprise's 供需对接 leads with their status, newest first",
                           (200, "Leads", "The leads."), _AUTHED),
                "post": lead,
            },
            f"{PREFIX}/notices": {"get": _op(
                "Trainings and events ahead that concern the person, with their sign-up",
                (200, "Notices", "The notices."), _AUTHED)},
            f"{PREFIX}/notices/{{id}}/signup": {
                "post": signup,
                "delete": _op("Withdraw a sign-up (the first on the waiting list moves up)",
                              (200, "SignUp", "Withdrawn."), (*_AUTHED, 404),
                              parameters=[_path_param("id", "notice id")]),
            },
            f"{PREFIX}/subscriptions": {"post": _op(
                "Record what wx.requestSubscribeMessage returned (each accept allows one "
                "notice of that template)", (200, "Consents", "Sends allowed per template."),
                (*_AUTHED, *_WITH_BODY), body="SubscribeResults")},
        },
    }
