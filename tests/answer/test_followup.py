"""Rule-based rewriting of follow-up questions into standalone ones."""

from __future__ import annotations

from qa.answer.followup import is_followup, rewrite_followup


def _h(*turns: str) -> list[dict[str, str]]:
    roles = ["user", "assistant"]
    return [{"role": roles[i % 2], "content": t} for i, t in enumerate(turns)]


def test_standalone_question_is_unchanged():
    assert rewrite_followup("招远市养犬要登记吗？", None) == "招远市养犬要登记吗？"
    assert not is_followup("兰山区政府投资项目变更要走什么程序？", _h("你好", "您好"))


def test_region_swap():
    h = _h("周村区残疾人事业发展规划的主要目标是什么？", "《周村区残疾人事业发展“十三五”规划》规定……[1]")
    assert rewrite_followup("兰山区呢？", h) == "兰山区残疾人事业发展规划的主要目标是什么？"


def test_entity_followup_keeps_previous_question():
    h = _h("招远市居民养老保险怎么缴费？", "《招远市2022年居民养老保险征缴工作实施方案》规定……[1]")
    out = rewrite_followup("那残疾人呢？", h)
    assert out.startswith("招远市居民养老保险怎么缴费") and "残疾人" in out


def test_this_policy_names_previous_document():
    h = _h("黄金深加工设备升级能补多少？", "《关于加快黄金深加工产业发展的扶持意见》（招政发〔2022〕8号）三、（三）10.规定：……[1]")
    out = rewrite_followup("这个政策什么时候到期？", h)
    assert out == "《关于加快黄金深加工产业发展的扶持意见》什么时候到期？"


def test_traditional_followup_is_simplified():
    h = _h("青岛市活禽交易有什么规定？", "……")
    assert "呢" not in rewrite_followup("那罰款呢？", h)
