"""What a question asks for, read from its form.

The rules come from how official documents (公文) are written and how people
ask about them, not from any question set:

* A document has metadata every reader asks about — its title, 文号 (document
  number), 成文日期 (date), 发文机关 (issuing bodies), 主送机关 (addressees),
  the planning period in its title — and a numbered structure: parts, tasks,
  items. Questions about those are answered from the document itself.
* A question can ask for a kind of thing — an amount, a count, a time, a
  frequency, a name — and then only a sentence holding such a thing answers it.
* A yes/no question (…吗、是否、能不能、有没有) asks whether the documents say a
  particular thing; one that states a premise (…对吧、方案说…) may state it wrongly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from qa.ingest.structure import cn_number

# --- what kind of question -----------------------------------------------------------

_METADATA_PATTERNS = (
    ("doc_number", re.compile(r"文号|发文字号|文件字号|发文号|文件编号")),
    ("issuers", re.compile(r"发文(单位|机关|部门)|印发单位|联合印发|(几|哪些|哪几个)部门(联合|一起|共同)?(印发|发布|发文)")),
    ("date", re.compile(r"落款(日期|时间)|成文(日期|时间)|印发(日期|时间)|发文(日期|时间)|(什么时候|何时|哪天|哪一天|哪年|哪一年|几月|日期|时间)[^，。？?]{0,6}(印发|发布|出台|下发|发文|制定|颁布)"
                        r"|(印发|发布|出台|下发|发文|成文|颁布)[^。？?]{0,8}(时间|日期|何时|哪天|哪一天|哪年|哪一年|什么时候)"
                        r"|(印发|发布|出台|下发|颁布)的[?？]?$")),
    ("addressees", re.compile(r"主送|发给(谁|哪些)|印发给(谁|哪些)|下发给|发到(哪|谁)")),
    ("period", re.compile(r"五年规划|哪个时期|什么时期|规划期")),
    # The document's own title: 「方案全称是什么」; 「西藏要共建的实验室叫什么名字」 asks about something in it.
    ("title", re.compile(r"^(这个|这份|本|该)?(实施方案|方案|文件|通知)的?(全称|标题|题目|名称|名字)|全称(是什么|叫什么|是啥)"
                         r"|^(这个|这份|本|该)?(实施方案|方案|文件|通知)(叫什么|全称)")),
)
# 「是哪个部门领衔、和其他部门一起制定的这个方案？」: who made the document itself — the
# document must be the subject (「这个方案由谁制定」) or the object (「…制定的这个方案」), so
# 「落实方案由谁负责制定」 (another plan) is not read as a question about the issuers.
_WHO_MADE = re.compile(r"(谁|哪个部门|哪些部门|哪几个部门|什么部门|哪个单位|哪些单位|哪家)[^。？?]{0,14}(印发|发布|制定|出台|下发|发文)")
_DOCUMENT_SUBJECT = re.compile(r"^(请问)?(这个|这份|本|该|此)?(《[^》]+》|实施方案|方案|文件|通知)(是|由|到底|究竟|最早)")
_DOCUMENT_OBJECT = re.compile(r"(这个|这份|本|该|此)(实施方案|方案|文件|通知)[？?。]?$|《[^》]+》[？?。]?$")
_STRUCTURE_COUNT = re.compile(r"(几|多少)(项|个|条|部分|方面|大类|类|块|章|节|款)|一共|总共|共有|共分")
_STRUCTURE_ORDINAL = re.compile(r"第\s*[（(]?\s*([一二三四五六七八九十\d]{1,3})\s*[）)]?\s*(项|个|条|部分|方面|点|节|章|款)?")
_STRUCTURE_PARTS = re.compile(r"(哪几|哪些|几)(个|大)?(部分|板块|篇章|章节)|结构|框架|构成|组成|目录|提纲|由哪些部分"
                              r"|子任务|子项|下设|下分|下面(有|包括|分|设)|(包括|包含|分为|分成)(哪几|哪些|几)(项|个|条|方面)?(任务|内容|措施)?[？?]?$")
# 「这一条」「这一项」 point back at a clause (a follow-up), they do not ask for its heading.
_STRUCTURE_HEADING = re.compile(r"标题|题目|小标题")
_STRUCTURE_POSITION = re.compile(r"第几(项|个|条|部分|方面)|排(在)?第几|排(在)?哪")
# A count of parts counts structural units; 「坚持哪几条原则」 counts principles, which a
# clause states in its text, so the unit must end the question or name a structural part.
_STRUCTURE_UNIT = re.compile(r"(几|多少)((项|条|部分|方面|章|节|款)(重点)?(任务|措施|内容|部分|工作|方面|子任务)?|"
                             r"(个|大类|类|块)(重点)?(任务|措施|部分|方面|子任务))([？?。吗呢]|$|，|是|分别|各是)")
# 「包括哪些内容」 after a topic asks for the clause text, not for its sub-headings.
_LIST_OF_CONTENT = re.compile(r"(原则|目标|要求|举措|技术|领域|产业|资源|平台)")
_LIST = re.compile(r"哪些|有哪|分别|都有|所有|各项|几项|哪几|列举|包括什么|包括哪|都是什么")

# --- what it asks for ---------------------------------------------------------------

_ASKS_AMOUNT = re.compile(r"多少(亿|万|千)?(元|钱|块)|(投资|投入|花费|花了|资本)(了|是|有)?(多少|几)|多少(万吨|吨|GW|千瓦|兆瓦)|多少[^，。？?]{0,6}(资金|经费|补贴|补助|投入|预算|费用|钱)|(亿|万)元|金额|经费数|资金规模|预算|"
                          r"(补贴|补助|资助|奖励|奖金)[^，。？?]{0,6}标准|标准是多少|年薪|工资|薪酬|待遇|比例|百分之|几成|税率|分成|提成")
_ASKS_FREQUENCY = re.compile(r"多长时间(一次|搞一次|开一次|评一次)?|多久(一次)?|多少年一次|每年几次|几年一次|频次|频率|"
                             r"每(年|季度|月)[^，。？?]{0,4}(几|哪)|(一年|每年|每季度|每月|多久)[^，。？?]{0,4}(几次|几回|一次)|几月份?|哪个月|截止|截至|期限|deadline", re.IGNORECASE)
_ASKS_DURATION = re.compile(r"((?<![日时])期|周期|期限|年限|任期)(是|有|为)?(几|多少|多长)|(几|多少)年(一轮|一换|一期)|多长时间(完成|建成|轮换)?$|要多久")
_ASKS_DEADLINE = re.compile(r"最晚|最迟|截止(日期|时间)?|(之前|以前)(要|须|必须|得)?(报|交|完成|提交)")
_ASKS_TIME = re.compile(r"何时|什么时候|哪天|哪一天|哪年|哪一年|日期|年份|到哪一年|哪个时间|时间节点|时限")
# A company is named in a plan only when it is a party; bodies and institutions (机构) are the ownership answerer's.
_ASKS_NAME = re.compile(r"(哪家|哪个|哪些|什么)(公司|企业|集团|银行)")
_ASKS_OUTCOME = re.compile(r"取得了?(哪些|什么|多少)?(成效|成果|成绩|进展|效果)|已经|已(建成|完成|共建|建立)|建成了(吗|没)|"
                           r"(到|至)(现在|今)|目前(已|有|进展)|成效如何|进展(如何|怎么样|到哪)|完成(情况|得怎么样|了没)|"
                           r"结果(出来|如何|怎么样)|排(名|第一|第几)|落实得(怎么样|如何)")
_ASKS_PROCEDURE = re.compile(r"审批|流程|手续|(提交|准备|需要)(哪些|什么)?材料|申报(条件|程序|流程|要求)|怎么申请|如何申请|怎样申请|去哪(里)?申请")
# Policy instruments a science-cooperation plan leaves to other policies: a question about one
# needs a clause that names it (see `qa.answer.answerability`).
INSTRUMENTS = re.compile(r"个人所得税|所得税|增值税|税收|税费|减税|免税|社保|社会保险|医保|医疗保险|养老保险|公积金|建设用地|用地指标|"
                         r"土地政策|住房补贴|安家费|住房|落户|户口|编制|审计|处罚|罚款|问责|注册资本")
_ASKS_LOCATION = re.compile(r"设在哪|建在哪|在哪里|在哪儿|位于哪|总部|哪个县|哪几个县|哪些县|具体是哪些?县|选址")
_ASKS_PERSON = re.compile(r"哪位|哪个人|谁(牵头负责|主持|挂帅)|院士|负责人是谁|专家名单|叫什么名字的人")
_ASKS_CONTACT = re.compile(r"电话|联系方式|邮箱|网址|地址在哪|热线")
_ASKS_HEADCOUNT = re.compile(r"多少(名|个|位)?(人|科研人员|专家|干部|人才|名额|技术人员)|几(名|个|位)(人|专家|干部)")
_ASKS_NUMBER = re.compile(r"多少(个|家|所|名|人|项|处|座|亩|吨|公里|千瓦)|几(个|家|所|名|人|处|座)")

_YES_NO = re.compile(r"吗[？?]?$|吧[？?]?$|是否|能不能|可不可以|可否|会不会|是不是|有没有|对不对|对吗|对吧|没有[？?]$|了没[？?]?$")
_PREMISE = re.compile(r"对吧|对吗|是吧|没错吧|是不是|对不对|^(方案|文件|通知|据说|听说|我记得|好像)[^，。？?]{0,6}(说|讲|提到|规定|要求|写)")


@dataclass(frozen=True)
class Intent:
    """How a question is read.

    kind: "metadata", "structure", "list" or "fact" (ownership is recognised
    by the ownership answerer, which knows the organisations).
    asks_for: "amount", "deadline", "duration", "frequency", "time", "instrument",
    "location", "person", "headcount", "name", "contact", "number",
    "outcome", "procedure" or "topic" — what a sentence must hold to answer.
    detail: the metadata field ("date", "issuers" …), the structure request
    ("count", "ordinal", "parts", "heading", "position"), or the policy instrument asked about (税收 …).
    ordinal: for 「第（五）项」, the number asked for.
    """

    kind: str = "fact"
    asks_for: str = "topic"
    detail: str = ""
    ordinal: int = 0
    yes_no: bool = False
    premise: bool = False


def understand(text: str) -> Intent:
    """The intent of one (standalone) question."""
    core = "".join(text.split())
    yes_no = bool(_YES_NO.search(core))
    premise = bool(_PREMISE.search(core))
    for field, pattern in _METADATA_PATTERNS:
        if pattern.search(core):
            return Intent("metadata", "topic", field, yes_no=yes_no, premise=premise)
    if _WHO_MADE.search(core) and (_DOCUMENT_SUBJECT.search(core) or _DOCUMENT_OBJECT.search(core)):
        return Intent("metadata", "topic", "issuers", yes_no=yes_no, premise=premise)
    structure = _structure_request(core)
    if structure:
        detail, ordinal = structure
        return Intent("structure", "topic", detail, ordinal, yes_no=yes_no, premise=premise)
    kind = "list" if _LIST.search(core) else "fact"
    asks_for = _asks_for(core)
    instrument = INSTRUMENTS.search(core) if asks_for == "instrument" else None
    return Intent(kind, asks_for, instrument.group() if instrument else "", yes_no=yes_no, premise=premise)


def _structure_request(core: str) -> tuple[str, int] | None:
    ordinal = _STRUCTURE_ORDINAL.search(core)
    if ordinal and (ordinal.group(2) or "（" in ordinal.group(0) or "(" in ordinal.group(0)):
        return "ordinal", cn_number(ordinal.group(1))
    if _STRUCTURE_PARTS.search(core) and not _LIST_OF_CONTENT.search(core):
        return "parts", 0
    if _STRUCTURE_POSITION.search(core):
        return "position", 0
    if _STRUCTURE_COUNT.search(core) and _STRUCTURE_UNIT.search(core):
        return "count", 0
    if _STRUCTURE_HEADING.search(core):
        return "heading", 0
    return None


def _asks_for(core: str) -> str:
    for name, pattern in (("contact", _ASKS_CONTACT), ("instrument", INSTRUMENTS), ("outcome", _ASKS_OUTCOME),
                          ("procedure", _ASKS_PROCEDURE), ("location", _ASKS_LOCATION), ("person", _ASKS_PERSON),
                          ("headcount", _ASKS_HEADCOUNT),
                          ("amount", _ASKS_AMOUNT), ("deadline", _ASKS_DEADLINE), ("duration", _ASKS_DURATION), ("frequency", _ASKS_FREQUENCY),
                          ("time", _ASKS_TIME), ("name", _ASKS_NAME), ("number", _ASKS_NUMBER)):
        if pattern.search(core):
            return name
    return "topic"
