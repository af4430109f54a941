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


def test_control_characters_never_reach_a_title_and_a_wordless_topic_is_refused():
    import pytest

    from engine.errors import InputError
    from engine.stages.script import check_topic
    from engine.text import printable

    assert check_topic("Rome\x1b[31m falls\x07 ") == "Rome falls"  # the whole escape sequence, not only ESC
    assert printable("line one\n\tline two\x00\x1b") == "line one\n\tline two"
    assert printable("flag 🇺🇦 and a joined 👩\u200d🚀") == "flag 🇺🇦 and a joined 👩\u200d🚀"  # format characters stay
    with pytest.raises(InputError, match="has no words"):
        check_topic("!!! ???")


def test_slugs_of_colliding_topics_differ_and_stay_readable():
    assert slugify("Блокада Ленинграда 1941") == "blokada-leningrada-1941"
    assert slugify("Битва за Москву (1941)") == "bitva-za-moskvu-1941"
    assert len(slugify("a long topic " * 20)) <= 60


def test_whole_terminal_escape_sequences_are_stripped_not_only_their_escape_byte():
    """I6: "\\x1b[31m" left "[31m" in titles and folder names once the ESC alone was taken out."""
    from engine.text import printable, slugify

    coloured = "\x1b[31mThe Siege\x1b[0m of \x1b]0;a window title\x07Leningrad\x1b(B\x9b1m"
    assert printable(coloured) == "The Siege of Leningrad"
    assert slugify(printable(coloured)) == "the-siege-of-leningrad"
