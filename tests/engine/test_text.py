from engine.text import normalise_word, slugify, split_sentences, split_words


def test_sentences_split_at_terminal_punctuation_only():
    text = 'It lasted 872 days. "Go," he said! Was it over? Yes'
    assert split_sentences(text) == ["It lasted 872 days.", '"Go," he said!', "Was it over?", "Yes"]


def test_words_keep_their_punctuation_and_normalise_for_comparison():
    assert split_words("Leningrad's people, starved.") == ["Leningrad's", "people,", "starved."]
    assert normalise_word("Leningrad's,") == "leningrads"
    assert normalise_word("Ёлка!") == "елка"


def test_slugs_are_folder_safe_for_latin_and_cyrillic():
    assert slugify("The Siege of Leningrad") == "the-siege-of-leningrad"
    assert slugify("Блокада Ленинграда") == "blokada-leningrada"
    assert slugify("???") == "video"
