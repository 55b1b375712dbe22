"""Messages count things in the right number."""

import numpy as np

from vqi_core.metrics import LineCosts, OperatingPoint
from vqi_core.thresholds import cost_sentence
from vqi_core.wording import HEADLINE_WORDS, are, counted, decimals_apart, entered_amount, entered_rate, exact_number, \
    figure, fraction, headline, interval_bounds, percent, score_beside, told_apart


def test_counted_puts_the_noun_in_the_number_the_count_asks_for():
    assert counted(1, "image") == "1 image"
    assert counted(0, "image") == "0 images"
    assert counted(3, "copied test image") == "3 copied test images"
    assert counted(2, "box", "boxes") == "2 boxes" and counted(1, "box", "boxes") == "1 box"
    assert counted(12_345, "run") == "12,345 runs"
    assert (are(1), are(0), are(2)) == ("is", "are", "are")


def test_the_threshold_cost_sentence_counts_a_single_part_in_the_singular():
    """The sentence the Threshold page, the CLI and the report all show: "of 1 good part", not "of 1 good parts"."""
    one_each = OperatingPoint(threshold=0.5, tp=1, fp=1, tn=0, fn=0, accuracy=0.5, precision=0.5, recall=1.0,
                              f1=2 / 3, false_alarm_rate=1.0, escape_rate=0.0)
    sentence = cost_sentence(one_each)
    assert sentence.startswith("1 of 1 good part would be rejected (false alarms, ")
    assert "and 0 of 1 defective part would pass (escapes, " in sentence
    many = OperatingPoint(threshold=0.5, tp=2, fp=0, tn=3, fn=1, accuracy=5 / 6, precision=1.0, recall=2 / 3,
                          f1=0.8, false_alarm_rate=0.0, escape_rate=1 / 3)
    assert cost_sentence(many).startswith("0 of 3 good parts would be rejected")
    assert "and 1 of 3 defective parts would pass" in cost_sentence(many)
    only_defective = OperatingPoint(threshold=0.5, tp=2, fp=0, tn=0, fn=1, accuracy=2 / 3, precision=1.0,
                                    recall=2 / 3, f1=0.8, false_alarm_rate=0.0, escape_rate=1 / 3)
    assert cost_sentence(only_defective).startswith(  # not "0 of 0 good parts" (browser review)
        "There is no good part to measure false alarms on and 1 of 3 defective parts would pass (escapes, 33.3%")
    assert cost_sentence(only_defective, opens_sentence=False).startswith(  # after "threshold 26 (...): " (docs
        "there is no good part to measure false alarms on and 1 of 3")  # review)
    only_good = OperatingPoint(threshold=0.5, tp=0, fp=1, tn=3, fn=0, accuracy=0.75, precision=0.0, recall=0.0,
                               f1=0.0, false_alarm_rate=0.25, escape_rate=0.0)
    assert cost_sentence(only_good).endswith(" and there is no defective part to measure escapes on.")


def test_a_score_beside_a_threshold_that_prints_alike_is_told_apart_and_placed():
    assert told_apart(0.12345644, 0.12345649) == ("0.1234564", "0.1234565")  # one more digit tells them apart
    assert told_apart(2.0, 2.0) == ("2", "2") and told_apart(1.5, 2.0) == ("1.5", "2")
    assert score_beside(0.12345644, 0.12345649) == "0.1234564 (below the threshold 0.1234565)"
    assert score_beside(0.12345649, 0.12345644) == "0.1234565 (above the threshold 0.1234564)"
    assert score_beside(0.1234, 0.5) == "0.1234"  # apart already
    assert score_beside(0.5, 0.5) == "0.5 (equal to the threshold: defective)"  # equal: every digit, and said
    assert score_beside(324.43536376953125, 324.43536376953125) == ("324.43536376953125 (equal to the threshold: "
                                                                   "defective)")  # (numbers review: "324.435")


def test_a_threshold_is_printed_so_that_typed_back_it_judges_as_it_did():
    """677.671 (six significant digits) would pass a part scored 677.6707 that the saved 677.670654296875 rejects."""
    assert exact_number(677.670654296875) == "677.670654296875" and float("677.671") > 677.670654296875
    assert exact_number(2.25) == "2.25" and exact_number(1e9) == "1e+09" and exact_number(0.1) == "0.1"
    assert exact_number(123450.0) == "123450" and exact_number(100000.0) == "100000"  # six digits before exponents
    for value in (677.670654296875, 1 / 3, 1e-7 / 3, 123456.7):
        assert float(exact_number(value)) == value


def test_a_cost_is_printed_as_entered_with_every_digit_never_in_exponent_form():
    """A saved threshold's source read "an escape 1.23457e+06" for a cost of 1,234,567 (recorded as 1,234,570)."""
    assert [entered_amount(v) for v in (1_234_567, 12.75, 0.001, 1e-7, 0, 100.0, 2.5e6)] == [
        "1,234,567", "12.75", "0.001", "0.0000001", "0", "100", "2,500,000"]
    costs = LineCosts(false_alarm=np.int64(12), escape=1_234_567.0, defect_rate=0.001)  # numpy numbers are numbers
    assert costs.summary() == "a false alarm costs 12, an escape 1,234,567, 0.1% defective"


