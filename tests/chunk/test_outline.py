

def test_split_number_separates_a_headings_numbering_from_its_name():
    from qa.chunk.outline import split_number

    assert split_number("（三）规范招生秩序") == ("（三）", "规范招生秩序")
    assert split_number("二、职责分工") == ("二、", "职责分工")
    assert split_number("第七条变更应提供的资料") == ("第七条", "变更应提供的资料")
    assert split_number("7.隐蔽工程变更须提供影像资料") == ("7.", "隐蔽工程变更须提供影像资料")
    assert split_number("第13项") == ("第13项", "")  # a bare number: no name
    assert split_number("工作任务") == ("", "工作任务")


def test_an_article_number_before_the_word_xiangmu_opens_an_article():
    from qa.chunk.outline import detect

    assert detect("第八条项目建设单位应当监督施工单位", "第八条 项目建设单位应当监督施工单位").label == "第八条"
    for reference in ("第八条第二项规定的", "第八条项下的", "第八条规定的情形"):
        assert detect(reference, reference) is None
