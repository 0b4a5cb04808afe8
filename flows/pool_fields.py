"""The fields of a solution in the province's pool and of its provider, as people type them into
the pool's table or send them to the admin API: each one checked into its stored form, or a
`Problem` whose subject is the field. Pure; the file import (`flows.pool_file`) and the API's
edits (`parse_changes`) go through the same checks.

Forgiving in form (full-width characters, "济南" for 济南市, 三级 for 3, a scene by its code or
its name, an industry by its letter, code or name), strict in substance (a real Shandong city,
a scene of the indicator set, a level it has).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flows.i18n import N_
from flows.indicators import IndicatorSet
from flows.problems import Problem
from flows.profile import ProfileReference, normalize
from flows.solutions import Deployment

TITLE_MAX, SUMMARY_MAX, PRICE_MAX, LINK_MAX, CONTACT_MAX = 60, 500, 60, 500, 40
PROVIDER_NAME_MIN, PROVIDER_NAME_MAX = 2, 60
# What the admin API may change of a stored solution (its provider's fields come with imports).
EDITABLE = ("title", "summary", "lifts", "industries", "price", "free_trial", "deployment",
            "link", "retired")

_SEPARATORS = r"[\s、,;/]+"  # after normalize(): ，；／ are , ; /
_WHOLE_PROVINCE = {"全省", "山东", "山东省", "山东全省", "全部", "不限"}
_ANY_INDUSTRY = {"全部", "不限", "全行业", "所有行业", "各行业", "通用"}
_YES = {"是", "y", "yes", "true", "1", "√", "有"}
_NO = {"否", "n", "no", "false", "0", "×", "无", "不"}
_DEPLOYMENTS: Mapping[str, Deployment] = {
    **dict.fromkeys(("cloud", "云", "云端", "云部署", "云服务", "saas", "公有云", "在线"),
                    "cloud"),
    **dict.fromkeys(("local", "本地", "本地部署", "本地化部署", "私有化", "私有化部署",
                     "私有部署"), "local"),
    **dict.fromkeys(("both", "云或本地", "云/本地", "云+本地", "云和本地", "混合", "混合部署",
                     "均可"), "both"),
}
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"0[0-9]{9,11}")  # area code and a local number of 7 or 8 digits
_SERVICE_NUMBER = re.compile(r"[48]00[0-9]{7}")  # 400 and 800 numbers, as providers list them
_LINK = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)
_CHINESE_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
                   "九": 9}
_LIFT_GAP = re.compile(r"[\s、,;/]*")
_CONNECTOR = re.compile(r"\s*(?:->|→|=|:|-|至|到)?\s*")
_LEVEL = re.compile(r"(?:L|Lv|第)?\s*([0-9]{1,2}|[一二三四五六七八九])\s*级?", re.IGNORECASE)
_PIECE = re.compile(r"[^\s、,;/:=→]+")


@dataclass(frozen=True, slots=True)
class PoolReference:
    """What the pool's fields are checked against: the profile's lists (cities, industries)
    and the indicator set (its scenes and their top level)."""

    profile: ProfileReference
    iset: IndicatorSet
    # Derived once (a file has thousands of rows): see scene_aliases and industry_names.
    _aliases: tuple[tuple[str, str, bool], ...] = dataclasses.field(
        init=False, repr=False, compare=False)
    _industries: tuple[tuple[str, str], ...] = dataclasses.field(
        init=False, repr=False, compare=False)
    _industry_pattern: re.Pattern[str] = dataclasses.field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        aliases: list[tuple[str, str, bool]] = []
        for scene in self.iset.scenes:
            aliases += [(scene.code.upper(), scene.code, True), (scene.name, scene.code, False)]
            short = re.fullmatch(r"([A-Z]+)0([0-9])", scene.code.upper())
            if short:  # S06 typed as S6
                aliases.append((short.group(1) + short.group(2), scene.code, True))
        names = [(s.name, s.code) for s in self.profile.sections]
        names += [(d.name, section + d.code)
                  for section, divisions in self.profile.divisions.items() for d in divisions]
        names.sort(key=lambda item: -len(item[0]))
        object.__setattr__(self, "_aliases", tuple(sorted(aliases, key=lambda a: -len(a[0]))))
        object.__setattr__(self, "_industries", tuple(names))
        object.__setattr__(self, "_industry_pattern",
                           re.compile("|".join(re.escape(name) for name, _code in names)))

    def scene_aliases(self) -> tuple[tuple[str, str, bool], ...]:
        """(what may be typed, scene code, is it a code), longest first, so "S16" is read
        before "S1" and a longer name before a shorter one it contains."""
        return self._aliases

    def industry_names(self) -> tuple[tuple[str, str], ...]:
        """(name, code) of every section and division, longest name first."""
        return self._industries

    def industry_pattern(self) -> re.Pattern[str]:
        """Any industry name, the longest where several start at one place."""
        return self._industry_pattern


def _problem(code: str, message: str, field: str, **params: Any) -> Problem:
    return Problem(code, message, field, {"field": field, **params})


def _required(field: str) -> Problem:
    return _problem("required", N_("{field}: required"), field)


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", normalize(text))


def parse_text(field: str, text: str, limit: int, *, required: bool = False) -> str | Problem:
    """A one-line text of at most `limit` characters, spaces collapsed ("" when not required
    and empty)."""
    value = _words(text)
    if not value and required:
        return _required(field)
    if len(value) > limit:
        return _problem("too_long", N_("{field}: at most {max} characters"), field, max=limit)
    return value


def parse_title(text: str) -> str | Problem:
    return parse_text("title", text, TITLE_MAX, required=True)


def parse_provider_name(text: str) -> str | Problem:
    value = _words(text)
    if not value:
        return _required("provider_name")
    if not PROVIDER_NAME_MIN <= len(value) <= PROVIDER_NAME_MAX:
        return _problem("provider_name", N_("provider_name: {min} to {max} characters"),
                        "provider_name", min=PROVIDER_NAME_MIN, max=PROVIDER_NAME_MAX)
    return value


def parse_contact_name(text: str) -> str | None | Problem:
    value = parse_text("contact_name", text, CONTACT_MAX)
    return value or None


def parse_phone(text: str) -> str | None | Problem:
    """A mainland mobile (13800000000), a landline with its area code (0531-88886666) or a
    400/800 service number; None when empty."""
    compact = re.sub(r"[\s()-]", "", normalize(text)).removeprefix("+86")
    if not compact:
        return None
    if _MOBILE.fullmatch(compact):
        return compact
    if _LANDLINE.fullmatch(compact):
        area = 3 if compact[1] in "12" else 4  # 010 and 02x; every other area code has four
        if 7 <= len(compact) - area <= 8:
            return f"{compact[:area]}-{compact[area:]}"
    if _SERVICE_NUMBER.fullmatch(compact):
        return f"{compact[:3]}-{compact[3:6]}-{compact[6:]}"
    return _problem("phone", N_("contact_mobile: {value} is neither a mainland mobile number "
                                "nor a landline such as 0531-88886666"), "contact_mobile",
                    value=text.strip())


def parse_yes_no(field: str, text: str) -> bool | Problem:
    """是/否, Y/N, 1/0 (true/false as Excel writes a logical cell); empty: no."""
    value = normalize(text).lower()
    if not value or value in _NO:
        return False
    if value in _YES:
        return True
    return _problem("yes_no", N_("{field}: {value} is neither yes nor no (是/否, Y/N, 1/0)"),
                    field, value=text.strip())


def parse_deployment(text: str) -> Deployment | Problem:
    """云 / 本地 / 云或本地 (混合) as cloud / local / both; empty: cloud."""
    value = re.sub(r"\s+", "", normalize(text)).lower()
    if not value:
        return "cloud"
    found = _DEPLOYMENTS.get(value)
    if found is None:
        return _problem("deployment", N_("deployment: {value} is none of 云, 本地, 云或本地"),
                        "deployment", value=text.strip())
    return found


def parse_link(text: str) -> str | None | Problem:
    value = normalize(text)
    if not value:
        return None
    if len(value) > LINK_MAX or not _LINK.fullmatch(value):
        return _problem("link", N_("link: an http(s) address of at most {max} characters"),
                        "link", max=LINK_MAX)
    return value


def parse_cities(text: str, ref: PoolReference) -> tuple[str, ...] | Problem:
    """Where the provider serves, in the reference's order; () for the whole province (empty,
    全省)."""
    parts = [p for p in re.split(_SEPARATORS, normalize(text)) if p]
    if not parts or all(p in _WHOLE_PROVINCE for p in parts):
        return ()
    found: set[str] = set()
    bad: list[str] = []
    for part in parts:
        # A list number means nothing in a file.
        city = None if part.isdigit() else ref.profile.parse_city(part)
        if isinstance(city, str):
            found.add(city)
        else:
            bad.append(part)
    if bad:
        return _problem("cities", N_("cities: not a city of Shandong: {values} (leave it empty "
                                     "or write 全省 for the whole province)"), "cities",
                        values="、".join(bad))
    return tuple(c for c in ref.profile.cities if c in found)


def parse_industry(token: str, ref: PoolReference) -> str | None:
    """One section ("C", 制造业) or division ("C13", 农副食品加工业) as its code; None if none."""
    value = normalize(token)
    for name, code in ref.industry_names():
        if value == name:
            return code
    value = value.upper()
    if ref.profile.section(value) is not None:
        return value
    division = re.fullmatch(r"([A-Z])([0-9]{2})", value)
    if division and ref.profile.division(division.group(1), division.group(2)) is not None:
        return value
    return None


def parse_industries(text: str, ref: PoolReference) -> tuple[str, ...] | Problem:
    """The industries a solution fits; () for any (empty, 全部)."""
    value = normalize(text)
    if not value or value in _ANY_INDUSTRY:
        return ()
    # Names first, as codes: 农、林、牧、渔业 holds the separator 、 itself.
    codes = dict(ref.industry_names())
    value = ref.industry_pattern().sub(lambda m: f" {codes[m.group(0)]} ", value)
    return _industry_tokens([p for p in re.split(_SEPARATORS, value) if p], ref)


def _industry_tokens(tokens: list[str], ref: PoolReference) -> tuple[str, ...] | Problem:
    found: list[str] = []
    bad: list[str] = []
    for token in tokens:
        code = parse_industry(token, ref)
        if code is None:
            bad.append(token)
        elif code not in found:
            found.append(code)
    if bad:
        return _problem("industries", N_("industries: not an industry section or division: "
                                         "{values} (such as C, 制造业, C13 or 农副食品加工业)"),
                        "industries", values="、".join(bad))
    return tuple(found)


def parse_scene(text: str, ref: PoolReference) -> str | None:
    """A scene by its code (S06, s6) or its name (生产管控); None if the set has none such."""
    value = normalize(text)
    for alias, code, is_code in ref.scene_aliases():
        if (value.upper() if is_code else value) == alias:
            return code
    return None


def _scene_at(text: str, pos: int, ref: PoolReference) -> tuple[str, int] | None:
    for alias, code, is_code in ref.scene_aliases():
        end = pos + len(alias)
        typed = text[pos:end]
        if (typed.upper() if is_code else typed) != alias:
            continue
        if is_code:
            if end < len(text) and text[end].isascii() and text[end].isalnum():
                continue  # S1 is not the start of S17
            name = ref.iset.scene_by_code[code].name
            named = re.compile(r"\s*" + re.escape(name)).match(text, end)
            end = named.end() if named else end  # "S06 生产管控:3"
        return code, end
    return None


def _after(pattern: re.Pattern[str], text: str, pos: int) -> int:
    found = pattern.match(text, pos)
    return found.end() if found else pos


def _level(text: str) -> int:
    return _CHINESE_DIGITS.get(text) or int(text)


def parse_lifts(text: str, ref: PoolReference) -> dict[str, int] | Problem:
    """Scenes and the level the solution brings each to: ``S06:3、S07:2``, ``S06→3``,
    ``生产管控 三级``, ``S06 3级``; in the indicator set's order."""
    value = normalize(text)
    found: dict[str, int] = {}
    pos = _after(_LIFT_GAP, value, 0)
    while pos < len(value):
        scene = _scene_at(value, pos, ref)
        if scene is None:
            piece = _PIECE.match(value, pos)
            return _problem("scene", N_("lifts: {value} is not a scene of the indicator set"),
                            "lifts", value=piece.group(0) if piece else value[pos])
        code, pos = scene
        pos = _after(_CONNECTOR, value, pos)
        level = _LEVEL.match(value, pos)
        if level is None:
            return _problem("level", N_("lifts: give the level {scene} is lifted to, such as "
                                        "{scene}:3"), "lifts", scene=code)
        checked = lift_level(code, level.group(1), ref)
        if isinstance(checked, Problem):
            return checked
        if code in found:
            return _problem("twice", N_("lifts: {scene} is given twice"), "lifts", scene=code)
        found[code] = checked
        pos = _after(_LIFT_GAP, value, level.end())
    if not found:
        return _problem("required", N_("lifts: required, such as S06:3、S07:2 (a scene's code "
                                       "or name and the level it is lifted to, 1 to {max})"),
                        "lifts", max=ref.iset.max_scene_level)
    return {s.code: found[s.code] for s in ref.iset.scenes if s.code in found}


