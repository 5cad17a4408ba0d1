from rag.retrieval.tokenize import STOPWORDS, TOKENIZER_VERSION, tokenize, tokenizer_info


def test_simplified_and_traditional_give_the_same_tokens():
    assert tokenize("縣域重點產業鏈") == tokenize("县域重点产业链")
    assert "产业链" in tokenize("縣域重點產業鏈")


def test_search_mode_adds_sub_words():
    toks = tokenize("县域重点产业链")
    assert {"县域", "重点", "产业", "产业链"} <= set(toks)


def test_full_width_and_case_are_normalised():
    assert tokenize("ＡＢＣ１２３") == tokenize("abc123")
    assert tokenize("GDP增长") == tokenize("gdp增长")


def test_punctuation_whitespace_and_question_words_are_dropped():
    toks = tokenize("试点县能得到哪些支持？！\n\t")
    assert "哪些" not in toks and "？" not in toks and "" not in toks
    assert "试点" in toks and "支持" in toks
    assert tokenize("，。、？！……") == []
    assert tokenize("") == []


def test_deterministic_and_described():
    text = "福建省率先在全国谋划推进县域重点产业链发展"
    assert tokenize(text) == tokenize(text)
    info = tokenizer_info()
    assert info["version"] == TOKENIZER_VERSION and info["stopwords"] == len(STOPWORDS)
