"""Command-line interface: ``python -m vqi_core train | evaluate | predict | threshold | report | check | split |
runs``."""

from __future__ import annotations

import argparse
import builtins
import contextlib
import difflib
import getpass
import json
import math
import os
import re
import shlex
import shutil
import signal
import sys
import textwrap
import unicodedata
from pathlib import Path
from typing import Any, Callable, NoReturn, Sequence

import pandas as pd

from .archive import AlreadyImported, archive_sha256, export_run_file, import_run
from .backbones import list_backbones
from .dashboard.boxes import run_box_data
from .dashboard.image_lists import decisions_csv
from .dashboard.overlays import png_bytes
from .datasets import Sample, category_holding, category_path, load_category, sub_folders
from .finetune import FINETUNE_KINDS
from .images import BIT_DEPTHS, is_image_path
from .jobs import EXPECTED_ERRORS
from .localisation import BOX_LEVEL, boxes_sentence, box_level_warning, regions_boxed_text
from .methods import list_methods, method_class, parameter_defaults
from .metrics import (MAX_COST, MAX_DEFECT_RATE, MIN_DEFECT_RATE, LineCosts, ThresholdEvaluator, held_out_counts,
                      interval_text)
from .pipeline import (CAPTURE_NOT_CHECKED_NOTE, IMAGE_MEMORY_MB, SUPERVISED_TRAIN_FRACTION, RunConfig,
                       captioned_overlay, check_dataset, check_decisions, evaluate_run, folder_sources,
                       iter_run_scores, label_name, learnt_from_note, overlay_file_name, prediction_table, result_row,
                       scored_unlike_training_note, train_run)
from .preprocessing import INTENSITY_MODES, MIN_CROP, RESIZE_MODES
from .progress import IMAGE_STAGES
from .provenance import describe_changes
from .report import missing_dataset_note, run_report_html
from .resplit import DEFAULT_TEST_FRACTION, check_split_target, split_by_part, write_split
from .runs import (CONFIG_FILE, MAX_BOX_LEVEL, MAX_DESCRIPTION_CHARS, MAX_REASON_CHARS, MIN_BOX_LEVEL,
                   InterruptedOnceWritten, Run, RunError, RunStore, changed_settings, checked_box_level, checked_name,
                   checked_reason, check_output_file, costs_typed_in, escaped_controls, incomplete_run_files,
                   missing_folders, recorded_costs, run_folder_holding, runs_held, saved_costs_entered, spreadsheet_csv,
                   spreadsheet_text, synced_to_disk, write_bytes_atomic)
from .split_check import COPY_RMSE, LOOK_ALIKE_LIKENESS, findings_line, no_copies_line, one_class_note
from .system import FolderBusy, file_above, home_expanded, interrupts_held, locked, sigterm_as_ctrl_c
from .thresholds import DEFAULT_MAX_FALSE_ALARMS, F1_OPTIMAL, MINIMUM_COST, YOUDEN, chosen_on_the_test_set, \
    cost_sentence, costlier_than_unchecked, costs_assumed, false_alarm_preset_name, line_cost_sentence, preset_rules, \
    preset_source, rate_numbers, saved_false_alarm_rate, saved_source, set_at_training, set_at_training_note, \
    slider_axis, threshold_presets
from .wording import are, by_whom, counted, entered_amount, exact_number, figure, fraction, percent, saved_time, \
    score_beside

DEFAULT_RUNS = "runs"
#: the folder in predict's --out where overlays are written until every image is scored, so that an interrupted
#: predict leaves an earlier predict's overlays and predictions.csv as they were
PREDICT_STAGING = ".vqi-predict-partial"


def print(*values: Any, **options: Any) -> None:
    """The built-in ``print`` with control characters shown as escapes, standing in for it throughout this module:
    a file name holding a newline or a terminal escape code cannot fake a line of output or clear the screen (train's
    copy note, evaluate's notes and the per-type lines had printed such names raw: bad-input review)."""
    builtins.print(*(escaped_controls(str(value)) for value in values), **options)


class TerminalProgress:
    """A tqdm progress bar per stage on stderr.

    Redrawn at most ten times a second on a terminal, where a finished bar is cleared, and every
    ``log_interval_s`` seconds when stderr is a file or a pipe (a CI log), so that a log does not get one
    redraw per image; there each bar ends with its final state and a line break, so the next line of output
    (stdout and stderr together, as in ``2>&1``) starts a line of its own.
    """

    def __init__(self, log_interval_s: float = 10.0) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self._bar = None
        self._stage: str | None = None
        self._terminal = sys.stderr.isatty()
        self._min_interval_s = 0.1 if self._terminal else log_interval_s

    def __call__(self, stage: str, done: int, total: int) -> None:
        """Show ``done`` of ``total`` on the bar of ``stage``, starting a new bar when the stage changes."""
        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = self._tqdm(total=total, desc=stage, unit="img" if stage in IMAGE_STAGES else "step",
                                   file=sys.stderr, leave=not self._terminal, dynamic_ncols=True,
                                   mininterval=self._min_interval_s)
        if self._bar is not None:
            self._bar.total = total
            self._bar.update(done - self._bar.n)

    def close(self) -> None:
        """Close the current bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def parse_param(text: str) -> tuple[str, Any]:
    """``key=value`` with the value read as JSON when it parses (numbers, lists, true/false)."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--param expects key=value, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key.strip(), json.loads(value)
    except (ValueError, RecursionError):  # not JSON (JSONDecodeError), a 5,000-digit number, nested too deep
        return key.strip(), value


def add_threshold_options(parser: argparse.ArgumentParser) -> None:
    """The options that ``threshold`` and ``report`` share: the false-alarm preset's rate and the line's costs."""
    parser.add_argument("--max-false-alarms", type=float, metavar="PERCENT",
                        help=f"for the preset 'at most X %% false alarms': allowed share of good parts rejected, "
                             f"in %%, from 0 to 100 (default: the share the saved threshold was chosen with, where "
                             f"that preset chose it, else {DEFAULT_MAX_FALSE_ALARMS:g})")
    saved = "the one the saved threshold was saved at, else"  # as the Threshold page's fields start
    parser.add_argument("--cost-false-alarm", type=float, metavar="COST",
                        help=f"cost of rejecting a good part, any unit, from 0 to {entered_amount(MAX_COST)} "
                             f"(default: {saved} {LineCosts().false_alarm:g})")
    parser.add_argument("--cost-escape", type=float, metavar="COST",
                        help=f"cost of passing a defective part, same unit, from 0 to {entered_amount(MAX_COST)}; "
                             f"one of the two costs above 0 (default: {saved} {LineCosts().escape:g})")
    parser.add_argument("--defect-rate", type=float, metavar="PERCENT",
                        help=f"share of defective parts the line makes, in %%, from {100 * MIN_DEFECT_RATE:g} to "
                             f"{100 * MAX_DEFECT_RATE:g}, for the expected cost (default: {saved} "
                             f"{100 * LineCosts().defect_rate:g})")


def threshold_options(args: argparse.Namespace, saved: LineCosts | None,
                      saved_rate: float) -> tuple[float, LineCosts]:
    """The false-alarm preset's rate (0..1) and the line's costs, checked, from :func:`add_threshold_options`: a
    cost not given is the one the run's threshold was saved at (``saved``), else VQI's default, as the Threshold
    page's fields start (found by review: the page and the command line worked with different costs); a rate not
    given, the one the preset starts at for the run (``saved_rate``, 0..1: :func:`saved_false_alarm_rate`)."""
    rate = 100 * saved_rate if args.max_false_alarms is None else args.max_false_alarms
    if not 0 <= rate <= 100:
        raise ValueError(f"--max-false-alarms is a percentage from 0 to 100, not {rate}")
    if args.defect_rate is not None and not 100 * MIN_DEFECT_RATE <= args.defect_rate <= 100 * MAX_DEFECT_RATE:
        raise ValueError(f"--defect-rate is a percentage from {100 * MIN_DEFECT_RATE:g} to {100 * MAX_DEFECT_RATE:g}, "
                         f"not {args.defect_rate}")
    base = saved or LineCosts()
    return rate / 100, LineCosts(
        base.false_alarm if args.cost_false_alarm is None else args.cost_false_alarm,
        base.escape if args.cost_escape is None else args.cost_escape,
        base.defect_rate if args.defect_rate is None else args.defect_rate / 100)


#: what --bit-depth does (train, check, split)
BIT_DEPTH_HELP = ("significant bits of 16-bit images, e.g. 12 for a 12-bit camera whose files store values "
                  "up to 4095: they are scaled from 0-4095 to 0-255 (higher values clipped) instead of from "
                  "0-65535, which would leave 16 grey levels")


def _costs_entered(args: argparse.Namespace) -> set[str]:
    """The cost fields (:data:`~vqi_core.runs.COST_FIELDS`) given on the command line."""
    given = {"false_alarm": args.cost_false_alarm, "escape": args.cost_escape, "defect_rate": args.defect_rate}
    return {name for name, value in given.items() if value is not None}