def lift_level(scene: str, level: object, ref: PoolReference) -> int | Problem:
    """The level `scene` is lifted to: 1 to the set's top level, as a number or its text."""
    number: int | None = None
    if isinstance(level, int) and not isinstance(level, bool):
        number = level
    elif isinstance(level, str):
        text = normalize(level).removesuffix("级")
        if re.fullmatch(r"[0-9]{1,2}|[一二三四五六七八九]", text):
            number = _level(text)
    top = ref.iset.max_scene_level
    if number is None or not 1 <= number <= top:
        return _problem("level", N_("lifts: the level of {scene} is from 1 to {max}, not "
                                    "{value}"), "lifts", scene=scene, max=top, value=level)
    return number


# --- the admin API's edits ---------------------------------------------------------------------


def parse_changes(raw: Mapping[str, Any], ref: PoolReference) -> dict[str, Any] | list[Problem]:
    """The fields an admin changes (JSON-decoded), each checked as the import checks its
    column: the stored values by field, or every problem. Lifts and industries may also come
    as the API shows them (lists of objects with a code); texts are read as in the file."""
    problems: list[Problem] = []
    changes: dict[str, Any] = {}
    for field in sorted(set(raw) - set(EDITABLE)):
        problems.append(_problem("unknown_field", N_("{field}: there is no such field"), field))
    for field in EDITABLE:
        if field not in raw:
            continue
        checked = _change(field, raw[field], ref)
        if isinstance(checked, Problem):
            problems.append(checked)
        else:
            changes[field] = checked
    return problems or changes


