"""The preliminary result: level, scores, scenes, the gap to the next level, what to do first.

Wording is gettext (`ctx.tr`); indicator texts come from the indicator data file.
"""

from __future__ import annotations

from decimal import Decimal

from flows.beijing_time import epoch_day
from flows.messages.questionnaire import position
from flows.scoring import number_text
from flows.state import Context, Draft, PastResult


def submit_failed(ctx: Context) -> str:
    return ctx.tr.gettext("Sorry, the submission could not be saved just now. Your answers are "
                          "kept: please reply 提交 again in a moment.")


def no_results(ctx: Context, draft: Draft | None) -> str:
    _ = ctx.tr.gettext
    text = _("There is no submitted assessment yet.")
    if draft is not None:
        return text + " " + _("You have an unfinished assessment at {where}: reply 继续.").format(
            where=position(ctx, draft))
    return text + " " + _("Reply 开始测评 to begin, or 帮助 for all commands.")


def result(ctx: Context, latest: PastResult, previous: PastResult | None, *, fresh: bool,
           draft: Draft | None = None, then: str = "") -> str:
    """The preliminary level with scores, scenes, the gap to the next level and suggestions;
    `then` (the solutions that fit) follows, before the reminder of an unfinished draft."""
    _ = ctx.tr.gettext
    data = latest.data
    iset = ctx.sets.get(str(data.get("indicator_set")), ctx.iset(None))
    maxima = {d.code: d.max_score for d in iset.dimensions}
    titles = {d.code: d.title for d in iset.dimensions}
    lines = [_("Preliminary result for {name} ({date})").format(name=latest.enterprise_name,
                                                                 date=epoch_day(latest.submitted_at)),
             _("Level: {level}").format(level=latest.level_name),
             _("Total {total}/{max}: {dimensions}").format(
                 total=number_text(Decimal(str(data["total"]))),
                 max=number_text(Decimal(str(data["max_score"]))),
                 dimensions=" · ".join(
                     f"{titles.get(code, code)} {number_text(Decimal(str(score)))}/"
                     f"{number_text(maxima.get(code, Decimal(0)))}"
                     for code, score in data["dimensions"].items()))]
    if previous is not None:
        lines.append(_change(ctx, latest, previous))
    counts = [c for c in data["scene_counts"] if c["level"] >= 1]
    lines.append(_("Scenes reaching each level: {counts}").format(counts=_("; ").join(
        _("≥{level}: {n} ({c} constraint)").format(level=c["level"], n=c["scenes_at_least"],
                                                   c=c["constraint_scenes_at_least"])
        for c in counts)))
    gap = data.get("next_level")
    if gap is None:
        lines.append(_("This is the highest level."))
    else:
        needs = []
        points = Decimal(str(gap["points_missing"]))
        if points > 0:
            needs.append(_("{points} more points").format(points=number_text(points)))
        if gap["scenes_missing"] or gap["constraint_scenes_missing"]:
            needs.append(_("{n} more scenes at level {level} ({c} of them constraint "
                           "scenes)").format(n=max(gap["scenes_missing"],
                                                   gap["constraint_scenes_missing"]),
                                             level=gap["scene_level"],
                                             c=gap["constraint_scenes_missing"]))
        lines.append(_("For {level} you still need: {needs}.").format(
            level=gap["name"], needs=_("; ").join(needs)))
        if gap["scenes_to_lift"]:
            lines.append(_("Closest scenes: {scenes}").format(scenes="、".join(
                f"{s['name']}（{s['level']}→{s['target']}）" for s in gap["scenes_to_lift"])))
    suggestions = data.get("suggestions") or []
    if suggestions:
        lines.append(_("What to do first:"))
        lines += [f"{i}. {s['text']}" for i, s in enumerate(suggestions, 1)]
    lines.append(_("This is a preliminary self-assessment; the official level is confirmed by "
                   "on-site evaluation by an evaluation agency."))
    if latest.report_url:
        lines.append(_("The full report, to keep, print or forward: {url}").format(
            url=latest.report_url))
    if then:
        lines.append(then)
    if not fresh and draft is not None:
        lines.append(_("You have an unfinished assessment at {where}: reply 继续.").format(
            where=position(ctx, draft)))
    return "\n".join(lines)


def _change(ctx: Context, latest: PastResult, previous: PastResult) -> str:
    _ = ctx.tr.gettext
    delta = latest.total - previous.total
    if latest.level > previous.level:
        direction = _("level up")
    elif latest.level < previous.level:
        direction = _("level down")
    else:
        direction = _("same level")
    sign = "+" if delta > 0 else ""
    return _("Since {date} ({level}, {total} points): {direction}, {sign}{delta} points").format(
        date=epoch_day(previous.submitted_at), level=previous.level_name,
        total=number_text(previous.total), direction=direction, sign=sign,
        delta=number_text(delta))
