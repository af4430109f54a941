from engine.align import fill_gaps, match_indices, monotonic


def test_misheard_word_is_interpolated_without_shifting_the_rest():
    written = ["the", "siege", "of", "leningrad", "lasted"]
    heard = ["the", "siege", "of", "lenin", "grad", "lasted"]
    matched = match_indices(written, heard)
    assert 3 not in matched  # "leningrad" was heard as two other words
    spans = [(0.0, 0.2), (0.3, 0.6), (0.65, 0.75), None, (1.6, 2.0)]
    filled = fill_gaps(spans, [3, 5, 2, 9, 6], 0.0, 2.0)
    assert filled[3] == (0.75, 1.6)  # the gap between its neighbours, nothing more
    assert filled[4] == (1.6, 2.0)  # the word after it keeps its own time


def test_missing_and_extra_words():
    written = ["a", "b", "c", "d"]
    heard = ["a", "x", "c", "d", "e"]  # b misheard, e extra
    matched = match_indices(written, heard)
    assert matched == {0: [0], 2: [2], 3: [3]}


def test_gap_at_the_edges_is_shared_by_weight():
    filled = fill_gaps([None, None, (3.0, 4.0)], [1, 3, 1], 1.0, 5.0)
    assert filled[0] == (1.0, 1.5)
    assert filled[1] == (1.5, 3.0)


def test_monotonic_removes_overlaps():
    assert monotonic([(0.0, 1.0), (0.8, 1.5), (1.4, 1.2)]) == [(0.0, 1.0), (1.0, 1.5), (1.5, 1.5)]
