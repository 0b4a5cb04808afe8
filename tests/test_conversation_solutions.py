"""The solutions after a result in the chat, on the pure machine: the best three at the end of
the result, 方案 and 方案 N, 对接 N asking for the mobile (the consent) and recording the lead,
and every wrong turn answered without changing anything."""

from __future__ import annotations

from dataclasses import replace

from flows.events import (
    CreateLead,
    LeadCreated,
    LeadRefused,
    LoadMatches,
    MatchesListed,
    RequestFailed,
    ShowSolution,
    SolutionShown,
    Submit,
    Submitted,
)
from flows.solutions import Enterprise, Match, Pool, Provider, Solution, match
from flows.state import LeadOffer, Listed, State
from tests.test_conversation import CTX, ISET, LIMIT, Person, past_result, play_to_review

LUXIN = Provider("91370100MA0000001X", "鲁信云", contact_name="王工")
INSPUR = Provider("91370100MA0000002Y", "浪潮工业互联网", leading=True)


def pool() -> Pool:
    return Pool.of([
        Solution(1, "云MES", "排产、报工、追溯一体。", LUXIN, {"S06": 3, "S05": 3},
                 price="1–3 万元/年", link="https://example.com/mes"),
        Solution(2, "设备上云", "设备联网与点检。", INSPUR, {"S08": 3}, free_trial=True,
                 deployment="both"),
        Solution(3, "质量追溯", "", LUXIN, {"S07": 3}),
        Solution(4, "能耗在线监测", "", LUXIN, {"S10": 3}),
        Solution(5, "安全生产巡检", "", INSPUR, {"S09": 4}),
    ])


def submitted(p: Person) -> tuple[str, tuple[Match, ...]]:
    """Walk to the review and submit; the archive's answer carries the matches for the result."""
    play_to_review(p)
    request = p.request("提交")
    assert isinstance(request, Submit)
    found = match(pool(), ISET, request.data, Enterprise("C", "济南市", "34"), limit=3)
    reply = p.complete(Submitted((past_result(request),), found))
    assert reply is not None and len(reply.encode()) <= LIMIT
    return reply, found


def test_the_result_ends_with_the_best_three() -> None:
    p = Person()
    reply, found = submitted(p)
    # Each lifts one scene toward 三级: free trial first, then the 领军 provider, then by id.
    assert [m.solution.id for m in found] == [2, 5, 1]
    text = reply + "".join(p.state.pages)  # a long result pages on with 更多
    assert "为您匹配的方案（来自省级供给资源库）：" in text
    assert text.endswith("回复「方案 N」查看详情，「对接 N」由服务商联系您，「方案」查看完整列表。")
    assert "1. 设备上云（浪潮工业互联网，领军服务商） · 可先免费试用" in text
    assert "可将「设备管理」提升到三级，距三级还差" in text
    assert p.state.listed == (Listed(2, "设备上云", "浪潮工业互联网"),
                              Listed(5, "安全生产巡检", "浪潮工业互联网"),
                              Listed(1, "云MES", "鲁信云"))
    assert p.state.draft is None


def test_the_list_and_one_solution() -> None:
    p = Person()
    _request, found = submitted(p)
    assert p.request("方案") == LoadMatches()
    reply = p.complete(MatchesListed((found[0], found[2]), submitted=True))
    assert reply is not None and reply.count("\n   可将") == 2
    assert [item.id for item in p.state.listed] == [2, 1]
    assert p.request("方案 2") == ShowSolution(1)
    detail = p.complete(SolutionShown(1, found[2]))
    assert detail is not None
    assert detail.splitlines()[0] == "2. 云MES（鲁信云）"
    assert "排产、报工、追溯一体。" in detail and "价格：1–3 万元/年" in detail
    assert "https://example.com/mes" in detail
    assert detail.endswith("回复「对接 2」，由服务商与您联系。")
    assert p.request("方案 2") == ShowSolution(1)
    assert "方案 2 已不再向贵企业推荐" in (p.complete(SolutionShown(1, None)) or "")


