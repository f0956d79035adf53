"""Captioning benchmark: Show, Attend and Tell on the digit strips and on the Flickr8k images present.

Rows, each trained here by `recipes.captioning` and scored on its test split with `zoo.metrics.caption_scores`
(corpus BLEU-1..4 against every reference of an image, 0-100, and the exact-caption rate):

- digits: the embedded default, strips of 2-5 of scikit-learn's handwritten digits (`--strips 8000
  --epochs 8 --patience 8 --convs-per-block 2 --ensemble 3 --label-smoothing 0.1`; test strips drawn
  from digit images never seen in training), trained with seeds 0, 1 and 2: each seed draws other strips
  (train, validation and test), and its ensemble's three members start from the weights of seeds s,
  s + 1 and s + 2. The row holds the mean over the seeds, `seeds` in the JSON each seed's scores; the
  row "one member" the mean of the nine members' own greedy scores, so the ensemble's gain is measured
  on the same strips. Goal: exact-caption rate >= 95%.
- flickr8k: the shared 800-image subset (`--preset flickr8k`: 605 training images, 102 test images with
  five captions each), trained from scratch in about 15 minutes.

Beside each, the nearest-neighbour baseline (Devlin et al. 2015): the caption of the training image whose
encoder features (the trained model's annotations, averaged over the grid) are closest by cosine, taking of
that image's captions the one agreeing most with its others (BLEU-4 against them; the only one for a
strip). On a small set it says how much the decoder adds to retrieving a caption already written.

Writes `benchmarks/results/captioning.json` and `benchmarks/results/captioning.md`.

    ZOO_DATA_DIR=../shared/data python -m benchmarks.captioning [--skip digits|flickr8k] [--ensemble N]

A skipped task keeps the rows it has in an existing results file. `--ensemble N` trains N-member
ensembles for the digit strips instead of three and writes `captioning_ensemble<N>.json` and `.md`, so
the main results stay those of the command above.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import shutil

import keras
import numpy as np

import zoo.cli
import zoo.metrics
from recipes import captioning
from zoo.progress import step

RESULTS = pathlib.Path(__file__).parent / "results"
RUNS = pathlib.Path(__file__).parent / "runs"
SCORES = ("bleu1", "bleu2", "bleu3", "bleu4", "exact")
TASKS = {
    "digits": (
        "digit strips (8,000 train / 300 test)",
        (
            "--strips 8000 --epochs 8 --patience 8 --convs-per-block 2 --ensemble 3 --label-smoothing 0.1"
        ).split(),
    ),
    "flickr8k": ("Flickr8k present subset (605 train / 102 test images)", ["--preset", "flickr8k"]),
}
SEEDS = {"digits": (0, 1, 2), "flickr8k": (0,)}


def consensus_caption(captions: list[str]) -> str:
    """The caption with the highest BLEU-4 against the image's other captions (the only one if alone)."""
    if len(captions) == 1:
        return captions[0]
    scores = [zoo.metrics.bleu_n([c], [captions[:i] + captions[i + 1 :]], 4) for i, c in enumerate(captions)]
    return captions[int(np.argmax(scores))]


def nearest_neighbour(output_dir: pathlib.Path, flags: list[str]) -> dict[str, float]:
    """Scores of the nearest-neighbour baseline on the test split, with the run's trained encoder (its first
    member's, for an ensemble)."""
    config = zoo.cli.parse(captioning.Config, flags)
    data = captioning.load_data(config)
    path = output_dir / "model.keras"
    trained = keras.saving.load_model(path if path.exists() else output_dir / "member_0" / "model.keras")
    annotations = keras.Model(trained.input["images"], trained.get_layer("annotations").output)

    def features(name):
        vectors = np.concatenate(
            [annotations(batch, training=False).numpy().mean(axis=1) for batch in data.images[name]]
        )
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    nearest = np.argmax(features("test") @ features("train").T, axis=1)
    candidates = [consensus_caption(captions) for captions in data.references["train"]]
    captions = [candidates[index] for index in nearest]
    return zoo.metrics.caption_scores(captions, data.references["test"])