def _change(field: str, value: Any, ref: PoolReference) -> Any:
    if field in ("free_trial", "retired"):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and normalize(value):
            return parse_yes_no(field, value)
        return _problem("boolean", N_("{field}: true or false"), field)
    if field == "link" and value is None:
        return None
    if field == "lifts" and not isinstance(value, str):
        return _lifts_value(value, ref)
    if field == "industries" and not isinstance(value, str):
        return _industries_value(value, ref)
    if not isinstance(value, str):
        return _problem("text", N_("{field}: expected text"), field)
    if field == "title":
        return parse_title(value)
    if field == "summary":
        return parse_text(field, value, SUMMARY_MAX)
    if field == "price":
        return parse_text(field, value, PRICE_MAX)
    if field == "deployment":
        return parse_deployment(value)
    if field == "link":
        return parse_link(value)
    if field == "lifts":
        return parse_lifts(value, ref)
    return parse_industries(value, ref)


def _lifts_value(value: Any, ref: PoolReference) -> dict[str, int] | Problem:
    pairs: list[tuple[Any, Any]] = []
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        pairs = [(v.get("code"), v.get("level")) for v in value]
    else:
        return _problem("lifts", N_("lifts: text such as S06:3, an object of scene to level, "
                                    "or a list of objects with code and level"), "lifts")
    found: dict[str, int] = {}
    for scene_text, level in pairs:
        code = parse_scene(scene_text, ref) if isinstance(scene_text, str) else None
        if code is None:
            return _problem("scene", N_("lifts: {value} is not a scene of the indicator set"),
                            "lifts", value=scene_text)
        checked = lift_level(code, level, ref)
        if isinstance(checked, Problem):
            return checked
        if code in found:
            return _problem("twice", N_("lifts: {scene} is given twice"), "lifts", scene=code)
        found[code] = checked
    if not found:
        return parse_lifts("", ref)  # the "required" problem
    return {s.code: found[s.code] for s in ref.iset.scenes if s.code in found}


def _industries_value(value: Any, ref: PoolReference) -> tuple[str, ...] | Problem:
    if not isinstance(value, list):
        return _problem("industries", N_("industries: text, or a list of sections and "
                                         "divisions"), "industries")
    tokens: list[str] = []
    for item in value:
        token = item.get("code") if isinstance(item, Mapping) else item
        if not isinstance(token, str):
            return _problem("industries", N_("industries: text, or a list of sections and "
                                             "divisions"), "industries")
        tokens.append(normalize(token))  # each entry whole: 农、林、牧、渔业 is one industry
    return _industry_tokens(tokens, ref)
