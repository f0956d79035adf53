"""Speech benchmark: CTC recognition of connected spoken digits (FSDD) and of LJ Speech sentences.

Rows, each trained here by `recipes.speech_ctc` and scored on its test split with `zoo.metrics.error_rates`
(corpus WER and CER, as jiwer computes them):

- fsdd-digits: strings of 2-7 digits joined from FSDD clips of one speaker (`--preset fsdd-digits`), with
  speaker "theo" held out of training: test WER on the five seen speakers (test strings built only from
  the official test recordings) and on the unseen speaker. Goal: seen-speaker WER <= 5% within 15 minutes
  of training on 2 CPU cores.
- ljspeech: the sentences of the LJ Speech subset on disk (`--preset ljspeech`), test CER beside the
  character-frequency baseline: the best transcript that ignores the audio, the training set's most common
  character repeated to the mean training length, or nothing (CER 1.0), whichever scores lower.

Writes `benchmarks/results/speech.json` and `benchmarks/results/speech.md`.

    ZOO_DATA_DIR=../shared/data python -m benchmarks.speech [--skip ljspeech]

A skipped task keeps the row it has in an existing results file.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import platform

import zoo.metrics
from recipes import speech_ctc
from zoo.progress import step

RESULTS = pathlib.Path(__file__).parent / "results"
RUNS = pathlib.Path(__file__).parent / "runs"
KEYS = ("test_cer", "test_wer", "test_beam_cer", "test_beam_wer", "train_seconds", "epochs")


def run(name: str, flags: list[str]) -> dict:
    metrics = speech_ctc.main(
        [*flags, "--output-dir", str(RUNS / f"speech_{name}"), "--overwrite", "--no-export"]
    )
    return {key: value for key, value in metrics.items() if key in KEYS or key.startswith("unseen_")}


def frequency_baseline(config: speech_ctc.Config) -> dict:
    """CER and WER of the best audio-blind transcript (see the module docstring)."""
    data = speech_ctc.load_data(config)
    train = data.references["train"]
    counts = collections.Counter(char for text in train for char in text)
    length = round(sum(map(len, train)) / len(train))
    guess = counts.most_common(1)[0][0] * length
    test = data.references["test"]
    candidates = [zoo.metrics.error_rates(test, [text] * len(test)) for text in (guess, "")]
    return min(candidates, key=lambda rates: rates["cer"])


def markdown(results: dict) -> str:
    lines = [
        "| task (test split) | CER greedy | WER greedy | CER beam | WER beam | unseen speaker WER | train s "
        "| epochs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in results["rows"].items():
        unseen = f"{row['unseen_speaker_test_wer']:.4f}" if "unseen_speaker_test_wer" in row else ""
        lines.append(
            f"| {name} | {row['test_cer']:.4f} | {row['test_wer']:.4f} | {row['test_beam_cer']:.4f} | "
            f"{row['test_beam_wer']:.4f} | {unseen} | {row['train_seconds']:.0f} | {row['epochs']} |"
        )
    for name, row in results.get("baselines", {}).items():
        lines.append(f"| {name} | {row['cer']:.4f} | {row['wer']:.4f} | | | | | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip", nargs="*", default=[], choices=["fsdd-digits", "ljspeech"])
    args = parser.parse_args()
    results: dict = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "rows": {}}
    previous = RESULTS / "speech.json"
    if previous.exists():  # rows of skipped tasks keep their last measured values
        results["rows"] = json.loads(previous.read_text()).get("rows", {})
        results["baselines"] = json.loads(previous.read_text()).get("baselines", {})
    if "fsdd-digits" not in args.skip:
        flags = ["--preset", "fsdd-digits", "--held-out-speaker", "theo"]
        title = "FSDD connected digits (5 seen speakers; theo unseen)"
        with step(f"benchmark row: {title}"):
            results["rows"][title] = run("fsdd_digits", flags)
    if "ljspeech" not in args.skip:
        with step("benchmark row: LJ Speech subset"):
            results["rows"]["LJ Speech subset"] = run("ljspeech", ["--preset", "ljspeech"])
        config = speech_ctc.Config(**speech_ctc.Config.PRESETS["ljspeech"])
        results["baselines"] = {"LJ Speech: character-frequency baseline": frequency_baseline(config)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "speech.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (RESULTS / "speech.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