def run_seed(name: str, seed: int, extra: list[str]) -> dict:
    output_dir = RUNS / f"captioning_{name}" if seed == 0 else RUNS / f"captioning_{name}_seed{seed}"
    flags = [*TASKS[name][1], *extra, "--seed", str(seed)]  # a flag given twice: the last one counts
    shutil.rmtree(output_dir, ignore_errors=True)  # a fresh run, never a resumed one
    metrics = captioning.main([*flags, "--output-dir", str(output_dir)])
    keep = [f"test_{d}_{s}" for d in ("greedy", "beam") for s in SCORES] + ["train_seconds", "epochs"]
    keep += [key for key in metrics if key.startswith("member_")]
    return {
        "ours": {key: metrics[key] for key in keep if key in metrics},
        "nearest_neighbour": nearest_neighbour(output_dir, flags),
    }


def run(name: str, extra: list[str]) -> dict:
    """The task trained once per seed of `SEEDS` (`extra` flags added): the mean of each score (and of
    the epochs and seconds)."""
    runs = [run_seed(name, seed, extra) for seed in SEEDS[name]]
    mean = {
        part: {key: float(np.mean([r[part][key] for r in runs])) for key in runs[0][part]}
        for part in ("ours", "nearest_neighbour")
    }
    return {**mean, "seeds": {str(seed): r for seed, r in zip(SEEDS[name], runs)}}


def member_scores(seeds: dict, score: str) -> list[float]:
    """Every ensemble member's own greedy `score`, seed by seed (empty for single models)."""
    return [
        value
        for r in seeds.values()
        for key, value in r["ours"].items()
        if key.startswith("member_") and key.endswith(f"_greedy_{score}")
    ]


def markdown(results: dict) -> str:
    lines = [
        "| task (test split) | model | BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 | exact | exact per seed | train s"
        " | epochs |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in results["rows"].items():
        ours = rows["ours"]
        seeds = rows.get("seeds", {})
        for decoder in ("beam", "greedy"):
            if f"test_{decoder}_bleu1" not in ours:
                continue
            scores = " | ".join(
                f"{ours[f'test_{decoder}_{s}']:.1f}"
                if s != "exact"
                else f"{ours[f'test_{decoder}_exact']:.3f}"
                for s in SCORES
            )
            per_seed = ", ".join(f"{r['ours'][f'test_{decoder}_exact']:.3f}" for r in seeds.values())
            lines.append(
                f"| {name} | ours, {decoder} | {scores} | {per_seed} | {ours['train_seconds']:.0f} | "
                f"{ours['epochs']:g} |"
            )
        member_exact, member_bleu4 = member_scores(seeds, "exact"), member_scores(seeds, "bleu4")
        if member_exact:
            lines.append(
                f"| {name} | one member alone, greedy (mean of {len(member_exact)}) | | | | "
                f"{np.mean(member_bleu4):.1f} | {np.mean(member_exact):.3f} | "
                f"{', '.join(f'{value:.3f}' for value in member_exact)} | | |"
            )
        baseline = rows["nearest_neighbour"]
        scores = " | ".join(f"{baseline[s]:.1f}" if s != "exact" else f"{baseline[s]:.3f}" for s in SCORES)
        per_seed = ", ".join(f"{r['nearest_neighbour']['exact']:.3f}" for r in seeds.values())
        lines.append(f"| {name} | nearest neighbour (our encoder) | {scores} | {per_seed} | | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip", nargs="*", default=[], choices=list(TASKS))
    parser.add_argument(
        "--ensemble", type=int, help="members of the digit strips' ensembles (default 3); own results files"
    )
    args = parser.parse_args()
    stem, extra = "captioning", {"digits": [], "flickr8k": []}
    if args.ensemble is not None:
        stem, extra["digits"] = f"captioning_ensemble{args.ensemble}", ["--ensemble", str(args.ensemble)]
    results: dict = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "rows": {}}
    previous = RESULTS / f"{stem}.json"
    if previous.exists():  # rows of skipped tasks keep their last measured values
        results["rows"] = json.loads(previous.read_text()).get("rows", {})
    for name, (title, _) in TASKS.items():
        if name not in args.skip:
            with step(f"benchmark row: {title}"):
                results["rows"][title] = run(name, extra[name])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (RESULTS / f"{stem}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
