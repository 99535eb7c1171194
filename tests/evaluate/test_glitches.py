"""Text glitches: the checker itself, and every answer to every gold question (issue: no glitches)."""

from __future__ import annotations

import pytest

from qa.evaluate.glitches import find_glitches
from qa.evaluate.gold import load_gold
from support import ROOT


@pytest.mark.parametrize(
    "text, glitch",
    [
        ("下列区域禁止设置活禽交易市场，禁止从事活禽交易：。[1]", "dangling-colon"),
        ("**注意**：需要登记。", "markdown"),
        ("《某办法》规定：各镇人民政府,各街道办事处,市政府有关部门:[1]", "addressee"),
        ("；按规定执行。", "leading-punctuation"),
        ("招远市人民政府\n2022年2月7日", "signature"),
    ],
)
def test_each_glitch_is_found(text, glitch):
    assert glitch in find_glitches(text)


def test_clean_answers_pass():
    assert find_glitches("各地的规定不同，分别如下：\n《办法》第七条规定：下列区域禁止：（一）市南区。[1]") == []


@pytest.mark.slow
def test_no_answer_to_any_gold_question_has_a_glitch(assistant):
    paths = [ROOT / "eval" / "gold.jsonl", ROOT / "eval" / "dev_questions.jsonl", ROOT / "eval" / "blind" / "tune.jsonl",
             ROOT / "eval" / "blind" / "test.jsonl", ROOT / "eval" / "blind" / "fresh" / "tune.jsonl",
             ROOT / "eval" / "blind" / "fresh" / "test.jsonl", ROOT / "eval" / "blind" / "third" / "tune.jsonl",
             ROOT / "eval" / "blind" / "third" / "test.jsonl", ROOT / "eval" / "blind" / "fourth" / "tune.jsonl",
             ROOT / "eval" / "blind" / "fourth" / "test.jsonl", ROOT / "eval" / "blind" / "fifth" / "tune.jsonl",
             ROOT / "eval" / "blind" / "fifth" / "test.jsonl",
             ROOT / "eval" / "blind" / "sixth" / "tune.jsonl", ROOT / "eval" / "blind" / "sixth" / "test.jsonl",
             ROOT / "eval" / "blind" / "seventh" / "tune.jsonl", ROOT / "eval" / "blind" / "seventh" / "test.jsonl",
             ROOT / "eval" / "blind" / "eighth" / "tune.jsonl", ROOT / "eval" / "blind" / "eighth" / "test.jsonl",
             ROOT / "eval" / "blind" / "ninth" / "tune.jsonl", ROOT / "eval" / "blind" / "ninth" / "test.jsonl",
             ROOT / "eval" / "blind" / "tenth" / "tune.jsonl", ROOT / "eval" / "blind" / "tenth" / "test.jsonl",
             ROOT / "eval" / "blind" / "eleventh" / "tune.jsonl", ROOT / "eval" / "blind" / "eleventh" / "test.jsonl",
             ROOT / "eval" / "blind" / "twelfth" / "tune.jsonl", ROOT / "eval" / "blind" / "twelfth" / "test.jsonl",
             ROOT / "eval" / "blind" / "thirteenth" / "tune.jsonl", ROOT / "eval" / "blind" / "thirteenth" / "test.jsonl"]
    bad = []
    for path in paths:
        for item in load_gold(path):
            ans = assistant.ask(item.question)
            if not ans.refused and (g := find_glitches(ans.text)):
                bad.append((item.id, g))  # ids and glitch names only: the test split's texts stay unread
    assert not bad, bad
