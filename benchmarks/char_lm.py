"""Character LM benchmark: our LSTM, GRU and transformer on tinyshakespeare beside nanoGPT's CPU setting.

Rows, all trained here, one after another, on the first 90% of tinyshakespeare and scored on the last 10%
(cross-entropy in nats per character, as nanoGPT reports it):

- ours, LSTM: `recipes.char_lm --preset shakespeare` (2 x 256 stateful LSTM, truncated BPTT over 100
  characters, batches of 64 streams), stopped by its `--max-train-minutes 20` budget if the epochs take
  longer.
- ours, GRU: the same with `--cell gru`.
- ours, transformer: `--preset shakespeare-transformer` (nanoGPT's model with context 128 and batches of
  32), same budget.
- nanoGPT CPU reference, rebuilt in Keras: `--preset nanogpt-cpu`, nanoGPT's
  `config/train_shakespeare_char.py` with the CPU overrides of its README (4 layers, 4 heads, n_embd 128,
  block_size 64, batch_size 12, 2,000 iterations, dropout 0.0, AdamW 1e-3 with beta2 0.99 and weight
  decay 0.1, 100 warm-up iterations, cosine decay to 1e-4 over 2,000, gradient clipping 1.0), where
  nanoGPT reports "val loss 1.88". No time budget: it runs its 2,000 iterations.

Each row also scores its validation characters under interpolated Kneser-Ney count models of the training
text (unigram, bigram, trigram) and reports the bits per character the model saves over each. The RNN rows
read the validation text as streams with carried state; the transformer rows read consecutive
windows of their context and average over every position, which is what nanoGPT's `estimate_loss` samples.
The issue's goal: validation loss <= 1.60 nats/char within 20 minutes of training, below the nanoGPT
reference. The ratio column is each row's validation loss over the reference row's (below 1 is better).

Writes `benchmarks/results/char_lm.json` and `benchmarks/results/char_lm.md`; `--skip NAME ...` leaves rows
out and, with `--update`, those rows keep their figures from the existing JSON. `--quick` is a smoke test:
every row for a few batches on 30,000 characters; it writes under benchmarks/runs/ only.

    ZOO_DATA_DIR=../shared/data python -m benchmarks.char_lm
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import platform

from recipes import char_lm
from zoo.progress import step

RESULTS = pathlib.Path(__file__).parent / "results"
RUNS = pathlib.Path(__file__).parent / "runs"
PUBLISHED_NANOGPT_CPU = 1.88  # nanoGPT README, "baby GPT" on a MacBook CPU: "val loss 1.88"
BUDGET_SECONDS = 20 * 60
KEYS = ("val_loss", "val_bits_per_char", "val_perplexity", "train_seconds", "epochs", "parameters")
# The same validation characters under count models of the training text (`zoo.language_model.ngram_bits`).
NGRAM_KEYS = tuple(f"val_{order}_bits_per_char" for order in ("unigram", "bigram", "trigram")) + tuple(
    f"val_bits_saved_over_{order}" for order in ("unigram", "bigram", "trigram")
)

ROWS = [  # name, label, flags
    ("lstm", "ours: 2 x 256 LSTM (`--preset shakespeare`)", ["--preset", "shakespeare"]),
    (
        "gru",
        "ours: 2 x 256 GRU (`--preset shakespeare --cell gru`)",
        ["--preset", "shakespeare", "--cell", "gru"],
    ),
    (
        "transformer",
        "ours: transformer (`--preset shakespeare-transformer`)",
        ["--preset", "shakespeare-transformer"],
    ),
    ("nanogpt", "nanoGPT CPU setting in Keras (`--preset nanogpt-cpu`)", ["--preset", "nanogpt-cpu"]),
]
QUICK = [
    "--max-train-samples",
    "30000",
    "--epochs",
    "1",
    "--steps-per-epoch",
    "10",
    "--max-train-minutes",
    "0.2",
]


def run_row(name: str, flags: list[str], quick: bool) -> dict[str, float]:
    output_dir = RUNS / f"char_lm{'_quick' if quick else ''}_{name}"
    extra = [*QUICK, "--inspect-characters", "0"] if quick else []
    metrics = char_lm.main([*flags, *extra, "--no-export", "--overwrite", "--output-dir", str(output_dir)])
    row = {key: metrics[key] for key in KEYS} | {key: metrics[key] for key in NGRAM_KEYS if key in metrics}
    row["seconds_per_epoch"] = metrics["train_seconds"] / max(1, metrics["epochs"])
    return row


def markdown(results: dict) -> str:
    rows = results["tinyshakespeare"]
    reference = next((row for label, row in rows.items() if label.startswith("nanoGPT")), None)
    lines = [
        "| model | val loss (nats/char) | bits/char | train s | s/epoch | epochs | parameters "
        "| val loss / nanoGPT's | goal: <= 1.60 in 20 min |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, row in rows.items():
        ratio = f"{row['val_loss'] / reference['val_loss']:.3f}" if reference else ""
        goal = "yes" if row["val_loss"] <= 1.60 and row["train_seconds"] <= BUDGET_SECONDS else "no"
        lines.append(
            f"| {label} | {row['val_loss']:.3f} | {row['val_bits_per_char']:.3f} "
            f"| {row['train_seconds']:.0f} | {row['seconds_per_epoch']:.0f} | {row['epochs']} "
            f"| {row['parameters']:,} | {ratio} | {goal} |"
        )
    lines.append(
        f"| nanoGPT as published (PyTorch, MacBook CPU) | {PUBLISHED_NANOGPT_CPU:.2f} | "
        f"{PUBLISHED_NANOGPT_CPU / math.log(2):.3f} | | | | | | |"
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip", nargs="*", default=[], choices=[name for name, *_ in ROWS])
    parser.add_argument("--update", action="store_true", help="keep the skipped rows of results/char_lm.json")
    parser.add_argument("--quick", action="store_true", help="smoke test: a few batches per row")
    args = parser.parse_args()
    folder = RUNS / "char_lm_quick" if args.quick else RESULTS
    path = folder / "char_lm.json"
    results: dict = {"tinyshakespeare": {}}
    if args.update and path.exists():
        results = json.loads(path.read_text())
    results["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform()}
    for name, label, flags in ROWS:
        if name in args.skip:
            continue
        load = os.getloadavg()[0]
        with step(f"benchmark row: {label}"):
            row = run_row(name, flags, args.quick)
        results["tinyshakespeare"][label] = {**row, "load_average_before": load}
        print(f"{label}: {results['tinyshakespeare'][label]}")
    rows = results["tinyshakespeare"]
    reference = next((row for label, row in rows.items() if label.startswith("nanoGPT")), None)
    for row in rows.values():
        if reference:
            row["val_loss_ratio_to_nanogpt"] = row["val_loss"] / reference["val_loss"]
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (folder / "char_lm.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
