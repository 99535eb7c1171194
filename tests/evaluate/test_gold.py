"""The gold question set is valid against the real seeds, and the validator catches broken copies."""

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path

import opencc
import pytest

from qa.evaluate.gold import (
    TYPES,
    GoldFormatError,
    GoldItem,
    check_gold,
    contains,
    load_gold,
    normalize_for_match,
)
from support import BLIND_SETS, ROOT

GOLD = ROOT / "eval" / "gold.jsonl"
SEEDS = ROOT / "seeds"
SEED_FILES = sorted(p.name for p in SEEDS.glob("*.txt"))


@pytest.fixture(scope="module")
def items() -> list[GoldItem]:
    return load_gold(GOLD)


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path


def _records() -> list[dict]:
    return [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---------------------------------------------------------------- the real gold file


def test_real_gold_has_no_problems():
    assert check_gold(GOLD, SEEDS) == []


def test_blind_sets_check_clean_and_their_splits_do_not_overlap():
    # the blind sets are the yardstick: every evidence span verified against the seeds, tune and test disjoint
    assert len(BLIND_SETS) >= 13
    for folder in BLIND_SETS:
        tune, test = folder / "tune.jsonl", folder / "test.jsonl"
        assert check_gold(tune, SEEDS) == [] and check_gold(test, SEEDS) == []
        ids = [{json.loads(x)["id"] for x in f.read_text(encoding="utf-8").splitlines() if x.strip()} for f in (tune, test)]
        raw = {json.loads(x)["id"] for f in (folder / "raw").glob("*.jsonl") for x in f.read_text(encoding="utf-8").splitlines() if x.strip()}
        assert not ids[0] & ids[1] and ids[0] | ids[1] == raw and len(ids[1]) >= len(raw) // 2


def test_the_calibration_tunes_on_every_tune_half_and_refuses_every_test_half(monkeypatch):
    # a new blind set is registered in eval/calibrate_answer.py once: its test half must be refused there
    spec = importlib.util.spec_from_file_location("calibrate_answer", ROOT / "eval" / "calibrate_answer.py")
    calibrate = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, calibrate)  # its dataclasses look their module up
    spec.loader.exec_module(calibrate)
    assert set(calibrate.TESTS) == {folder / "test.jsonl" for folder in BLIND_SETS}
    assert {folder / "tune.jsonl" for folder in BLIND_SETS} <= set(calibrate.TUNE)
    assert not set(calibrate.TUNE) & set(calibrate.TESTS)


def test_real_gold_size_and_coverage(items):
    assert len(items) >= 120
    assert len(SEED_FILES) == 5
    per_file = Counter(item.file for item in items if item.answerable)
    for name in SEED_FILES:
        assert per_file[name] >= 15, f"{name} has only {per_file[name]} questions"
    assert set(per_file) == set(SEED_FILES)


def test_real_gold_types_and_unanswerable_share(items):
    per_type = Counter(item.type for item in items)
    assert {"fact", "numeric", "list", "yesno", "multi", "by-doc", "unanswerable"} == set(per_type) <= set(TYPES)
    assert all(n >= 8 for n in per_type.values()), per_type
    assert per_type["unanswerable"] / len(items) >= 0.10
    assert len({item.id for item in items}) == len(items)


def test_real_gold_has_table_and_traditional_evidence(items):
    table = [i for i in items if any("\t" in e or "|" in e for e in i.evidence)]
    assert len(table) >= 8
    # evidence copied from the traditional-character pages keeps its characters
    t2s = opencc.OpenCC("t2s")
    traditional = [i for i in items if any(t2s.convert(e) != e for e in i.evidence)]
    assert len(traditional) >= 8
    assert all(i.file.startswith("003_") for i in traditional)


def test_evidence_lies_on_one_physical_line(items):
    lines = {name: set((SEEDS / name).read_text(encoding="utf-8").splitlines()) for name in SEED_FILES}
    for item in items:
        for span in item.evidence:
            assert "\n" not in span
            assert any(span in line for line in lines[item.file]), (item.id, span)


# ---------------------------------------------------------------- broken copies are reported


