"""Citation markers: parsing, validation, renumbering and quotes, over real seed articles."""

from __future__ import annotations


import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.answer.citations import best_quote, map_citations, parse_markers, strip_markers
from qa.answer.prompts import REFUSAL
from seed_hits import three_hits



HITS = three_hits()


# --- parse_markers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("补助12%[1]。", [1]),
        ("补助12%[1][2]。", [1, 2]),
        ("补助[1,2]，另见[1， 3]", [1, 2, 3]),
        ("补助[1、2]", [1, 2]),
        ("补助【1】【２】", [1, 2]),
        ("补助［３］[１２]", [3, 12]),
        ("见[2-4]", [2, 3, 4]),
        ("见[3][1][3]", [3, 1]),
        ("招政发〔2022〕11号（一）1. [a] [] 【】 [1.5]", []),
    ],
)
def test_parse_markers_forms(text: str, expected: list[int]) -> None:
    assert parse_markers(text) == expected


def test_strip_markers_keeps_document_numbers() -> None:
    assert strip_markers("依据招政发〔2022〕11号[1]【2】规定") == "依据招政发〔2022〕11号规定"


# --- map_citations ----------------------------------------------------------------------


def test_valid_markers_are_renumbered_by_first_appearance() -> None:
    answer = "招远市投资强度达到320万元/亩的，补助投资额12%[3]。青岛市活禽交易实行定点交易[2]。该补助免申即享[1]。"
    # the model mislabels on purpose here: the mapping follows its markers, not our beliefs
    clean, cits, flagged = map_citations(answer, HITS)
    assert parse_markers(clean) == [1, 2, 3]
    assert [c.marker for c in cits] == [1, 2, 3]
    assert [c.chunk_id for c in cits] == [HITS[2].chunk_id, HITS[1].chunk_id, HITS[0].chunk_id]
    assert not flagged


def test_invalid_markers_are_removed_and_metadata_is_copied() -> None:
    answer = "投资强度达到320万元/亩(含)以上的，补助12% [1][7]。活禽交易实行定点交易 [0]。免申即享[9]【２】。"
    clean, cits, flagged = map_citations(answer, HITS)
    assert "[7]" not in clean and "[0]" not in clean and "[9]" not in clean
    assert clean == "投资强度达到320万元/亩(含)以上的，补助12% [1]。活禽交易实行定点交易。免申即享[2]。"
    assert [c.chunk_id for c in cits] == [HITS[0].chunk_id, HITS[1].chunk_id]
    c = cits[0]
    assert (c.doc_title, c.doc_number, c.locator, c.region, c.issuer, c.date) == (
        "全市重点项目建设专项扶持资金补助办法", "招政发〔2022〕11号", "第三条", "招远市", "招远市人民政府", "2022-02-07"
    )
    assert c.passage == HITS[0].chunk.text and c.source_file.startswith("000_")
    assert not flagged


def test_quote_is_the_best_supporting_passage_sentence() -> None:
    answer = "投资强度达到280万元/亩以上的，补助投资额的10%[1]。"
    _, cits, _ = map_citations(answer, HITS)
    quote = cits[0].quote
    assert quote in HITS[0].chunk.text  # verbatim
    assert "280万元/亩" in quote and "10%" in quote and "320" not in quote


def test_marker_after_sentence_end_belongs_to_that_sentence() -> None:
    answer = "活禽交易实行定点交易、严格检疫。[1] 鼓励发展禽类产品网络交易。[1]"
    clean, cits, _ = map_citations(answer, HITS[1:2])
    assert clean.count("[1]") == 2
    assert "定点交易" in cits[0].quote and "网络交易" in cits[0].quote
    assert cits[0].quote in HITS[1].chunk.text  # adjacent sentences: one verbatim stretch


def test_flagged_only_for_claims_without_citations() -> None:
    assert map_citations("投资强度达到320万元/亩的补助12%。", HITS)[2] is True
    assert map_citations("补助12%[5]。", HITS)[2] is True  # its only marker was invalid
    assert map_citations(REFUSAL, HITS)[2] is False
    assert map_citations("", HITS)[2] is False
    assert map_citations("补助12%[1]。", [])[0] == "补助12%。"


def test_quote_handles_traditional_passage() -> None:
    passage = "第一條 本辦法適用於本市。第二條 補助標準為每畝三百元。"
    assert best_quote(passage, ["补助标准为每亩三百元"], traditional=True) == "第二條 補助標準為每畝三百元。"


# --- properties -------------------------------------------------------------------------

marker_like = st.one_of(
    st.text(alphabet="[]【】［］〔〕0123456789０１２３,，、;-～ \n。！a中", max_size=12),
    st.from_regex(r"\[[0-9]{1,3}(,[0-9]{1,3})?\]", fullmatch=True),
)
texts = st.lists(st.one_of(st.text(max_size=15), marker_like), max_size=12).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_parse_never_crashes(text: str) -> None:
    nums = parse_markers(text)
    assert all(isinstance(n, int) and n >= 0 for n in nums)
    assert len(nums) == len(set(nums))
    assert parse_markers(strip_markers(text)) == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts, st.integers(min_value=0, max_value=3))
def test_map_never_points_outside_passages(text: str, n_passages: int) -> None:
    passages = HITS[:n_passages]
    clean, cits, flagged = map_citations(text, passages)
    allowed = {h.chunk_id for h in passages}
    assert {c.chunk_id for c in cits} <= allowed
    assert [c.marker for c in cits] == list(range(1, len(cits) + 1))
    # every marker left in the text is a citation, and every citation is in the text
    assert sorted(parse_markers(clean)) == [c.marker for c in cits]
    # numbering follows first appearance
    assert parse_markers(clean) == [c.marker for c in cits]
    for c in cits:
        assert c.quote and all(part in c.passage for part in c.quote.split("……"))
    assert not (flagged and cits)