def parameters_epilog() -> str:
    """Every method's --param keys with their defaults, for ``train --help`` (README review: no command listed
    them, and docs/methods.md, said to give every parameter, did not); wrapped here, as the help keeps its lines.
    ``layers=null``: the backbone's default layers for the method."""
    lines = ["--param keys of each method, with their defaults (layers=null: the method's default layers of the "
             "backbone; docs/methods.md says what they do):"]
    for method in list_methods():
        keys = ", ".join(f"{name}={json.dumps(value, sort_keys=True)}" for name, value in
                         parameter_defaults(method).items())
        lines += textwrap.wrap(f"{method}: {keys}", width=100, initial_indent="  ", subsequent_indent="    ",
                               break_on_hyphens=False)
    return "\n".join(textwrap.wrap(lines[0], width=100) + lines[1:])


class CommandParser(argparse.ArgumentParser):
    """A sub-command's parser: an option it does not know is refused with its own usage, naming the nearest option
    it knows (command review: "--resise" got the top-level usage, without the command's options); options are
    never abbreviated (an undocumented "--dat" was read as --data). ``epilog_of``: makes the help's epilog when the
    help is shown, not whenever a command line is parsed (the train command's imports every method)."""

    def __init__(self, *args: Any, epilog_of: Callable[[], str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "allow_abbrev": False})
        self.given: list[str] = []
        self.epilog_of = epilog_of

    def format_help(self) -> str:
        """As argparse's, with the epilog made now where ``epilog_of`` makes it."""
        if self.epilog_of is not None and self.epilog is None:
            self.epilog = self.epilog_of()
        return super().format_help()

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        """As argparse's, but an argument left over is an error of this command."""
        self.given = list(args or [])
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            unknown = next((extra for extra in extras if extra.startswith("-")), extras[0]).split("=")[0]
            self.error(f"unrecognized arguments: {' '.join(extras)}{self.nearest_option(unknown)}")
        return parsed, extras

    def unknown_options(self) -> list[str]:
        """The options given that this command does not know: tokens that start with "--" and hold no space, not
        an option's value (code review: "--reason '--run r'" had named "--run r"), none after a bare "--"."""
        actions = self._option_actions()
        unknown, value_next = [], False
        for token in self.given:
            if token == "--":
                break
            name = token.split("=")[0]
            if value_next:
                value_next = False
            elif name in actions:
                value_next = "=" not in token and actions[name].nargs != 0
            elif token.startswith("--") and " " not in token:
                unknown.append(name)
        return unknown

    def _option_actions(self) -> dict[str, argparse.Action]:
        """Every option string of this command (in the order it was added) with its action."""
        return {option: action for action in self._actions for option in action.option_strings}

    def nearest_option(self, unknown: str) -> str:
        """" (did you mean --data?)" for the option of this command nearest to ``unknown``, "" where none is."""
        known = [option for option in self._option_actions() if option.startswith("--")]
        nearest = difflib.get_close_matches(unknown, known, n=1, cutoff=0.7)  # "--bogus": not "--out"
        return f" (did you mean {nearest[0]}?)" if nearest else ""

    def error(self, message: str) -> NoReturn:
        """argparse's error, naming an option given that this command does not know (a required option missing
        because it was mistyped had been said alone: "--dat" gave "the following arguments are required: --data",
        code review)."""
        unknown = self.unknown_options()
        if unknown and "unrecognized arguments" not in message:
            message += f"; {unknown[0]} is no option of this command{self.nearest_option(unknown[0])}"
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per job."""
    parser = argparse.ArgumentParser(
        prog="python -m vqi_core",
        description="VQI: learn what a good part looks like from defect-free images, score new images, "
                    "localise defects.", allow_abbrev=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=CommandParser)

    train = commands.add_parser(
        "train", help="fit a method on a category and evaluate it on its test set",
        description="Fit on <data>/train/good, evaluate on <data>/test, write a run folder under --runs "
                    "and print its path as the last line.", epilog_of=parameters_epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("--data", required=True,
                       help="category folder in MVTec AD layout (train/good, test/<type>, optional ground_truth), "
                            "or a root holding several categories (then give --category)")
    train.add_argument("--category", help="category name when --data holds several categories")
    train.add_argument("--method", default="patchcore", choices=list_methods(),
                       help="inspection method (default: %(default)s)")
    train.add_argument("--runs", default=DEFAULT_RUNS, help="folder that holds the runs (default: %(default)s)")
    train.add_argument("--backbone", choices=list_backbones(),
                       help="feature backbone (default: the method's own, EfficientNet-Lite0)")
    train.add_argument("--image-size", type=int, nargs="+", metavar="PX",
                       help="network input size in px (32-2048 a side): one number for a square, or HEIGHT WIDTH; "
                            "with --resize fixed_scale, the input takes the training images' shape with about as "
                            "many pixels as HEIGHT x WIDTH, e.g. 256 384 (default: the method's own)")
    train.add_argument("--resize", choices=list(RESIZE_MODES),
                       help="squash: stretch to the input size; letterbox: keep the aspect ratio, scale to fit "
                            "and pad; fixed_scale: one scale for every image (the largest training image just "
                            "fits), keep the aspect ratio and pad, so a pixel covers the same area in every image "
                            "(default: the method's own)")
    train.add_argument("--intensity", choices=list(INTENSITY_MODES),
                       help="none: grey levels as captured; standardise: bring every image to the training "
                            "images' typical brightness and contrast first, so varying exposure is not an "
                            "anomaly (default: the method's own; PatchCore standardises)")
    train.add_argument("--crop", type=float, metavar="FRACTION",
                       help=f"centre crop keeping this fraction of the resized image ({MIN_CROP:g}-1; default: 1, "
                            f"no crop)")
    train.add_argument("--bit-depth", type=int, choices=BIT_DEPTHS, metavar="BITS",
                       help=f"{BIT_DEPTH_HELP}; kept with the model, so predict reads new files the same way "
                            f"(8-16; default: 16)")
    train.add_argument("--finetune", choices=FINETUNE_KINDS,
                       help="fine-tune the backbone on the good images first (self-supervised; default: none, the "
                            "pretrained backbone as it is)")
    train.add_argument("--seed", type=int, default=0, help="random seed, recorded in the run (default: 0)")
    train.add_argument("--supervised-train-fraction", type=float, metavar="FRACTION",
                       help=f"supervised methods (cam) only: share of each defect type and of the good test images "
                            f"used for training; the rest is evaluated (default: {SUPERVISED_TRAIN_FRACTION})")
    train.add_argument("--image-memory-mb", type=float, default=IMAGE_MEMORY_MB, metavar="MIB",
                       help="hold the decoded training (and test) images in memory up to this many MiB per set; "
                            "a larger set is decoded from its files at each pass, which is slower but needs "
                            "little memory; results are the same (default: %(default)s)")
    train.add_argument("--region", metavar="MASK",
                       help="a mask image of the inspection region: white where the part is inspected, black where "
                            "it is not (fixtures, labels, background); drawn on a training image or at its size and "
                            "stretched to every image; nothing outside it can raise a score or a box (default: "
                            "whole images)")
    train.add_argument("--param", type=parse_param, action="append", default=[], metavar="KEY=VALUE",
                       help="any other method parameter, e.g. --param coreset_fraction=0.05 (repeatable)")

    evaluate = commands.add_parser(
        "evaluate", help="score a run's test set again, or new labelled images (--data), with its saved model, and "
                         "print the metrics",
        description="Load a saved run, score the test set again (its own, or --data), print the metrics, what "
                    "the saved threshold does there (naming each false alarm and escape) and how far the new "
                    "scores are from the saved ones; on its own test set, also name the test images and masks "
                    "whose bytes changed (SHA-256) or that are missing since training.")
    evaluate.add_argument("--run", required=True, help="run folder")
    evaluate.add_argument("--data", help="another category folder to evaluate on (default: the run's own), e.g. "
                                         "new labelled images from the line in test/good and test/<defect type> "
                                         "(optional ground_truth masks; no train/good needed)")
    evaluate.add_argument("--category", help="the category to evaluate on when --data holds several")
    evaluate.add_argument("--decisions", metavar="CSV",
                          help="also write every evaluated image's label, score, decision and outcome (TP, FP, FN, "
                               "TN) at the saved threshold, with the run and when, to this CSV: the record of the "
                               "check")
    evaluate.add_argument("--fail-on-changes", action="store_true",
                          help="on the run's own test set: exit with 1 where the run does not reproduce its record: a "
                               "test image or mask changed, missing or unreadable since training, or an image judged "
                               "otherwise at the saved threshold than its saved score is (for a line's scripts)")

    predict = commands.add_parser(
        "predict", help="score new images with a saved run; write a CSV and overlay images",
        description="Score every image of a folder (or one image) with a saved run at its saved threshold; "
                    "write predictions.csv (a row for every file given, a file that could not be scored "
                    "included) and <name>_overlay.png per scored image to --out. Exit status 2 when no image "
                    "could be scored (predictions.csv is written all the same, unless --out holds an earlier "
                    "predict's results: they are kept and nothing is written).")
    predict.add_argument("--run", required=True, help="run folder")
    predict.add_argument("--input", required=True,
                         help="an image file or a folder of images (its sub-folders are not searched: they are "
                              "named at the end)")
    predict.add_argument("--out", required=True,
                         help="output folder for predictions.csv and overlays; not the --input folder, a run "
                              "folder or a dataset category's folders. An earlier predict's results there are "
                              "replaced (its overlays of files not scored now are removed; other files stay)")
    predict.add_argument("--fail-on-defect", action="store_true",
                         help="exit status 1 (after writing everything) when an image is judged defective, could "
                              "not be scored, or is unlike the good training images (brightness, contrast, colour, "
                              "size, shape, file format or bit depth: its score is not to be trusted), or when --input "
                              "holds sub-folders with images (its own --out aside), which are not searched: a part "
                              "that was not inspected does not pass either; for scripts on the line (the reasons are "
                              "printed)")

    threshold = commands.add_parser(
        "threshold", help="show what a run's threshold does, choose another one, save it",
        description="Print what a threshold does on a run's evaluated test set (confusion matrix, false "
                    "alarms and escapes, precision / recall / F1, the expected cost on the line) and, with "
                    "--save, store it in the run: predict and scores.csv use it from then on. Without --value "
                    "or --preset: the saved threshold.")
    threshold.add_argument("--run", required=True, help="run folder")
    choice = threshold.add_mutually_exclusive_group()
    choice.add_argument("--value", type=float, help="this threshold (images scoring at or above it are rejected)")
    choice.add_argument("--preset", choices=list(THRESHOLD_PRESETS),
                        help="f1: the F1-optimal threshold; youden: the one maximising detection rate minus "
                             "false-alarm rate; min-cost: the lowest expected cost with the costs below; "
                             "false-alarms: the threshold catching the most defective test images while "
                             "rejecting at most --max-false-alarms of the good ones (of those, the one with the "
                             "fewest false alarms: between the lowest defective score it catches and the next lower "
                             "test score); new images may do worse: the held-out line shows how much")
    add_threshold_options(threshold)
    threshold.add_argument("--save", action="store_true",
                           help="store the threshold in the run; the one it replaces is kept in the run's threshold "
                                "history (the threshold already saved is not stored again unless --reason is given)")
    threshold.add_argument("--reason", default="",
                           help=f"with --save: why the threshold changes (e.g. 'customer complaint 4711'), kept in the "
                                f"history beside it; at most {MAX_REASON_CHARS} characters")
    threshold.add_argument("--by", metavar="NAME",
                           help="with --save: who saves it, kept in the history beside it (default: the name of the "
                                "account that runs the command)")
    threshold.add_argument("--history", action="store_true",
                           help="also print every threshold the run has had: when, which, where from and why")
    threshold.add_argument("--decisions", metavar="CSV",
                           help="also write every test image with its score, the threshold, the decision and the "
                                "outcome (TP, FP, FN, TN) to this CSV file, as the Threshold page's download")

    boxes = commands.add_parser(
        "boxes", help="show what a run's boxes find at a box level, save the level",
        description="Print what the boxes drawn above a box level find on a run's evaluated test set (annotated "
                    "defect regions boxed, overall and per defect type; boxes on defective images touching a "
                    "defect; boxes too broad to locate anything; good images with a box) and, with --save, store "
                    "the level in the run: every overlay of the run (the dashboard, predict's overlays and "
                    "predictions.csv) draws boxes above it. The "
                    "level is on the normalised anomaly map: at 1, the default, the highest level any held-out good "
                    "image reached; lower boxes fainter defects and puts boxes on more good parts. The verdicts do "
                    "not change: they compare each image's score with the threshold. Without --level: the saved "
                    "level.")
    boxes.add_argument("--run", required=True, help="run folder")
    boxes.add_argument("--level", type=float,
                       help=f"this box level, from {MIN_BOX_LEVEL:g} to {MAX_BOX_LEVEL:g} (default: the saved one)")
    boxes.add_argument("--save", action="store_true",
                       help="store the level in the run (the one it replaces is kept in box_level.json's history)")
    boxes.add_argument("--reason", default="",
                       help=f"with --save: why the box level changes, kept beside it; at most {MAX_REASON_CHARS} "
                            f"characters")
    boxes.add_argument("--by", metavar="NAME",
                       help="with --save: who saves it, kept beside it (default: the name of the account that runs "
                            "the command)")

    report = commands.add_parser(
        "report", help="write a run's validation report: one self-contained HTML file",
        description="Write what the run learnt from, how it was tested (and what the test-set check found), "
                    "how well it ranks parts, what its threshold does (confusion matrix, rates with their 95 % "
                    "intervals, each defect type, each preset on images it was not chosen on) and its false "
                    "alarms and escapes as overlay thumbnails, to one HTML file that opens offline.")
    report.add_argument("--run", required=True, help="run folder")
    report.add_argument("--out", required=True, help="the HTML file to write")
    report.add_argument("--threshold", type=float, help="report at this threshold (default: the run's saved one)")
    add_threshold_options(report)

    check = commands.add_parser(
        "check", help="check a category before training: counts, unreadable files, copies, look-alikes, capture "
                      "cues",
        description="Decode every image of a category, list the unreadable ones, look for test images that are "
                    "copies of training images or of other test images (the same pixels, at most "
                    f"{COPY_RMSE:g} grey levels apart, as a JPEG re-save), count the test images that look almost "
                    f"like a training image (likeness {LOOK_ALIKE_LIKENESS:g} or more: other photos of the same part, "
                    "when the good test images have far more of them than the defective ones), and measure how well each "
                    "whole-image statistic (mean grey level, grey-level spread, colourfulness, red-blue balance, size, "
                    "aspect ratio) alone "
                    "separates good from defective test images. Copies, look-alikes and such capture cues make "
                    "the AUROCs and false-alarm rates look better than they will be on new parts.")
    check.add_argument("--data", required=True, help="category folder, or dataset root with --category")
    check.add_argument("--category", help="category sub-folder of --data")
    check.add_argument("--bit-depth", type=int, choices=BIT_DEPTHS, default=16, metavar="BITS",
                       help=f"{BIT_DEPTH_HELP}, so that distinct images do not look like copies "
                            f"(8-16; default: %(default)s)")
    check.add_argument("--fail-on-copies", action="store_true",
                       help="exit with status 1 when copies are found (for scripts); default: status 0")

    split = commands.add_parser(
        "split", help="split a category's good images anew, by part: look-alike photos stay on one side",
        description="Pool train/good and test/good, join the photos that look almost alike (likeness "
                    f"{LOOK_ALIKE_LIKENESS:g} or more, as in check; a chain of look-alikes is one group) and draw "
                    "whole groups, seeded, into test/good until it holds --test-fraction of the good images; a byte "
                    "copy of a good image is written once. Writes a new category folder (--out, which must not "
                    "exist) with the defective test images and their masks as they were and split.json (source, "
                    "seed, every group, every file left out with the reason), and prints its path "
                    "as the last line. For a category whose good test images look like training images far more "
                    "often than its defective ones do (check says so): other photos of the same parts.")
    split.add_argument("--data", required=True, help="category folder, or dataset root with --category")
    split.add_argument("--category", help="category sub-folder of --data")
    split.add_argument("--out", required=True, help="the new category folder to write (must not exist)")
    split.add_argument("--test-fraction", type=float, default=DEFAULT_TEST_FRACTION, metavar="FRACTION",
                       help=f"share of the good images to put into test/good (default: {DEFAULT_TEST_FRACTION:g})")
    split.add_argument("--seed", type=int, default=0, help="seed of the draw of groups (default: 0)")
    split.add_argument("--bit-depth", type=int, choices=BIT_DEPTHS, default=16, metavar="BITS",
                       help=f"{BIT_DEPTH_HELP}, so that different parts do not look alike "
                            f"(8-16; default: %(default)s)")

    runs = commands.add_parser("runs", help="list, delete, describe, export or import saved runs",
                               description="List the runs in a folder with their headline metrics and the "
                                           "settings that differ from their method's defaults; or delete one, "
                                           "describe one, write one to a .zip archive, or add one from such an "
                                           "archive (export and import print the archive's SHA-256).")
    runs.add_argument("--runs", default=DEFAULT_RUNS, help="folder that holds the runs (default: %(default)s)")
    action = runs.add_mutually_exclusive_group()
    action.add_argument("--delete", metavar="RUN_ID", help="delete this run")
    action.add_argument("--export", metavar="RUN_ID",
                        help="write this run (model, scores, maps, threshold, box level, description, reports) to a "
                             ".zip archive (see --out)")
    action.add_argument("--import", dest="import_archive", metavar="ARCHIVE",
                        help="add the run in this .zip archive to --runs, after checking that it is a safe, "
                             "complete run whose model loads and whose every file can be read (threshold, scores, "
                             "maps, reports, description)")
    action.add_argument("--describe", nargs=2, metavar=("RUN_ID", "TEXT"),
                        help="replace this run's description: what it is for and what was decided about it (e.g. "
                             "'line 3 candidate, approved by QA on 2026-12-02'); an empty TEXT removes it. It is "
                             f"listed here, on the pages and in the validation report; at most "
                             f"{MAX_DESCRIPTION_CHARS:,} characters")
    runs.add_argument("--out", help="with --export: the archive to write, a .zip file name (default: <run id>.zip "
                                    "here)")
    return parser


def _train(args: argparse.Namespace) -> int:
    params = dict(args.param)
    options = {key: getattr(args, key) for key in ("backbone", "resize", "intensity", "crop", "finetune", "bit_depth")}
    if args.image_size:
        if len(args.image_size) > 2:
            raise ValueError("--image-size takes one number or HEIGHT WIDTH")
        options["image_size"] = args.image_size * 2 if len(args.image_size) == 1 else args.image_size
    for key, value in options.items():
        if value is None:
            continue
        if key in params:  # the option won silently, a --param value of the wrong kind unchecked (review)
            raise ValueError(f"--{key.replace('_', '-')} and --param {key}= both set {key}: give it once")
        params[key] = value
    fraction = args.supervised_train_fraction
    if fraction is not None and not method_class(args.method).supervised:
        raise ValueError(f"--supervised-train-fraction is for supervised methods (cam) only: {args.method} learns "
                         f"from the good training images alone and evaluates every test image")
    fraction = SUPERVISED_TRAIN_FRACTION if fraction is None else fraction
    if not 0 < fraction < 1:
        raise ValueError(f"--supervised-train-fraction is a share above 0 and below 1, not {fraction}")
    created = missing_folders(Path(args.runs))  # said once the run is written (README review: made silently)
    progress = TerminalProgress()
    interrupted: list[int] = []
    try:
        run = train_run(RunConfig(args.data, args.method, params, args.category, args.seed,
                                  fraction, args.image_memory_mb, args.region), args.runs,
                                  progress)
    except InterruptedOnceWritten as exc:  # the run is there all the same: said, with its folder
        run = exc.run
        interrupted.append(signal.SIGINT)
    finally:
        progress.close()
    with interrupts_held(interrupted):  # the run is written: a script must get its folder as the last line
        metrics = run.metrics
        print(_metrics_line(metrics))
        for line in _defect_type_lines(metrics, metrics.get("normalisation_images")):
            print(line)
        if (region := run.config.get("region")) is not None:  # a mask of the wrong picture would cut most of it
            print(f"inspection region: {percent(region['inspected_share'], 0)} of each image is inspected, from "
                  f"{region['source']}; the rest can raise no score and get no box")
        threshold, saved = run.saved_threshold  # what new parts are judged at, as the Train page says (review)
        if len(run.scores) and set_at_training(saved):
            point = ThresholdEvaluator(run.labels, run.score_values).evaluate(threshold)
            print(f"threshold {exact_number(threshold)}: "
                  f"{set_at_training_note(str(saved.get('source', 'saved')), point, _where_to_choose(run))}")
        if run.report["skipped"]:  # each named, as check, split and predict name them (bad-input review)
            _print_skipped(run.report["skipped"])
            what = ("file or folder", "files or folders") if any(  # (bad-input review: folders counted as files)
                Path(item["file"]).is_dir() for item in run.report["skipped"]) else ("file", "files")
            print(f"skipped {counted(len(run.report['skipped']), *what)}: also in {run.path / 'report.json'}")
        for note in run.report["notes"]:
            print(note)
        if created:  # the run's folder stays the last line printed
            print(f"note: created {_created_folders(created)} to hold the runs", file=sys.stderr)
        print(run.path)
    if interrupted:
        print(f"interrupted once the run was written: {run.path}", file=sys.stderr)
        return 130
    return 0


def _metrics_line(metrics: dict) -> str:
    def fmt(key: str) -> str:
        return fraction(metrics.get(key))

    interval = metrics.get("image_auroc_interval")
    spread = f" ({interval_text(interval, 4, auroc=metrics.get('image_auroc'))})" if interval else ""
    timings = f"  fit {metrics['fit_seconds']:.1f} s  {figure(metrics.get('ms_per_image'), 1)} ms/image" \
        if "fit_seconds" in metrics else ""  # a run's own figures; evaluate does not fit
    return f"image AUROC {fmt('image_auroc')}{spread}  pixel AUROC {fmt('pixel_auroc')}  AUPRO {fmt('aupro')}{timings}"


#: where the command line raises the box level, in the warning of boxes on many good images
BOXES_COMMAND = "boxes --run <run> --level <level> --save"


def _defect_type_lines(metrics: dict, held_out: int | None) -> list[str]:
    """One line per defect type (its images, image AUROC against the good images, pixel AUROC, pixel share and
    regions boxed), then what the boxes did on the whole test set (:func:`boxes_sentence`), and where the box level
    is low for the maps, a warning (``held_out``: the run's ``normalisation_images``, which set level 1)."""
    lines = []
    for name, entry in metrics.get("per_defect_type", {}).items():
        line = f"  {name}: {counted(entry['images'], 'image')}, image AUROC {fraction(entry['image_auroc'])}"
        if "pixel_auroc" in entry:
            share = entry["defect_pixel_share"]  # none without a defect pixel: not "(n/a of the defect pixels)"
            line += f", pixel AUROC {fraction(entry['pixel_auroc'])}" + (
                f" ({percent(share, 0)} of the defect pixels)" if share is not None else "")
        if (boxed := regions_boxed_text(entry)) is not None:
            line += f", {boxed} defect regions boxed"
        lines.append(line)
    level = metrics.get("box_level", BOX_LEVEL)
    if (boxes := boxes_sentence(metrics, level)) is not None:
        lines.append(boxes)
    if (low_level := box_level_warning(metrics, level, held_out, BOXES_COMMAND)):
        lines.append(f"Warning: {low_level}")
    return lines


def _evaluate(args: argparse.Namespace) -> int:
    if args.category is not None and args.data is None:
        raise ValueError("--category chooses a category of --data: give --data with it")
    if args.fail_on_changes and args.data is not None:
        raise ValueError("--fail-on-changes checks the run against its own test set: leave out --data")
    run = Run(Path(args.run))
    run.check(manifest=False)  # a damaged run ends here, before its test set is scored (a manifest: said below)
    if args.decisions:  # refused before the test set is scored, not after
        _refuse_inside_a_run_or_category(Path(args.decisions), "--decisions")
        check_output_file(Path(args.decisions))
    threshold, saved = run.saved_threshold  # read once: the decisions and the lines below judge at the same threshold
    progress = TerminalProgress()
    try:
        result = evaluate_run(run, args.data, progress, category=args.category)
    finally:
        progress.close()
    _print_skipped(result["skipped"])
    for note in result["notes"]:
        print(f"note: {note}")
    print(_metrics_line(result["metrics"]))
    for line in _defect_type_lines(result["metrics"], run.metrics.get("normalisation_images")):  # as trained
        print(line)
    point = ThresholdEvaluator(result["labels"], result["scores"]).evaluate(threshold)
    source = str(saved.get("source", "saved"))
    chosen_where = _where_the_threshold_was_chosen(source, args.data is not None, result["own_test_images"])
    print(f"at the run's saved threshold {exact_number(threshold)} ({source}; {chosen_where}): "
          f"{cost_sentence(point, opens_sentence=False)}")
    judged = check_decisions(result, run.id, threshold)
    false_alarms = judged[judged["outcome"] == "FP"].sort_values("score", ascending=False, kind="stable")
    escapes = judged[judged["outcome"] == "FN"].sort_values("score", kind="stable")
    for row in pd.concat([false_alarms, escapes]).itertuples():  # the farthest on the wrong side first, as the
        what = "false alarm" if row.outcome == "FP" else f"escape ({row.defect_type})"  # report lists them (review)
        print(f"  {what}: {row.path} (score {score_beside(row.score, threshold)})")
    if result["max_score_difference"] is not None:
        of_all = result["scored_again"] == len(run.scores)
        print(f"largest difference from the saved scores: {result['max_score_difference']:.3g}"
              + ("" if of_all else f" (over the {result['scored_again']} of {len(run.scores)} test images still "
                                   f"readable)"))
    if changes := describe_changes(result["data_changes"]):
        print(changes)
    if result["data_manifest_problem"] is not None:
        print(f"data files: {result['data_manifest_problem']}, so changes since training cannot be named")
    elif args.data is None and not run.data_files_recorded:
        print("data files: not recorded (the run was trained before runs listed their files), "
              "so changes since training cannot be named")
    if args.decisions:
        created = missing_folders(Path(args.decisions).parent)
        write_bytes_atomic(Path(args.decisions), spreadsheet_csv(judged))
        print(f"decisions at {exact_number(threshold)} written to {args.decisions}{_created(created)}")
    if args.data is None:
        departures = _departures(run, result, threshold)
        files = ("every test file as at training" if result["data_changes"] is not None else
                 "its test files not recorded, so not checked")
        print(f"does not reproduce its record: {'; '.join(departures)}" if departures else
              f"reproduces its record: {files}, every image judged as its saved score is")
        if departures and args.fail_on_changes:
            return 1
    return 0


def _departures(run: Run, result: dict[str, Any], threshold: float) -> list[str]:
    """How a run's own test set, scored again (:func:`~vqi_core.pipeline.evaluate_run`), departs from its record:
    test files changed, missing or unreadable since training, and images judged otherwise at ``threshold`` than
    their saved scores are (scores that differ in their last digits alone, as another CPU gives them, are no
    departure)."""
    departures = []
    changes = result["data_changes"]
    if changes is not None and (changed := sum(len(files) for files in changes.values())):
        departures.append(f"{counted(changed, 'test file')} changed, missing or unreadable since training (named "
                          f"above)")
    elif changes is None and result["skipped"]:  # no record to name them by: those left out (listed above)
        departures.append(f"{counted(len(result['skipped']), 'test file')} left out (listed above)")
    if result["data_manifest_problem"] is not None:
        departures.append("its record of the test files cannot be read")
    saved = dict(zip(run.scores["path"], run.score_values))
    judged_otherwise = [path for path, score in zip(result["paths"], result["scores"])
                        if path in saved and (score >= threshold) != (saved[path] >= threshold)]
    if judged_otherwise:
        departures.append(f"{counted(len(judged_otherwise), 'image')} judged otherwise at {exact_number(threshold)} "
                          f"than its saved score is (e.g. {judged_otherwise[0]})")
    return departures


def _where_to_choose(run: Run) -> str:
    """The command that chooses a threshold for the line on ``run``'s test set (the preset its images allow), or,
    where it holds no good image, labelled images from the line to check the run on."""
    labels, command = run.labels, f"python -m vqi_core threshold --run {shlex.quote(str(run.path))}"
    if (labels == 0).any() and (labels == 1).any():
        return (f"with `{command} --preset min-cost --cost-false-alarm COST --cost-escape COST --defect-rate PERCENT "
                f"--save` or on the dashboard's Threshold page")
    if (labels == 0).any():  # no defective test image: only false alarms can be counted
        return (f"with `{command} --preset false-alarms --max-false-alarms PERCENT --save`, after checking the run "
                f"on labelled images from the line (`evaluate --data`)")
    return "after checking the run on labelled images from the line (`evaluate --data`)"


def _where_the_threshold_was_chosen(source: str, other_data: bool, own_test_images: int) -> str:
    """Whether a threshold saved from ``source`` was chosen on the images ``evaluate`` judged at it: the run's own
    test set, or ``other_data`` of which ``own_test_images`` are the run's own test images."""
    chosen = chosen_on_the_test_set(source)
    if other_data:
        if not own_test_images:
            return "not chosen on these images"
        if chosen:
            return (f"chosen on the run's test set, {own_test_images} of whose images {are(own_test_images)} among "
                    f"these, as noted above")  # (command review: "1 of whose images are")
        return f"{own_test_images} of these images {are(own_test_images)} the run's own test images, as noted above"
    if chosen:
        return ("chosen on these test images, so new parts may fare worse: `threshold --preset ...` gives a preset's "
                "rates on images it was not chosen on")
    if chosen is False:
        return "set from the good training images, not chosen on these test images"
    if source == "manual":
        return "set by hand: if it was chosen by looking at these test images, new parts may fare worse"
    return "its source does not say whether it was chosen on these test images"


def _print_skipped(items: list[dict[str, str]]) -> None:
    """A "skipped <file>: <reason>" line per file left out, control characters escaped (a file named ``Icon\\r``
    would move the terminal's cursor back over the line)."""
    for item in items:
        print(f"skipped {item['file']}: {item['reason']}")


def _refuse_inside_a_run_or_category(path: Path, option: str) -> None:
    """``ValueError`` when ``path`` is a run folder or lies inside one (any run's, not only the one used), or lies
    in a dataset category's ``train``, ``test`` or ``ground_truth`` folder: what is written there could replace
    the run's own files, or replace or join the category's images or masks (read by check, train and evaluate)."""
    folder = run_folder_holding(path)
    if folder is not None:
        raise ValueError(f"{option} {path} is inside the run folder {folder}: write it outside, where it cannot "
                         f"replace the run's own files")
    if (holding := category_holding(path)) is not None:
        raise ValueError(f"{option} {path} is inside the {holding[1]} folder of the dataset category {holding[0]}: "
                         f"what is written there would replace or join that category's images or masks; write it "
                         f"outside the category")


def _predict(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as held:  # holds the lock on --out that _predict_holding takes
        return _predict_holding(args, held)


def _predict_holding(args: argparse.Namespace, held: contextlib.ExitStack) -> int:
    run = Run(Path(args.run))
    run.check()  # a damaged run ends here, before anything is written
    # read once: the same threshold for every image, even if it is saved meanwhile, with its source and whether
    # anyone chose it from the same reading
    threshold, saved = run.saved_threshold
    box_level = run.box_level  # read once too: each overlay and its row are drawn and counted at the same level
    threshold_source = saved.get("source", "saved")
    not_chosen = set_at_training_note(
        str(threshold_source), ThresholdEvaluator(run.labels, run.score_values).evaluate(threshold),
        _where_to_choose(run)) if set_at_training(saved) else None
    out = Path(args.out)
    if out.exists() and not out.is_dir():  # a device such as /dev/null is no file (found by review)
        raise ValueError(f"--out {out} is {'a file' if out.is_file() else 'not a folder'}: name a folder for the "
                         f"overlays and predictions.csv")
    if (blocking := file_above(out)) is not None:
        raise ValueError(f"--out {out} cannot be made: {blocking} is a file, not a folder")
    _refuse_inside_a_run_or_category(out, "--out")
    given = home_expanded(args.input).resolve()
    if (given.parent if given.is_file() else given) == home_expanded(out).resolve():
        raise ValueError(f"--out {out} is the --input folder{' of that image' if given.is_file() else ''}: name "
                         f"another folder, or the overlays would be scored as parts by the next predict of this "
                         f"folder")
    sources, skipped = folder_sources(args.input)
    model = run.load_model()
    held_out = run.metrics.get("normalisation_images")  # what box level 1 lies above, for the overlays' captions
    created = missing_folders(out)  # removed again on failure
    staging = out / PREDICT_STAGING  # overlays wait here until every image is scored

    def discard_this_predict(staged: bool = True) -> None:  # on failure: an earlier predict's results stay
        if staged:
            shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(created[-1], ignore_errors=True)

    try:  # an interrupt from here on leaves no folder this predict made (found by review: an empty --out stayed)
        out.mkdir(parents=True, exist_ok=True)
        try:  # one predict at a time writes into a folder (the other's staging folder and results would go)
            held.enter_context(locked(out, wait=False))
        except FolderBusy:
            raise ValueError(f"another predict is writing into {out}: wait until it has finished, or name another "
                             f"--out") from None
    except BaseException:
        discard_this_predict(staged=False)  # a staging folder there is the other predict's
        raise
    try:
        shutil.rmtree(staging, ignore_errors=True)  # left by an interrupted predict
        staging.mkdir()
    except BaseException:
        discard_this_predict()
        raise

    rows = []
    progress = TerminalProgress()
    try:  # a chunk of images at a time: overlays are written as they come, only the CSV rows are kept
        for result in iter_run_scores(run, sources, skipped, progress, model, threshold, box_level):
            overlay = captioned_overlay(result, threshold, run.id, box_level, held_out)
            target = staging / overlay_file_name(result.name)
            try:
                target.write_bytes(png_bytes(overlay))
            except OSError as exc:
                raise OSError(f"could not write the overlay {target.name} into {out}: "
                              f"{exc.strerror or exc}") from exc
            rows.append(result_row(result, threshold, run.id, box_level))
    except BaseException:  # nothing of this predict is left behind
        discard_this_predict()
        raise
    finally:
        progress.close()
    scored = len(rows)
    if scored == 0 and (out / "predictions.csv").exists():  # failed: an earlier predict's results stay (review)
        discard_this_predict()
        _print_skipped(skipped)
        print(f"{_nothing_scored(args.input)}: nothing was written, and {out} keeps an earlier predict's "
              f"predictions.csv and overlays", file=sys.stderr)
        return 2
    frame = prediction_table(rows, skipped, threshold, run.id, box_level)
    earlier = _earlier_overlays(out)
    try:  # the overlays are on the disk before they take the earlier ones' place
        synced_to_disk(staging)
    except BaseException as exc:
        discard_this_predict()
        if isinstance(exc, OSError):
            raise OSError(f"could not write the overlays into {out}: {exc.strerror or exc}") from exc
        raise
    interrupted: list[int] = []
    with interrupts_held(interrupted):  # all of the new results or none of them take the earlier ones' place
        try:  # the table first: a write that fails (a full disk) leaves the earlier results as they were
            write_bytes_atomic(out / "predictions.csv", spreadsheet_csv(frame))
        except BaseException:
            discard_this_predict()
            raise
        for overlay_file in staging.iterdir():  # each replaces an earlier predict's overlay in one step
            os.replace(overlay_file, out / overlay_file.name)
        staging.rmdir()
        for stale in earlier - {overlay_file_name(row["image"]) for row in rows}:
            (out / stale).unlink(missing_ok=True)  # an earlier predict's, of a file not scored now
    if created:  # said on every way out once the results are there (code review: not when interrupted)
        print(f"note: created {_created_folders(created)} to hold the results", file=sys.stderr)
    if interrupted:
        print(f"interrupted once the results were complete: predictions.csv and the overlays in {out} are this "
              f"predict's", file=sys.stderr)
        return 130
    defective = int((frame["prediction"] == "defective").sum())
    print(f"{counted(scored, 'image')} scored at threshold {exact_number(threshold)} "
          f"({threshold_source}): {defective} defective, "
          f"{scored - defective} good" + (f"; {counted(len(skipped), 'file')} not scored (listed below and in "
                                          f"predictions.csv)" if skipped else ""))
    if not_chosen is not None:
        print(not_chosen)
    unlike = int((frame["unlike_training"] != "").sum())
    if unlike:
        print(scored_unlike_training_note(unlike, scored, "see unlike_training in predictions.csv"))
    if (learnt := learnt_from_note(run, frame)):
        print(learnt)
    _print_skipped(skipped)
    unsearched = sub_folders(args.input)
    if unsearched:
        print(f"not searched: {counted(len(unsearched), 'sub-folder')} of {args.input} "
              f"({', '.join(folder.name for folder in unsearched[:5])}{', ...' if len(unsearched) > 5 else ''}); "
              f"give one as --input to score its images")
    if run.report.get("training_capture_ranges") is None:
        print(CAPTURE_NOT_CHECKED_NOTE)
    print(out / "predictions.csv")  # the last line on the standard output
    if scored == 0:  # every image was skipped: nothing was inspected, which is not a success
        print(_nothing_scored(args.input), file=sys.stderr)
        return 2
    if not args.fail_on_defect:
        return 0
    with_images = [folder for folder in unsearched if _holds_images(folder, out)]  # not predict's own --out, nor
    failed = [text for count, text in (  # an empty folder (code review: a good part failed beside them)
        (defective, f"{counted(defective, 'image')} judged defective"),
        (len(skipped), f"{counted(len(skipped), 'file')} not scored"),
        (unlike, f"{counted(unlike, 'image')} unlike the training images"),
        (len(with_images), f"{counted(len(with_images), 'sub-folder')} with images not searched ("
                           f"{', '.join(folder.name for folder in with_images[:5])}"
                           f"{', ...' if len(with_images) > 5 else ''})")) if count]  # named (browser review)
    if failed:  # why a line's script sees 1 (it had to be inferred from the output)
        print(f"--fail-on-defect: exit status 1: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def _holds_images(folder: Path, out: Path) -> bool:
    """Whether ``folder`` holds an image file, at any depth, outside ``out`` (predict's own results)."""
    results = out.resolve()
    return any(is_image_path(path) and path.is_file() and results not in (path.resolve(), *path.resolve().parents)
               for path in folder.rglob("*"))


def _nothing_scored(given: str) -> str:
    """The error of a predict that could score no image of ``given`` (a folder or one image file)."""
    return f"error: {given} could not be scored" if Path(given).is_file() else \
        f"error: no image of {given} could be scored"


#: --preset choices: the Threshold page's presets (see _chosen_threshold)
THRESHOLD_PRESETS = ("f1", "youden", "min-cost", "false-alarms")


def _chosen_threshold(args: argparse.Namespace, run: Run, costs: LineCosts, max_rate: float,
                      saved_threshold: tuple[float, dict]) -> tuple[float, str]:
    """(threshold, source) from --value, --preset (the Threshold page's presets, on the page's grid: the page
    and the command give and save the same value) or the run's ``saved_threshold`` (read by the caller:
    :attr:`~vqi_core.runs.Run.saved_threshold`)."""
    if args.value is not None:
        return args.value, "manual"
    threshold, saved = saved_threshold
    if args.preset is None:
        return threshold, saved.get("source", "saved")
    presets = threshold_presets(run.labels, run.score_values, max_rate, costs)
    name = _preset_name(args.preset, max_rate)
    if name not in presets:
        needed = "good" if args.preset == "false-alarms" else "both good and defective"
        raise ValueError(f"the preset {args.preset} needs {needed} images in the run's test set")
    axis = slider_axis(run.score_values, threshold)
    return axis.snap_preset(presets[name], threshold), preset_source(name, costs)


def _preset_name(preset: str, max_rate: float) -> str:
    """The Threshold page's name of the preset chosen with --preset."""
    return {"f1": F1_OPTIMAL, "youden": YOUDEN, "min-cost": MINIMUM_COST,
            "false-alarms": false_alarm_preset_name(max_rate)}[preset]


def _held_out_line(args: argparse.Namespace, run: Run, costs: LineCosts, max_rate: float) -> str | None:
    """How the chosen preset does on images it was not chosen on (None without a preset, or too few images)."""
    if args.preset is None or args.value is not None:
        return None
    rule = preset_rules(run.labels, max_rate, costs)[_preset_name(args.preset, max_rate)]
    held = held_out_counts(run.labels, run.score_values, rule)
    if held is None:
        return None
    return (f"chosen on other images ({held.folds}-fold, held out): {held.false_alarms} of "
            f"{counted(held.good, 'good part')} rejected, {held.escapes} of "
            f"{counted(held.defective, 'defective part')} passed; the rates above are measured "
            f"on the images the threshold was chosen on")


def _earlier_overlays(out: Path) -> set[str]:
    """The overlay files in ``out`` that its earlier predictions.csv names (an earlier predict's own output);
    none when there is no such CSV or it cannot be read."""
    try:
        names = pd.read_csv(out / "predictions.csv", usecols=["image"], dtype=str, keep_default_na=False)["image"]
    except (OSError, ValueError, UnicodeDecodeError):  # missing, or not a predictions table: nothing is removed
        return set()
    overlays = (overlay_file_name(spreadsheet_text(name)) for name in names)
    return {overlay for overlay in overlays if Path(overlay).name == overlay and (out / overlay).is_file()}


def _saved_by(args: argparse.Namespace) -> str:
    """Who saves a threshold or a box level: ``--by``, else the account that runs the command ("" where the system
    cannot say); ``ValueError`` for ``--by`` without ``--save`` or empty."""
    if args.by is not None and not args.save:
        raise ValueError("--by says who saved a threshold or box level: use it with --save")
    if args.by is not None:
        if not args.by.strip():  # saved with no name at all, where leaving --by out records the account's (review)
            raise ValueError("--by is empty: give the name of who saves it, or leave --by out to record the "
                             "account's name")
        return checked_name(args.by)
    try:
        return getpass.getuser()
    except (KeyError, OSError, ImportError):  # no name for the account (a container's bare user id)
        return ""


def _threshold(args: argparse.Namespace) -> int:
    if args.reason and not args.save:
        raise ValueError("--reason says why a saved threshold changed: use it with --save")
    saved_by = _saved_by(args)
    run = Run(Path(args.run))
    run.check()  # a damaged run ends here: a threshold saved into it would be used by nothing
    saved_threshold = run.saved_threshold  # read once: the threshold, its source and the costs it was saved at
    saved_costs = recorded_costs(saved_threshold[1])  # the defaults of the costs not given, and said beside them
    max_rate, costs = threshold_options(args, saved_costs, saved_false_alarm_rate(saved_threshold[1]))
    if args.max_false_alarms is not None and args.preset != "false-alarms":  # ignored without a word (review)
        raise ValueError("--max-false-alarms sets the preset 'at most X % false alarms': use it with --preset "
                         "false-alarms")
    value, source = _chosen_threshold(args, run, costs, max_rate, saved_threshold)
    _check_threshold(value)
    if args.decisions:
        _refuse_inside_a_run_or_category(Path(args.decisions), "--decisions")
        check_output_file(Path(args.decisions))  # before anything is printed or saved
    if args.save:
        checked_reason(args.reason)  # refused before anything is printed or written
    point = ThresholdEvaluator(run.labels, run.score_values).evaluate(value)
    print(f"threshold {exact_number(value)} ({source}) on {counted(len(run.labels), 'evaluated test image')} of run "
          f"{run.id}")
    print(f"{'':<16}{'passed':>8}{'rejected':>10}")
    print(f"{'good part':<16}{point.tn:>8}{point.fp:>10}")
    print(f"{'defective part':<16}{point.fn:>8}{point.tp:>10}")
    print(cost_sentence(point))
    print(", ".join(f"{name.lower()} {percent(rate)}" for name, rate in rate_numbers(point).items()
                    if name in ("Precision", "Recall", "F1", "Accuracy")))
    print(line_cost_sentence(point, costs))
    entered = _costs_entered(args)
    print(costs_assumed(costs, saved_costs, entered, saved_costs_entered(saved_threshold[1])))
    if costlier := costlier_than_unchecked(point, costs, source):
        print(f"Warning: {costlier}")
    held_out = _held_out_line(args, run, costs, max_rate)
    if held_out:
        print(held_out)
    if args.decisions:
        created = missing_folders(Path(args.decisions).parent)
        write_bytes_atomic(Path(args.decisions), decisions_csv(run, value))
        print(f"decisions at {exact_number(value)} written to {args.decisions}{_created(created)}")
    interrupted: list[int] = []  # scores.csv and threshold.json are written together or not at all
    saved = args.save and run.save_threshold(value, source, args.reason, interrupted, costs, saved_by,
                                             costs_typed_in(entered, saved_costs, saved_threshold[1]))
    if saved:
        print(f"saved in {run.path}{by_whom(saved_by)}: predict and scores.csv use it from now on")
    elif args.save:
        print(f"{exact_number(value)} is the saved threshold already: nothing changed (--reason records why it stays)")
    if interrupted:
        print(f"interrupted once the threshold was saved: {run.path}" if saved else "interrupted", file=sys.stderr)
        return 130
    if args.history:
        print("threshold history, newest first (the first in effect):")  # as the pages and the report list it
        for entry in run.threshold_history.iloc[::-1].itertuples():
            print(f"  {saved_time(entry.saved_at) or 'when not recorded'}  {exact_number(entry.threshold)}  "
                  f"({entry.source})" + (f"  by {entry.saved_by}" if entry.saved_by else "")
                  + (f"  at costs: {entry.costs}" if entry.costs else "")
                  + (f"  {entry.reason}" if entry.reason else ""))
    return 0


def _boxes(args: argparse.Namespace) -> int:
    if args.reason and not args.save:
        raise ValueError("--reason says why a saved box level changed: use it with --save")
    saved_by = _saved_by(args)
    run = Run(Path(args.run))
    run.check()  # a damaged run ends here
    saved_info = run.box_level_info  # read once: the level used and the one said to be saved agree
    saved_value = float(saved_info["level"])
    level = saved_value if args.level is None else checked_box_level(args.level)
    if args.save:
        checked_reason(args.reason)  # refused before anything is printed or written
    data = run_box_data(run, run.normalization)
    counts, by_type = data.hits(level)
    saved_level = (f"saved: {exact_number(saved_value)}" if saved_info.get("saved_at") else  # not "saved: 1" (review)
                   f"none saved: {exact_number(saved_value)}, the default")
    print(f"box level {exact_number(level)} on {counted(len(run.labels), 'evaluated test image')} of run {run.id} "
          f"({saved_level})")
    print(boxes_sentence(counts, level) or "nothing to check the boxes against: the run's test set has no good "
                                           "image and no ground-truth mask")
    if (low_level := box_level_warning(counts, level, run.metrics.get("normalisation_images"), BOXES_COMMAND)):
        print(f"Warning: {low_level}")
    for name, entry in by_type.items():
        if (boxed := regions_boxed_text(entry)) is not None:  # a type whose masks mark no defect pixel: none
            print(f"  {name}: {boxed} defect regions boxed")
    for problem in data.unreadable_masks:
        print(f"mask not used, counted as unknown: {problem}")
    saved = args.save and run.save_box_level(level, args.reason, saved_by)
    if saved:
        print(f"saved in {run.path}{by_whom(saved_by)}: every overlay of the run draws boxes above "
              f"{exact_number(level)} from now on")
    elif args.save:
        print(f"{exact_number(level)} is the saved box level already: nothing changed (--reason records why it stays)")
    return 0


def _check_threshold(value: float) -> None:
    """A threshold must be a finite number (infinity would pass or reject every part, whatever it looks like)."""
    if not math.isfinite(value):
        raise ValueError(f"a threshold must be a finite number, not {value}")


def _report(args: argparse.Namespace) -> int:
    run = Run(Path(args.run))
    max_rate, costs = threshold_options(args, run.threshold_costs, saved_false_alarm_rate(run.saved_threshold[1]))
    if args.threshold is not None:
        _check_threshold(args.threshold)
    _refuse_inside_a_run_or_category(Path(args.out), "--out")
    document = run_report_html(run, args.threshold, costs, max_rate, source="given with --threshold",
                               costs_entered=_costs_entered(args))
    created = missing_folders(Path(args.out).parent)
    write_bytes_atomic(Path(args.out), document.encode("utf-8"))
    if (missing := missing_dataset_note(run)) is not None:
        print(f"note: {missing}", file=sys.stderr)
    if created:  # the path stays the last line printed
        print(f"note: created {_created_folders(created)} for the report", file=sys.stderr)
    print(args.out)
    return 0


def _split(args: argparse.Namespace) -> int:
    _refuse_inside_a_run_or_category(Path(args.out), "--out")  # as every other output (command review: a split
    category = load_category(category_path(args.data, args.category))  # written into a run was deleted with it)
    check_split_target(category, Path(args.out))  # before every image is decoded and grouped
    created = missing_folders(Path(args.out).parent)  # the folders above the new category folder
    progress = TerminalProgress()
    try:
        split = split_by_part(category, args.test_fraction, args.seed, progress, args.bit_depth)
    finally:
        progress.close()
    out = write_split(category, split, args.out)
    sizes = [len(group) for group in split.groups]
    defective = [s for s in category.test if s.defect_type != "good"]
    masks = sum(s.mask_path is not None for s in defective)
    print(f"{counted(sum(sizes), 'good image')} in {counted(len(sizes), 'group')} of look-alike photos "
          f"(largest {max(sizes)}, "
          f"{sizes.count(1)} alone)")
    kept = ([counted(len(defective), 'defective test image')] if defective else []) + (
        [counted(masks, 'mask')] if masks else [])
    print(f"train/good {len(split.train)}, test/good {len(split.test)}; "
          + (f"{' and '.join(kept)} {'as it was' if len(defective) + masks == 1 else 'as they were'}" if kept
             else "no defective test image (the category has none)"))
    _print_skipped(split.skipped)
    if created:  # the new category folder stays the last line printed (README review: made silently)
        print(f"note: created {_created_folders(created)} for the split category", file=sys.stderr)
    print(out)
    return 0


def _check(args: argparse.Namespace) -> int:
    progress = TerminalProgress()
    try:
        category, check, training_notes = check_dataset(args.data, args.category, progress, args.bit_depth)
    finally:
        progress.close()
    labels = [label_name(s) for s in category.test]
    skipped = {Path(item["file"]) for item in category.skipped}
    listed = {sample.path for sample in [*category.train, *category.test]}

    def images_in(samples: list[Sample], folder: Path) -> str:
        """How many image files the folder holds (by their names' suffixes), how many of them are unreadable
        (refused once decoded, or already when listed: empty, or no image data), and its other files, not read
        (found by reviews: "6 images (1 unreadable)" stood beside 4 files skipped there, and a damaged .png was
        counted with the text files)."""
        refused = [path for path in skipped if path.parent == folder and path not in listed]
        unlisted_images = sum(is_image_path(path) and not path.is_dir() for path in refused)  # a folder "lot7.png"
        count = sum(s.path in skipped for s in samples) + unlisted_images
        others = len(refused) - unlisted_images
        said = [f"{count} unreadable"] * bool(count) + [f"{counted(others, 'other file')} not read"] * bool(others)
        return counted(len(samples) + unlisted_images, "image") + (f" ({'; '.join(said)}: listed below)" if said
                                                                    else "")

    print(f"category {category.name} ({category.root})")
    print(f"  train/good: {images_in(category.train, category.root / 'train' / 'good')}")
    has_test = (category.root / "test").is_dir()
    if not has_test:  # (command review: "test/good: 0 images" as if it were there)
        print("  test: missing (expected test/good/<images> and test/<defect_type>/<images>)")
    for defect_type in ["good", *category.defect_types] if has_test else []:
        samples = [s for s in category.test if s.defect_type == defect_type]
        masks = sum(s.mask_path is not None for s in samples)
        print(f"  test/{defect_type}: {images_in(samples, category.root / 'test' / defect_type)}"
              + (f", {masks} with a mask" if masks else ""))
    _print_skipped(category.skipped)
    for note in training_notes:
        print(note)
    copies = check.copies_of_train + check.repeats_in_test
    if not check.test_images:
        print("nothing to check: there is no readable test image")
    elif not copies:
        print(no_copies_line(check.test_images, check.train_images))
    if (unchecked := one_class_note(labels, check.test_images)) is not None:
        print(unchecked)
    notes = check.notes(labels)  # the copies' note first (where there are copies), then the look-alikes', the cues'
    if copies:  # each note with its list (command review: the cues' note had stood between copies and their list)
        print(notes.pop(0))
        for entry in copies:
            print(f"  {entry['test']} ({entry['label']}) copies {entry['copy']} ({entry['copy_label']}), "
                  f"RMSE {entry['rmse']:.3f}")
    if check.look_alikes_stand_out:
        print(notes.pop(0))
        for entry in check.look_alikes:
            print(f"  {entry['test']} ({entry['label']}) looks like {entry['look_alike']}, "
                  f"likeness {entry['likeness']:.3f}")
    for note in notes:
        print(note)
    for line in (check.look_alike_line(), check.cues_line()):
        if line:
            print(line)
    return 1 if args.fail_on_copies and copies else 0


def _runs(args: argparse.Namespace) -> int:
    store = RunStore(args.runs)
    store.check_not_in_a_run()
    if args.out and not args.export:
        raise RunError("--out names the archive that --export writes; give --export RUN_ID with it")
    if args.delete is not None:
        print(f"deleted {store.delete(args.delete)}")
        return 0
    interrupted: list[int] = []  # signals held off once something is written, to say so
    if args.export is not None:
        run_id = store.run_name(args.export)
        out = Path(args.out or f"{run_id}.zip")
        _refuse_inside_a_run_or_category(out, "--out")
        if out.suffix.lower() != ".zip" or out.is_dir():  # found by review: any file named was replaced by the zip
            raise ValueError(f"--out {out} is {'a folder' if out.is_dir() else 'not a .zip file'}: name the archive "
                             f"to write, e.g. {run_id}.zip")
        created = missing_folders(out.parent)
        target = export_run_file(store.get(run_id), out)
        with interrupts_held(interrupted):  # written: an interrupt now must not be told as "not written" (review)
            print(f"wrote {target} ({target.stat().st_size / 1024 ** 2:.1f} MB){_created(created)}")
            print(f"SHA-256 {archive_sha256(target)} (record it with the approval; compare it where the run is "
                  f"imported)")
        if interrupted:
            print(f"interrupted once the archive was written: {target}", file=sys.stderr)
            return 130
        return 0
    if args.import_archive is not None:
        try:
            run = import_run(Path(args.import_archive), store)
        except InterruptedOnceWritten as exc:  # the run is there all the same: said, with its folder
            run = exc.run
            interrupted.append(signal.SIGINT)
        except AlreadyImported as exc:  # the validated run is there: done, not an error (review)
            print(f"{exc}; the archive's SHA-256 is {archive_sha256(args.import_archive)}")
            print(store.root / exc.run_id)
            return 0
        with interrupts_held(interrupted):
            print(f"imported {run.id} into {store.root} from an archive with SHA-256 "
                  f"{archive_sha256(args.import_archive)}")
            print(run.path)
        if interrupted:
            print(f"interrupted once the run was imported: {run.path}", file=sys.stderr)
            return 130
        return 0
    if args.describe:
        run_id, text = store.run_name(args.describe[0]), args.describe[1]
        run = store.get(run_id)
        had_one = bool(run.description)
        changed = run.describe(text)
        with interrupts_held(interrupted):
            print(f"{run_id}'s description is that text already: nothing written" if not changed and text.strip()
                  else f"described {run_id}" if text.strip() else f"removed the description of {run_id}" if had_one
                  else f"{run_id} has no description: nothing to remove")  # (command review: "removed" it)
        if interrupted:
            print(f"interrupted once the description was written: {run_id}", file=sys.stderr)
            return 130
        return 0
    runs = store.list()
    for folder in store.incomplete_folders():
        print(f"not a complete run ({incomplete_run_files(folder)}, not listed; remove the folder by hand if it "
              f"should go): {folder}", file=sys.stderr)
    for folder in store.staging_folders():
        print(f"not a run yet: {folder}, a run being written or deleted, or left by an interrupted command (train, "
              f"an import and a deletion remove it once it is an hour old)", file=sys.stderr)
    if not runs:
        above = next((folder for folder in store.root.parents if folder.exists()), None)
        if not store.root.is_dir() and above is not None and not above.is_dir():  # it could never be created
            raise RunError(f"the runs folder {store.root} cannot exist: {above} is a file, not a folder")
        print(f"no runs in {store.root}" + ("" if store.root.is_dir() else " (the folder does not exist yet)")
              + _runs_below(store.root))
        return 0
    print(f"{'run':<52} {'method':<10} {'backbone':<18} {'image AUROC':>11} {'pixel AUROC':>11} {'fit s':>7}  "
          f"settings | test set check")
    for run in runs:
        problem = run.problem()
        if problem is not None:  # listed, so that it can be found and deleted; the others still listed
            print(f"{padded(run.id, 52)} cannot be read: {problem}")
            continue
        m, config = run.metrics, run.config
        backbone = str(config.get("params", {}).get("backbone"))
        print(f"{padded(run.id, 52)} {config['method']:<10} {backbone:<18} {fraction(m.get('image_auroc')):>11} "
              f"{fraction(m.get('pixel_auroc')):>11} {figure(m.get('fit_seconds'), 1):>7}  "
              f"{changed_settings(config)} | {findings_line(run.report.get('split_check'))}")
        threshold, saved = run.saved_threshold  # whether anyone chose it, as the dashboard's run tables say (review)
        timing = f" · {m['ms_per_image']:.1f} ms/image" if m.get("ms_per_image") is not None else ""
        print(f"  saved threshold {exact_number(threshold)} ({saved_source(saved)}) · box level "
              f"{exact_number(run.box_level)}{timing}")
        if run.renamed:  # listed as it is, but export refuses it (its archive would not import)
            print(f"  renamed: saved as run {config['run_id']}; rename the folder back to export it"
                  if config.get("run_id") else f"  its {CONFIG_FILE} names no run: it cannot be exported")
        if run.description:
            print(f"  {' '.join(run.description.split())}")  # on one line
    return 0


def _created_folders(created: list[Path]) -> str:
    """The folders :func:`~vqi_core.runs.missing_folders` found missing, as said once they are made: the one that
    holds what was written, and the highest where folders above it were made too (only the highest had been named,
    not where the results are: command review)."""
    holder, highest = created[0].absolute(), created[-1].absolute()
    return f"the folder {holder}" + (f" (and the folders above it, from {highest})" if holder != highest else "")


def _created(created: list[Path]) -> str:
    """Said after a written file's name where its folders had to be created: a mistyped path had quietly made a tree
    of folders (command review)."""
    return f" (created {_created_folders(created)} for it)" if created else ""


def padded(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` terminal columns, a wide character (CJK) counted as two (a category
    named ガラス had shifted the runs table: bad-input review)."""
    columns = sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)
    return text + " " * max(0, width - columns)


def negative_numbers_attached(argv: Sequence[str]) -> list[str]:
    """``argv`` with a negative number after an option joined to it (``--value -1e-3`` becomes
    ``--value=-1e-3``): argparse takes ``-0.5`` as a value but ``-1e-3`` as an unknown option."""
    joined: list[str] = []
    for arg in argv:
        if joined and joined[-1].startswith("--") and "=" not in joined[-1] and arg.startswith("-"):
            try:
                float(arg)
            except ValueError:
                pass
            else:
                joined[-1] = f"{joined[-1]}={arg}"
                continue
        joined.append(arg)
    return joined


def error_text(exc: BaseException) -> str:
    """An error as one line for people: the file and the system's reason for an operating-system error
    ("out/predictions.csv: Read-only file system", not "[Errno 30] ..."), the message of any other."""
    if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
        if exc.filename is None:
            return exc.strerror
        return f"{exc.filename}: {exc.strerror}" + (f" (to {exc.filename2})" if exc.filename2 is not None else "")
    return str(exc)


#: options that name a file or folder (``--import``'s is stored as ``import_archive``)
PATH_OPTIONS = ("data", "runs", "run", "out", "input", "decisions", "region", "import_archive")
#: the options that name a file to write, by command
FILE_OUTPUTS = {"report": "out", "runs": "out", "threshold": "decisions", "evaluate": "decisions"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code. Errors in the input are reported in one line, exit code 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Python 3.11's argparse stores "--option=--" as an empty list, past the option's type check (command review:
    # a TypeError's traceback); options end at a bare "--"
    for token in argv[:argv.index("--") if "--" in argv else len(argv)]:
        if re.fullmatch(r"--[A-Za-z][\w-]*=--", token):
            build_parser().error(f"{token[:-3]} needs a value: \"--\" is none")
    args = build_parser().parse_args(negative_numbers_attached(argv))
    for option in PATH_OPTIONS:  # a quoted ~ (or one from a script) is the home folder, as the shell would read it
        value = getattr(args, option, None)
        if isinstance(value, str) and not value.strip():  # Path("") is the current folder: an unset $OUT in a script
            print(f"error: --{option.replace('_', '-')} is empty: name a path", file=sys.stderr)
            return 2
        if isinstance(value, str) and value.startswith("~"):  # ~user too, read the same way everywhere (code
            try:  # review: "~nobody/r.html" was written to a folder named "~nobody" here)
                setattr(args, option, str(home_expanded(value)))
            except FileNotFoundError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
    written = getattr(args, FILE_OUTPUTS.get(args.command, ""), None)
    if isinstance(written, str) and written.endswith(("/", os.sep)):  # Path() would drop it and write a file there
        print(f"error: --{FILE_OUTPUTS[args.command]} {written} names a folder (it ends with {written[-1]}): name a "
              f"file to write", file=sys.stderr)
        return 2
    handlers = {"train": _train, "evaluate": _evaluate, "predict": _predict, "threshold": _threshold,
                "boxes": _boxes, "report": _report, "check": _check, "split": _split, "runs": _runs}
    try:
        with sigterm_as_ctrl_c():
            return handlers[args.command](args)
    except BrokenPipeError:  # the output's reader has stopped (`| head`): not an input error
        try:  # Python's own flush of standard output at exit would fail too
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # no file descriptor behind sys.stdout (captured)
            pass
        return 141  # as a shell reports a command ended by SIGPIPE
    except (*EXPECTED_ERRORS, OSError) as exc:  # the dashboard's expected errors, and files it cannot write
        print(f"error: {error_text(exc)}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # Python 3.11's Path.resolve() on a loop of links (an OSError from 3.13 on)
        if not str(exc).startswith("Symlink loop"):
            raise
        print(f"error: {exc}: a path given is a loop of symbolic links", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        out = getattr(args, "out", "")
        unchanged = {"predict": f"predictions.csv and the overlays in {out} are as they were",
                     "train": "no run was written", "split": f"{out} was not written",
                     "report": f"{out} was not written",
                     "evaluate": "nothing was written", "check": "nothing was written"}.get(args.command)
        if args.command == "runs":
            unchanged = _runs_unchanged(args)
        print(f"interrupted: {unchanged}" if unchanged else "interrupted", file=sys.stderr)
        return 130


def _runs_below(folder: Path) -> str:
    """Where ``folder`` holds no run, the first of its sub-folders that holds runs, said after "no runs in ..." (a
    runs folder one level down went unmentioned: command review); "" where none does."""
    try:
        children = sorted(folder.iterdir())
    except OSError:  # not there, or not readable
        return ""
    for child in children:
        if child.is_dir() and (held := runs_held(child)):
            return (f"; {counted(len(held), 'run')} in its sub-folder {child.name}: give --runs "
                    f"{shlex.quote(str(child))}")
    return ""


def _runs_unchanged(args: argparse.Namespace) -> str | None:
    """What an interrupted ``runs`` command left as it was (each of its writes is atomic); None for a deletion,
    which may have happened (found by review: an interrupted export said only "interrupted")."""
    if args.export is not None:
        return f"{args.out or 'the archive'} was not written (a file there before is as it was)"
    if args.import_archive is not None:
        return "no run was imported"
    if args.describe is not None:
        return "the description is as it was"
    return None if args.delete is not None else "nothing was changed"