def test_wrong_evidence_extra_field_and_duplicate_id_are_reported(tmp_path):
    records = _records()
    answerable = [r for r in records if r["type"] != "unanswerable"]
    answerable[0]["evidence"] = ["这一句话在任何种子文件里都不存在的证据片段"]
    answerable[1]["confidence"] = 0.9
    answerable[3]["id"] = answerable[2]["id"]
    problems = check_gold(_write(tmp_path / "broken.jsonl", records), SEEDS)
    text = "\n".join(problems)
    assert "evidence not found" in text and answerable[0]["id"] in text
    assert "unexpected field(s) confidence" in text
    assert f"duplicate id {answerable[2]['id']}" in text
    assert len(problems) == 3


def test_other_rule_violations_are_reported(tmp_path):
    records = _records()
    answerable = [r for r in records if r["type"] != "unanswerable"]
    unanswerable = [r for r in records if r["type"] == "unanswerable"]
    answerable[0]["persona"] = "tourist"
    answerable[1]["type"] = "opinion"
    answerable[2]["evidence"] = ["太短的证据"]
    answerable[3]["key_points"] = ["不存在的要点XYZ"]
    answerable[4]["evidence"] = []
    answerable[6]["answer"] = "答案里故意不写要点。"
    answerable[6]["key_points"] = ["人民政府"]  # in the seed file, in neither the answer nor the evidence
    unanswerable[0]["evidence"] = [answerable[5]["evidence"][0]]
    text = "\n".join(check_gold(_write(tmp_path / "bad.jsonl", records), SEEDS))
    assert "persona 'tourist'" in text
    assert "type 'opinion'" in text
    assert "outside 15-80" in text
    assert "key point not found" in text
    assert "answerable item has no evidence" in text
    assert "unanswerable item must have empty evidence" in text
    assert "key point missing from the reference answer" in text and answerable[6]["id"] in text


def test_too_few_unanswerable_is_reported(tmp_path):
    records = [r for r in _records() if r["type"] != "unanswerable"]
    problems = check_gold(_write(tmp_path / "no_unanswerable.jsonl", records), SEEDS)
    assert any("unanswerable" in p and "need at least 10%" in p for p in problems)


def test_malformed_json_line_is_reported_with_line_number(tmp_path):
    records = _records()[:3]
    path = tmp_path / "malformed.jsonl"
    path.write_text(
        json.dumps(records[0], ensure_ascii=False) + "\n{not json\n" + json.dumps(records[1], ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    problems = check_gold(path, SEEDS)
    assert any(p.startswith("line 2: invalid JSON") for p in problems)
    with pytest.raises(GoldFormatError, match=r"line 2: invalid JSON"):
        load_gold(path)


def test_load_gold_rejects_missing_field(tmp_path):
    record = _records()[0]
    del record["answer"]
    with pytest.raises(GoldFormatError, match=r"line 1: missing field\(s\) answer"):
        load_gold(_write(tmp_path / "missing.jsonl", [record]))


def test_missing_files_are_reported(tmp_path):
    assert check_gold(tmp_path / "nope.jsonl", SEEDS) == [f"gold file not found: {tmp_path / 'nope.jsonl'}"]
    assert "seeds directory not found" in check_gold(GOLD, tmp_path / "no_seeds")[0]
    with pytest.raises(GoldFormatError, match="not found"):
        load_gold(tmp_path / "nope.jsonl")


# ---------------------------------------------------------------- normalisation


def test_normalize_traditional_equals_simplified():
    assert normalize_for_match("第十一條 青政辦字〔2020〕83 號") == normalize_for_match("第十一条 青政办字〔2020〕83号")
    assert normalize_for_match("處500元以上1萬元以下罰款") == "处500元以上1万元以下罚款"


def test_normalize_full_and_half_width():
    assert normalize_for_match("（一）ＡＢＣ１２３％：") == normalize_for_match("(一)abc123%:")
    assert normalize_for_match("招政发〔2022〕8号") == normalize_for_match("招政发[2022]8号")
    assert normalize_for_match("“免申即享”") == normalize_for_match('"免申即享"')


def test_normalize_whitespace_and_case():
    assert normalize_for_match("500 万元") == "500万元"
    assert normalize_for_match("  2022 年\t4 月\u30001 日\n") == "2022年4月1日"
    assert normalize_for_match("CRO、CMO") == normalize_for_match("cro,cmo")
    assert normalize_for_match("") == ""


def test_contains():
    assert contains("对活禽經營者處500元以上1萬元以下罰款。", "处500元以上1万元以下罚款")
    assert contains("最多不超过 100 万元", "100万元")
    assert not contains("最多不超过 100 万元", "200万元")
    assert not contains("任何文字", "")