def test_a_number_not_in_the_list() -> None:
    p = Person(State(listed=(Listed(2, "设备上云", "浪潮工业互联网"),)))
    assert p.say("方案 3") == "列表中没有方案 3（可选 1–1），请回复「方案」查看列表。"
    assert p.say("对接 9") == "列表中没有方案 9（可选 1–1），请回复「方案」查看列表。"
    assert Person().say("对接 1") == "请先回复「方案」查看适合贵企业的方案列表。"
    assert p.say("对接") == "请回复「对接 N」，N 为方案列表中的序号（回复「方案」查看列表）。"
    assert p.requests == [] and p.state.lead_offer is None


def test_nothing_to_match_before_a_submission() -> None:
    p = Person()
    assert p.request("方案") == LoadMatches()
    assert p.complete(MatchesListed((), submitted=False)) == (
        "方案根据测评结果匹配：请先回复「开始测评」完成并提交。")
    assert p.request("方案") == LoadMatches()
    assert p.complete(MatchesListed((), submitted=True)) == (
        "省级供给资源库中暂时没有适合贵企业的方案，稍后可回复「方案」再看。")


LISTED = State(listed=(Listed(2, "设备上云", "浪潮工业互联网"), Listed(1, "云MES", "鲁信云")))


def test_connect_asks_for_the_mobile_and_records_the_lead() -> None:
    p = Person(LISTED)
    offer = p.say("对接 2")
    assert offer.startswith("如需鲁信云就「云MES」与您联系，请回复您的手机号")
    assert p.state.lead_offer == LeadOffer(1, "云MES", "鲁信云")
    assert p.say("确认") == "请回复您的手机号（11 位）供鲁信云联系您，或回复「取消」。"
    assert p.say("1380013800") == "请回复您的手机号（11 位）供鲁信云联系您，或回复「取消」。"
    assert p.state.lead_offer == LeadOffer(1, "云MES", "鲁信云") and p.requests == []
    assert p.request("138-0013-8000") == CreateLead(1, "13800138000")
    done = p.complete(LeadCreated("云MES", "鲁信云", "王工", already=False))
    assert done == ("已为您对接：鲁信云的王工将在 3 个工作日内就「云MES」与您联系。"
                    "您所在地区的数字专员也能看到这条对接需求。")
    assert p.state.lead_offer is None and p.state.listed == LISTED.listed
    p.say("对接 2")
    assert p.request("+86 13800138000") == CreateLead(1, "13800138000")
    assert p.complete(LeadCreated("云MES", "鲁信云", None, already=True)) == (
        "您关于「云MES」的对接需求已提交给鲁信云：鲁信云会与您联系。")


def test_connect_cancelled_or_left() -> None:
    p = Person(LISTED)
    p.say("对接 1")
    assert p.say("取消") == "已取消，未向服务商提供任何信息。"
    assert p.state.lead_offer is None
    p.say("对接 1")
    assert p.say("帮助").startswith("可用指令：")  # the person moved on: the offer is dropped
    assert p.state.lead_offer is None and p.requests == []


def test_a_lead_that_cannot_be_made() -> None:
    p = Person(LISTED)
    p.say("对接 1")
    request = p.request("13800138000")
    assert p.complete(RequestFailed(request)) == (
        "抱歉，暂时无法记录对接需求，请稍后再次发送您的手机号。")
    assert p.state.lead_offer is not None  # the mobile can be sent again
    assert p.request("13800138000") == request
    assert p.complete(LeadRefused("gone")) == "该方案已下架，请回复「方案」查看最新列表。"
    assert p.state.lead_offer is None


def test_the_offer_and_the_list_are_kept_between_messages() -> None:
    offered = replace(LISTED, lead_offer=LeadOffer(1, "云MES", "鲁信云"))
    assert not offered.is_empty() and not LISTED.is_empty()
    assert State().is_empty()


def test_help_names_the_commands() -> None:
    line = "方案 / 方案 N / 对接 N：适合您的方案 / 方案详情 / 由服务商联系您"
    assert line in Person().say("帮助")


def test_english() -> None:
    from flows.i18n import PLAIN
    from flows.state import Context

    p = Person(LISTED, ctx=Context(CTX.sets, CTX.default_set, CTX.reference, PLAIN))
    assert p.say("对接 1").startswith("To have 浪潮工业互联网 call you about 「设备上云」")
