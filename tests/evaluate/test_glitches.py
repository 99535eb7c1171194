"""Text glitches: the checker itself, and every answer to every gold question (issue: no glitches)."""

from __future__ import annotations

import pytest

from qa.evaluate.glitches import find_glitches
from qa.evaluate.gold import load_gold
from support import BLIND_SETS, ROOT


@pytest.mark.parametrize(
    "text, glitch",
    [
        ("下列区域禁止设置活禽交易市场，禁止从事活禽交易：。[1]", "dangling-colon"),
        ("**注意**：需要登记。", "markdown"),
        ("《某办法》规定：各镇人民政府,各街道办事处,市政府有关部门:[1]", "addressee"),
        ("；按规定执行。", "leading-punctuation"),
        ("招远市人民政府\n2022年2月7日", "signature"),
        ("《要点》写明：要点任务 |：||：(十二)做好政府公报工作。[1]", "table-bars"),
    ],
)
def test_each_glitch_is_found(text, glitch):
    assert glitch in find_glitches(text)


def test_clean_answers_pass():
    assert find_glitches("各地的规定不同，分别如下：\n《办法》第七条规定：下列区域禁止：（一）市南区。[1]") == []


@pytest.mark.slow
def test_no_answer_to_any_gold_question_has_a_glitch(assistant):
    paths = [ROOT / "eval" / "gold.jsonl", ROOT / "eval" / "dev_questions.jsonl"]
    paths += [folder / half for folder in BLIND_SETS for half in ("tune.jsonl", "test.jsonl")]
    bad = []
    for path in paths:
        for item in load_gold(path):
            ans = assistant.ask(item.question)
            if not ans.refused and (g := find_glitches(ans.text)):
                bad.append((item.id, g))  # ids and glitch names only: the test split's texts stay unread
    assert not bad, bad