def test_numbers_that_differ_far_down_are_told_apart_and_rates_keep_four_digits():
    """Found by mutation testing: a score 1e-12 from its threshold, and the fourth digit of an entered rate."""
    score, threshold = told_apart(1.0, 1.0 + 1e-12)
    assert score != threshold and float(score) == 1.0 and float(threshold) == 1.0 + 1e-12
    assert entered_rate(0.0001234) == "0.01234%" and entered_rate(0.5) == "50%"
    assert entered_amount(1e16) == "10,000,000,000,000,000"
    # written out, 1e-320 was 320 zeros, and "≤ 1e-298% false alarms" 300 (bad-input review of 2026-12-05)
    assert entered_amount(1e-9) == "0.000000001" and entered_amount(1e-15) == "1e-15"
    assert entered_amount(1e-320) == "1e-320" and entered_rate(1e-300) == "1e-298%"
    assert entered_amount(1.23456789e-12) == "1.23456789e-12"  # as typed, every digit
    assert entered_rate(1e-10) == "0.00000001%" and entered_rate(1.234567e-13) == "1.235e-11%"


LOOK_ALIKE_NOTE = (
    "185 of 190 good test images (97%) look almost like a training image (grey-level thumbnails correlate at 0.98 or "
    "more over the 80% where they agree best; e.g. test/good/exp1_num_10181.jpg and train/good/exp2_num_10202.jpg, "
    "0.998), against 64 of 392 defective ones (16%): if they are other photos of the same parts, the figures here are "
    "better than on new parts. Median likeness of the closest training image 0.998 good, 0.963 defective. Other "
    "photos of a part (another exposure, angle or session) show the model parts it has seen in training, and the "
    "false-alarm rate and the AUROCs are better here than they will be: split the good images by part, not by photo "
    "(on the Train page, \"Check the test set\", then \"Split the good images by part\"; or the command python -m "
    "vqi_core split: both keep look-alike photos together).")


def test_a_long_note_has_a_headline_of_its_first_clause_without_parentheses():
    """The look-alike note (129 words) filled a narrow screen on every page (browser review of 2026-12-05)."""
    assert headline(LOOK_ALIKE_NOTE) == (  # with what it means for the figures (browser review)
        "185 of 190 good test images look almost like a training image, against 64 of 392 defective ones: if they are "
        "other photos of the same parts, the figures here are better than on new parts.")
    assert len(headline(LOOK_ALIKE_NOTE).split()) <= HEADLINE_WORDS  # a headline shorter than what it heads
    short = " ".join(["word"] * HEADLINE_WORDS)
    assert headline(short) is None and headline(short + " more.") == short + " more."  # one sentence: itself
    assert headline("Only 4 (see (nested) here) images: few. " + "w " * 50) == "Only 4 images: few."
    assert headline("An unbalanced ) bracket (and this; " + "w " * 50) == "An unbalanced bracket."
    assert headline("Odd sizes: a.png, b.png, ...; " + "w " * 50) == "Odd sizes: a.png, b.png, ..."  # not "png,."
    assert headline("Odd sizes: a.png (9x9 px), .... Remove " + "w " * 50) == "Odd sizes: a.png, ..."
    assert headline("Check the masks, e.g. those of cracks; " + "w " * 50) == "Check the masks, e.g. those of cracks."
    assert headline("Formats: good BMP files named .png, defective PNG. " + "w " * 50) == (  # (browser review:
        "Formats: good BMP files named .png, defective PNG.")  # "named.png")


def test_a_rate_that_is_not_zero_or_one_never_reads_as_zero_or_a_hundred_percent():
    """477 of 1,397,167 good pixels flagged had read 0.0 % (numbers review)."""
    assert [percent(rate) for rate in (0.0, 477 / 1_397_167, 0.00049, 0.0005, 0.5, 0.99999, 1.0, None)] == \
        ["0.0%", "0.03%", "0.05%", "0.1%", "50.0%", "99.999%", "100.0%", "n/a"]
    assert percent(0.004, 0) == "0.4%" and percent(1e-15) == "1.0e-13%" and percent(1e-25) == "1.0e-23%"


def test_an_auroc_that_is_not_perfect_never_reads_as_one():
    """An image AUROC of 0.99961 (one good-defective pair of 2,576 ranked the wrong way) read 1.000 on every page,
    as a perfect run's does (numbers review); the pages' tables give every value of a column the same decimals."""
    assert [fraction(value, 3) for value in (1 - 1 / 2576, 1 - 1 / 74_480, 1.0, 0.9779, 0.0004, 0.0, None)] == \
        ["0.9996", "0.99999", "1.000", "0.978", "0.0004", "0.000", "n/a"]
    assert fraction(0.99961) == "0.9996" and figure(0.99961, 3) == "1.000"  # figure: timings, counts, as given
    assert figure(0.96, 1) == "1.0" and figure(0.04, 1) == "0.0"  # seconds: not a fraction (code review)
    assert decimals_apart([0.9779, 1.0, None, 0.5]) == 3 and decimals_apart([0.9779, 0.99961, 1.0]) == 4
    assert decimals_apart([1 - 1e-8]) == 8 and decimals_apart([1 - 1e-15]) == 3  # float noise is 1 (code review:
    assert fraction(0.9999999999999998, 3) == "1.000" and fraction(-2.2e-16, 3) == "0.000"  # a perfect AUPRO)
    assert decimals_apart([0.0002, -0.00003, 0.0]) == 5 and fraction(-0.0004, 3) == "-0.0004"  # differences: not 0
    assert decimals_apart([float("nan"), 0.9996]) == 4 and fraction(float("nan"), 3) == "nan"


def test_interval_ends_are_rounded_outwards_but_float_noise_is_no_value():
    """0.7999999999999999 had printed 0.7999, and -1e-20 as -0.001 (code review)."""
    assert interval_bounds(0.4999, 0.8844, 3) == ("0.499", "0.885")
    assert interval_bounds(0.7999999999999999, 0.9, 4) == ("0.8000", "0.9000")
    assert interval_bounds(-1e-20, 0.0, 3) == ("0.000", "0.000")
    assert interval_bounds(-0.0104, 0.0201, 3, signed=True) == ("-0.011", "+0.021")
