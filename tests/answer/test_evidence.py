"""Article features on the real seed index: words only some hits share weigh more than the topic."""

from __future__ import annotations

from qa.answer.evidence import ARTICLE_FEATURES


def test_local_weights_favour_the_words_that_tell_hits_apart(assistant):
    q = "新上黄金深加工项目，设备投资能补多少？"
    query, result = assistant.retrieve(q)
    d = assistant.decide(q, query, result)
    i_local, i_gap = ARTICLE_FEATURES.index("local_cov"), ARTICLE_FEATURES.index("local_gap")
    assert all(0.0 <= e.features[i_local] <= 1.0 and e.features[i_gap] <= 0.0 for e in d.evidence)
    assert max(e.features[i_gap] for e in d.evidence) == 0.0
    # every hit is from the same gold-processing document: sharing its topic (黄金深加工) is not
    # enough; an article that also has 设备 and 投资 scores higher than one that only has the topic
    text = lambda e: e.hit.chunk.text_simplified  # noqa: E731
    detail = [e.features[i_local] for e in d.evidence if "设备" in text(e) and "投资" in text(e)]
    topic = [e.features[i_local] for e in d.evidence if "设备" not in text(e) and "投资" not in text(e)]
    assert detail and topic and min(detail) > max(topic)
    # and the answer leads with the equipment subsidy (三、（三）10.), not the introducer's reward
    assert assistant.ask(q).citations[0].locator == "三、（三）10."
