"""BM25 query terms for spoken questions: indexed substrings and official synonyms."""

from __future__ import annotations

import pytest

from qa.index.lexical import STOPWORDS_ZH, tokenize_zh
from qa.retrieve.lexical import LexicalQuery, bm25_vocabulary


def test_terms_add_indexed_substrings_and_synonyms():
    lq = LexicalQuery({"养犬", "犬", "罚款", "处罚", "登记", "多少"}, stopwords={"多少"})
    terms = lq.terms("养狗要登记吗，不登记罚多少", ["养狗要", "登记", "罚"])
    assert terms[:3] == ["养狗要", "登记", "罚"]  # the tokenizer's terms first, in order
    assert "养犬" in terms and "罚款" in terms and "处罚" in terms  # official words for 狗 / 罚
    assert "多少" not in terms  # stopwords are never added
    assert "犬" not in terms  # single characters are too unspecific to add
    assert len(terms) == len(set(terms))  # BM25 sums per term: no duplicates


def test_synonyms_limited_to_indexed_words():
    lq = LexicalQuery({"罚款"})
    assert lq.terms("狗罚多少", []) == ["罚款"]


@pytest.mark.slow
def test_vocabulary_of_real_index_and_spoken_question(retriever):
    vocab = bm25_vocabulary(retriever.store.bm25)
    assert {"养犬", "罚款", "登记"} <= vocab
    lq = LexicalQuery(vocab, stopwords=STOPWORDS_ZH)
    q = "没有办狗证会被罚多少钱"
    plain = tokenize_zh(q)
    expanded = lq.terms(q, plain)
    # the plain cut shares almost nothing with the documents; the expanded one does
    plain_hits = int((retriever.store.bm25.scores(plain) > 0).sum())
    expanded_scores = retriever.store.bm25.scores(expanded)
    assert int((expanded_scores > 0).sum()) > plain_hits
    top10 = expanded_scores.argsort()[::-1][:10]
    assert any("犬" in retriever.chunks[int(i)].text_simplified for i in top10)
    assert not any("犬" in retriever.chunks[int(i)].text_simplified for i in plain_top(retriever, plain))


def plain_top(retriever, tokens):
    scores = retriever.store.bm25.scores(tokens)
    return [i for i in scores.argsort()[::-1][:10] if scores[i] > 0]
