"""Translation benchmark: the RNN with attention and the transformer on the Tatoeba English-Spanish pairs.

Both recipes train here, one after the other, on the same split (`zoo.data.load_translation`, seed 0: no
sentence in two splits), with the same joint SentencePiece tokenizer learnt on the training pairs, and are
scored on the same test pairs with sacrebleu's corpus BLEU and chrF on detokenised output, decoding
greedily and with beam search (beam 4, GNMT length penalty 0.6). No Keras or TensorFlow tutorial
publishes BLEU for this data, so the table is the reference later runs compare with. Rows:

- `recipes.translation --preset spa-eng`: bidirectional GRU encoder, GRU decoder, Bahdanau attention.
- `recipes.transformer --preset spa-eng`: keras-hub encoder and decoder blocks.

for each direction asked (`--directions eng-spa spa-eng`; eng-spa alone by default: each row trains for
up to the recipe's preset, about half an hour here). Reported per row: greedy and beam BLEU and chrF on
the test pairs, beam's gain over greedy, training seconds (validation and per-epoch BLEU included),
training target tokens per second, and decoding seconds for the test pairs. BLEU is scored against
each test pair's own reference; "all references" scores each distinct source once against all of its
Tatoeba translations in the test split (`zoo.seq2seq.translation_scores`). Writes
`benchmarks/results/translation.json` and `benchmarks/results/translation.md`; `--update` keeps the rows
of an earlier run that this run does not train.

    ZOO_DATA_DIR=../shared/data python -m benchmarks.translation
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform

from recipes import transformer, translation
from zoo.progress import step

RESULTS = pathlib.Path(__file__).parent / "results"
RUNS = pathlib.Path(__file__).parent / "runs"
RECIPES = {"rnn_attention": translation, "transformer": transformer}
KEYS = (
    "test_greedy_bleu", "test_greedy_chrf", "test_beam_bleu", "test_beam_chrf", "test_greedy_seconds",
    "test_beam_seconds", "train_seconds", "epochs", "best_val_bleu", "train_target_tokens_per_epoch",
    "test_pairs", "test_greedy_multiref_bleu", "test_beam_multiref_bleu",
)  # fmt: skip


def run(name: str, direction: str, extra: list[str]) -> dict[str, float]:
    source, target = direction.split("-")
    argv = ["--preset", "spa-eng", "--source", source, "--target", target, "--no-export",
            "--output-dir", str(RUNS / f"{name}_{direction}"), "--overwrite", *extra]  # fmt: skip
    metrics = RECIPES[name].main(argv)
    row = {key: metrics[key] for key in KEYS if key in metrics}
    row["beam_gain_bleu"] = row["test_beam_bleu"] - row["test_greedy_bleu"]
    row["train_tokens_per_second"] = (
        row["train_target_tokens_per_epoch"] * row["epochs"] / max(row["train_seconds"], 1e-9)
    )
    return row


def markdown(results: dict) -> str:
    lines = [
        "| recipe | direction | greedy BLEU | beam BLEU | beam gain | beam BLEU, all references "
        "| greedy chrF | beam chrF | train s | epochs | train tokens/s | greedy decode s | beam decode s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, row in results["rows"].items():
        name, direction = key.split(":")
        lines.append(
            f"| {name} | {direction.replace('-', '->')} | {row['test_greedy_bleu']:.1f} | "
            f"{row['test_beam_bleu']:.1f} | {row['beam_gain_bleu']:+.1f} | "
            f"{row['test_beam_multiref_bleu']:.1f} | {row['test_greedy_chrf']:.1f} | "
            f"{row['test_beam_chrf']:.1f} | {row['train_seconds']:.0f} | {row['epochs']} | "
            f"{row['train_tokens_per_second']:.0f} | {row['test_greedy_seconds']:.0f} | "
            f"{row['test_beam_seconds']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", nargs="*", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--directions", nargs="*", default=["eng-spa"], choices=["eng-spa", "spa-eng"])
    parser.add_argument("--flags", default="", help="extra flags for both recipes, quoted")
    parser.add_argument("--update", action="store_true", help="keep earlier rows this run does not train")
    args = parser.parse_args()
    path = RESULTS / "translation.json"
    results: dict = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "rows": {}}
    if args.update and path.exists():
        results["rows"] = json.loads(path.read_text())["rows"]
    for direction in args.directions:
        for name in args.recipes:
            with step(f"benchmark row: {name}:{direction}"):
                results["rows"][f"{name}:{direction}"] = run(name, direction, args.flags.split())
            RESULTS.mkdir(exist_ok=True)  # written after every row: a later crash keeps the earlier ones
            path.write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (RESULTS / "translation.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
