"""Messages count things in the right number."""

from vqi_core.wording import are, counted


def test_counted_puts_the_noun_in_the_number_the_count_asks_for():
    assert counted(1, "image") == "1 image"
    assert counted(0, "image") == "0 images"
    assert counted(3, "copied test image") == "3 copied test images"
    assert counted(2, "box", "boxes") == "2 boxes" and counted(1, "box", "boxes") == "1 box"
    assert counted(12_345, "run") == "12,345 runs"
    assert (are(1), are(0), are(2)) == ("is", "are", "are")
