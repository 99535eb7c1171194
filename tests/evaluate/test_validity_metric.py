"""The optional gold `validity` block and the validity accuracy metric (pure, no index)."""

from __future__ import annotations

import json

import pytest

from qa.evaluate.gold import GoldFormatError, check_gold, load_gold
from qa.evaluate.metrics import aggregate, has_validity_warning, score_question, validity_accuracy, validity_dates_correct

GOLD = {"doc_number": "招政发〔2022〕8号", "effective": "2022-02-07", "expiry": "2025-02-06",
        "in_force_on": {"2023-06-01": True, "2026-12-01": False}}
WARN = "……20%[1]。\n\n注意：该意见[1]有效期至2025年2月6日，截至2026年12月1日已过有效期，现行政策请向招远市工业和信息化局咨询。"


def _v(status, effective="2022-02-07", expiry="2025-02-06", **kw):
    return {"status": status, "effective_date": effective, "expiry_date": expiry, "repealed_by": None, "as_of": "x", **kw}


def test_all_dates_right():
    observed = {"2023-06-01": {"validity": [_v("in_force")], "text": "……20%[1]。"},
                "2026-12-01": {"validity": [_v("expired"), _v("expired")], "text": WARN}}
    assert validity_accuracy(GOLD, observed) == 1.0
    assert validity_dates_correct(GOLD, observed) is True


@pytest.mark.parametrize(
    "late, why",
    [
        ({"validity": [_v("in_force")], "text": WARN}, "status says in force"),
        ({"validity": [_v("expired")], "text": "……20%[1]。"}, "no warning in the text"),
        ({"validity": [], "text": WARN}, "the document is not cited"),
        ({"validity": [_v("expired"), _v("unknown")], "text": WARN}, "one citation of it has the wrong status"),
    ],
)
def test_a_wrong_date_counts(late, why):
    observed = {"2023-06-01": {"validity": [_v("in_force")], "text": "ok"}, "2026-12-01": late}
    assert validity_accuracy(GOLD, observed) == 0.5, why


def test_uncited_predecessor_named_as_repealed():
    gold = {"doc_number": "临兰政办字〔2020〕35号", "effective": None, "expiry": "2022-06-23", "in_force_on": {"2026-12-01": False}}
    text = "本预案自印发之日起实施,《兰山区防汛抗旱应急预案》(临兰政办字〔2020〕35号)同时废止。"
    assert validity_accuracy(gold, {"2026-12-01": {"validity": [], "text": text}}) == 1.0
    assert validity_accuracy(gold, {"2026-12-01": {"validity": [], "text": "本预案自印发之日起实施。"}}) == 0.0


def test_dates_metric_allows_an_unstated_effective_date_but_not_a_wrong_expiry():
    g = {**GOLD, "effective": "2022-01-23", "expiry": None}
    assert validity_dates_correct(g, {"d": {"validity": [_v("unknown", None, None)]}}) is True
    assert validity_dates_correct(GOLD, {"d": {"validity": [_v("in_force", expiry="2025-02-07")]}}) is False
    assert validity_dates_correct(GOLD, {"d": {"validity": []}}) is None


def test_warning_detection():
    assert has_validity_warning(WARN)
    assert has_validity_warning("注意：该通知[1]所引条款规定的执行期限至2024年12月31日，截至2026年12月1日已过执行期限")
    assert not has_validity_warning("提示：该方案未载明有效期，其针对的是2022年度")  # a hint is not a warning
    assert not has_validity_warning("注意：申请材料须在30日内提交。")


def _line(**extra):
    item = {"id": "V1", "persona": "citizen", "type": "validity", "question": "还有效吗？", "answer": "有效期三年。",
            "key_points": ["有效期三年"], "evidence": ["本意见自公布之日起实施，有效期三年。"],
            "source": {"file": "000_3ea1e19526f9a4bf.txt", "doc_title": "关于加快黄金深加工产业发展的扶持意见",
                       "doc_number": "招政发〔2022〕8号", "locator": "五、3."}}
    item.update(extra)
    return json.dumps(item, ensure_ascii=False)


def test_gold_validity_block(tmp_path, seeds_dir):
    p = tmp_path / "g.jsonl"
    p.write_text(_line(validity=GOLD) + "\n", encoding="utf-8")
    (item,) = load_gold(p)
    assert item.validity == GOLD
    s = score_question(item, [], WARN, validity_observed={"2023-06-01": {"validity": [_v("in_force")], "text": ""},
                                                           "2026-12-01": {"validity": [_v("expired")], "text": WARN}})
    assert (s.validity_accuracy, s.validity_dates) == (1.0, True)
    plain = score_question(load_gold_line(tmp_path, _line()), [], "x")
    assert plain.validity_accuracy is None
    agg = aggregate([s, plain])
    assert (agg["validity_accuracy"], agg["n_validity"], agg["validity_dates"]) == (1.0, 1, 1.0)
    problems = check_gold(p, seeds_dir)
    assert not [x for x in problems if "validity" in x], problems
    p.write_text(_line(validity={**GOLD, "doc_number": "招政发〔2099〕1号"}) + "\n", encoding="utf-8")
    assert any("validity.doc_number not found" in x for x in check_gold(p, seeds_dir))


def load_gold_line(tmp_path, line):
    p = tmp_path / "one.jsonl"
    p.write_text(line + "\n", encoding="utf-8")
    return load_gold(p)[0]


@pytest.mark.parametrize(
    "bad, message",
    [
        ({**GOLD, "in_force_on": {}}, "in_force_on must be a non-empty"),
        ({**GOLD, "in_force_on": {"2026-13-01": False}}, "in_force_on entries"),
        ({**GOLD, "in_force_on": {"2026-12-01": "no"}}, "in_force_on entries"),
        ({**GOLD, "expiry": "2025/02/06"}, "validity.expiry must be"),
        ({k: v for k, v in GOLD.items() if k != "effective"}, "missing effective"),
        ({**GOLD, "status": "expired"}, "unexpected field"),
        ("expired", "must be an object"),
    ],
)
def test_malformed_validity_blocks_are_refused(tmp_path, bad, message):
    p = tmp_path / "bad.jsonl"
    p.write_text(_line(validity=bad) + "\n", encoding="utf-8")
    with pytest.raises(GoldFormatError, match=message):
        load_gold(p)
