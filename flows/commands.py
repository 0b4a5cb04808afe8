"""What a chat message means when it is a keyword rather than an answer.

One table of keywords (Chinese first, with the variants people actually type) and the menu keys
of the Official Account; everything else a person sends is an answer to the current step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from flows.profile import normalize
from flows.statuses import Status


class Command(Enum):
    START = "start"
    CONTINUE = "continue"
    PROGRESS = "progress"
    PREVIOUS = "previous"
    EDIT = "edit"
    RESTART = "restart"
    EXPLAIN = "explain"
    HELP = "help"
    RESULT = "result"
    SUBMIT = "submit"
    MORE = "more"
    CONFIRM = "confirm"
    CANCEL = "cancel"
    NOTICES_OFF = "notices_off"
    NOTICES_ON = "notices_on"
    NOTICES = "notices"
    SIGN_UP = "sign_up"  # 报名 N: the notice number
    WITHDRAW = "withdraw"  # 取消报名 N
    BIND = "bind"  # 绑定 CODE: a commissioner or a provider's contact links their WeChat
    ROSTER = "roster"  # 名单 未开始|进行中|已提交 (commissioners)
    NUDGE = "nudge"  # 催办 [credit code] (commissioners)
    SOLUTIONS = "solutions"  # 方案 [N]: the solutions that fit, or one of them
    CONNECT = "connect"  # 对接 N: ask for the provider of solution N to call
    CONSOLE = "console"  # 后台: a one-time sign-in link to the web console (commissioners)


KEYWORDS: dict[Command, frozenset[str]] = {
    Command.START: frozenset({"开始测评", "开始", "测评", "开始评测", "评测", "自评", "start"}),
    Command.CONTINUE: frozenset({"继续", "继续测评", "继续答题", "continue"}),
    Command.PROGRESS: frozenset({"进度", "查看进度", "progress"}),
    Command.CONSOLE: frozenset({"后台", "登录后台", "工作台", "电脑版", "console"}),
    Command.PREVIOUS: frozenset({"上一题", "上一步", "上题", "返回", "back"}),
    Command.RESTART: frozenset({"重新开始", "重新测评", "重来", "restart"}),
    Command.EXPLAIN: frozenset({"说明", "解释", "题目说明", "explain"}),
    Command.HELP: frozenset({"帮助", "help", "?", "菜单", "menu"}),
    Command.RESULT: frozenset({"结果", "我的结果", "查看结果", "测评结果", "result"}),
    Command.SUBMIT: frozenset({"提交", "确认提交", "submit"}),
    Command.MORE: frozenset({"更多", "下一页", "more"}),
    Command.CONFIRM: frozenset({"确认", "确定", "是", "是的", "好", "好的", "对", "y", "yes",
                                "ok"}),
    Command.CANCEL: frozenset({"取消", "否", "不", "不是", "不用", "n", "no"}),
    Command.NOTICES_OFF: frozenset({"退订通知", "取消订阅", "退订"}),
    Command.NOTICES_ON: frozenset({"订阅通知", "恢复通知", "订阅"}),
    # 报名 / 取消报名 without a number: the list, with the numbers to use.
    Command.NOTICES: frozenset({"通知", "我的通知", "查看通知", "培训", "活动", "培训活动",
                                "报名", "我的报名", "取消报名", "notices"}),
}
_BY_WORD = {word: command for command, words in KEYWORDS.items() for word in words}
_EDIT = re.compile(r"(?:修改|改|edit)\s*(?:第\s*)?([0-9]{1,2}|[a-z][0-9]{1,2})\s*题?",
                   re.IGNORECASE)
_SIGN_UP = re.compile(r"(?:报名|sign ?up)\s*(?:第\s*)?#?([0-9]{1,9})\s*号?", re.IGNORECASE)
_WITHDRAW = re.compile(r"(?:取消报名|withdraw)\s*(?:第\s*)?#?([0-9]{1,9})\s*号?",
                       re.IGNORECASE)
_BIND = re.compile(r"(?:绑定|bind)\s*([a-z0-9][a-z0-9 \-]{0,30})?", re.IGNORECASE)
_ROSTER = re.compile(r"名单\s*(未开始|进行中|已提交)?")
_NUDGE = re.compile(r"(?:催办|nudge)\s*(.{0,40})", re.IGNORECASE)
_SOLUTIONS = re.compile(r"(?:方案|解决方案|推荐方案|solutions?)\s*(?:第\s*)?#?([0-9]{1,2})?\s*号?",
                        re.IGNORECASE)
_CONNECT = re.compile(r"(?:对接|供需对接|connect)\s*(?:第\s*)?#?([0-9]{1,2})?\s*号?",
                      re.IGNORECASE)
ROSTER_STATUSES: dict[str, Status] = {"未开始": "not_started", "进行中": "in_progress",
                                     "已提交": "submitted"}
_TRAILING = "。.!！~～ "

# Menu (CLICK event) keys configured for the Official Account's custom menu.
MENU_KEYS: dict[str, Command] = {
    "start": Command.START,
    "continue": Command.CONTINUE,
    "result": Command.RESULT,
    "help": Command.HELP,
}


@dataclass(frozen=True, slots=True)
class Parsed:
    command: Command
    # 修改 N: the question number or code; 报名 N: the notice number; 催办 X: the credit code;
    # 方案 N / 对接 N: the number in the list of solutions shown
    argument: str = ""


def parse_command(text: str) -> Parsed | None:
    """The keyword in `text`, or None when `text` should be read as an answer."""
    value = normalize(text).rstrip(_TRAILING).lower()
    command = _BY_WORD.get(value)
    if command is not None:
        return Parsed(command)
    for pattern, command in ((_EDIT, Command.EDIT), (_SIGN_UP, Command.SIGN_UP),
                             (_WITHDRAW, Command.WITHDRAW), (_BIND, Command.BIND),
                             (_NUDGE, Command.NUDGE), (_SOLUTIONS, Command.SOLUTIONS),
                             (_CONNECT, Command.CONNECT)):
        match = pattern.fullmatch(value)
        if match:
            return Parsed(command, (match.group(1) or "").upper())
    match = _ROSTER.fullmatch(value)
    if match:
        return Parsed(Command.ROSTER, ROSTER_STATUSES.get(match.group(1) or "", ""))
    return None
