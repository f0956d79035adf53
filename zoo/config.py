"""The flags every recipe shares, as dataclasses (`zoo.cli` turns fields into flags).

Kept apart from the runner so that reading them needs nothing heavy: `python -m recipes.X --help` builds
its parser from these classes without loading TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import ClassVar, Literal

from zoo.cli import check_bounds, flag


@dataclasses.dataclass
class RunConfig:
    """Flags every recipe has. A recipe's `Config` subclasses this and adds its own fields."""

    dataset: str | None = flag(None, "dataset name, found in --data-dir, $ZOO_DATA_DIR/NAME or downloaded")
    data_dir: str | None = flag(None, "folder holding the dataset files (skips the lookup and download)")
    skip_checksum: bool = flag(
        False, "read the dataset without checking its files' hashes (for your own edited copy)"
    )
    epochs: int = flag(3, "maximum number of epochs (early stopping may end sooner)")
    batch_size: int = flag(32, "global batch size, split across replicas or workers under --strategy")
    seed: int = flag(0, "seed for Python, NumPy, TensorFlow and the data split")
    output_dir: str | None = flag(None, "where artifacts go (default: saved_models/<recipe>)")
    max_train_samples: int | None = flag(None, "use only the first N training examples (quick runs)")
    preset: str | None = flag(None, "named full-scale setting")
    strategy: Literal["default", "mirrored", "multi-worker"] = flag(
        "default",
        "tf.distribute strategy: mirrored replicates over all GPUs, else all logical CPUs; multi-worker "
        "trains in one process per machine of the cluster TF_CONFIG names (see zoo.distributed)",
    )
    export: bool = flag(True, "write SavedModel and TFLite exports and check their parity")
    quantize: tuple[Literal["none", "dynamic", "float16", "int8"], ...] = flag(
        ("none",),
        "TFLite weights: none (float32), dynamic (int8 weights, float compute), float16, or int8 (weights "
        "and activations, calibrated on training inputs); the first is model.tflite, each further one "
        "model.<quantize>.tflite",
    )
    patience: int = flag(2, "epochs without improvement of the monitored metric before stopping")
    backup_every_steps: int = flag(
        200,
        "batches between resumable backups, besides one at every epoch boundary (a killed run loses at "
        "most this much work)",
    )
    overwrite: bool = flag(
        False,
        "train afresh where --output-dir holds a finished run, or an interrupted one made with other flags "
        "(an interrupted run of the same flags is resumed, so the same command can be run again after a "
        "kill)",
    )

    # Flags that may change between a run and its resumption: they do not shape the model or the data.
    RESUMABLE_CHANGES: ClassVar[frozenset[str]] = frozenset(
        {
            "output_dir",
            "data_dir",
            "export",
            "quantize",
            "overwrite",
            "skip_checksum",
            "backup_every_steps",
            "patience",
        }  # fmt: skip
    )

    # A recipe whose TFLite is a whole decoding loop (`zoo.export.export_tflite_function`) writes it in
    # float32 only; its Config sets this to False and --quantize is refused rather than ignored.
    QUANTIZABLE: ClassVar[bool] = True

    def __post_init__(self) -> None:
        self.quantize = tuple(dict.fromkeys(self.quantize))  # each variant once, in the order given
        if self.quantize != ("none",) and not self.QUANTIZABLE:
            raise ValueError("--quantize: this recipe's TFLite decoder is written in float32 only")
        for name in ("epochs", "batch_size", "patience", "backup_every_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if self.max_train_samples is not None and self.max_train_samples < 1:
            raise ValueError("--max-train-samples must be at least 1")
        # No number a recipe takes is meaningful negative, NaN or infinite (a negative rate trains uphill),
        # but for a flag made with `flag(..., signed=True)`, which may be negative.
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            for number in value if isinstance(value, (tuple, list)) else (value,):
                if isinstance(number, (int, float)) and not isinstance(number, bool):
                    if not math.isfinite(number) or (number < 0 and not field.metadata.get("signed")):
                        raise ValueError(f"--{field.name.replace('_', '-')} must be a finite number >= 0")
            if field.name.endswith("learning_rate") and value == 0:
                raise ValueError(f"--{field.name.replace('_', '-')} must be above 0")
        check_bounds(self)


@dataclasses.dataclass
class EMAConfig(RunConfig):
    """`--ema`, for a recipe whose optimizer takes `zoo.train.ema_options(config)`: `zoo.train.Run.fit` then
    swaps the moving average into the model for validation, checkpoints and what follows training.

    A mixin rather than a field of `RunConfig`: the average lives in the optimizer, which each recipe
    builds, so only a recipe that passes the option on can honour the flag; elsewhere it would be accepted
    and do nothing.
    """

    ema: float = flag(
        0.0,
        "momentum of an exponential moving average of the weights (e.g. 0.999), which is validated, "
        "checkpointed, tested and exported instead of the last weights; 0: off",
        below=1.0,
    )


@dataclasses.dataclass
class TimeBudgetConfig(RunConfig):
    """`--max-train-minutes`: `zoo.train.Run.fit` stops training at the first batch that ends past the budget
    (`zoo.train.TimeBudget`); the epoch in progress is still validated and checkpointed. A mixin, for the
    recipes that train through `Run.fit` and whose runs may outgrow a user's time: a corpus of millions of
    pairs takes hours an epoch.
    """

    max_train_minutes: float | None = flag(
        None, "stop training after this many minutes (validation included), whatever --epochs says"
    )

    # A resumed run starts a new budget, so the budget may change between a run and its resumption.
    RESUMABLE_CHANGES: ClassVar[frozenset[str]] = RunConfig.RESUMABLE_CHANGES | {"max_train_minutes"}

    def __post_init__(self) -> None:
        if self.max_train_minutes is not None and self.max_train_minutes <= 0:
            raise ValueError("--max-train-minutes must be positive")
        if self.max_train_minutes is not None and self.strategy == "multi-worker":
            # Each worker would stop by its own clock, at another batch, and leave the others waiting.
            raise ValueError(
                "--max-train-minutes: not with --strategy multi-worker (workers' clocks disagree)"
            )
        super().__post_init__()


@dataclasses.dataclass
class FileDataConfig(RunConfig):
    """`--dataset file`: a recipe trained on the user's own files, in the formats its `--dataset` help
    names. A mixin, as a recipe must know how to read them; `zoo.data.user_splits` reads the three files
    and carves a split that has no file of its own from the training file.
    """

    train_file: str | None = flag(
        None, "your own training data (implies --dataset file), in a format this recipe reads (see --dataset)"
    )
    validation_file: str | None = flag(
        None, "your own validation data; without it, --validation-fraction of --train-file is held out"
    )
    test_file: str | None = flag(None, "your own test data; without it, --test-fraction of --train-file")
    validation_fraction: float = flag(
        0.1, "share of --train-file held out for validation when no --validation-file is given", below=1.0
    )
    test_fraction: float = flag(
        0.1, "share of --train-file held out for testing when no --test-file is given", below=1.0
    )

    FILE_FLAGS: ClassVar[tuple[str, ...]] = ("train_file", "validation_file", "test_file")
    # A split the recipe has no use for ("validation", "test") -> why: its --X-file is refused, and so is
    # an --X-fraction other than the default (word2vec is scored on analogies, not held-out text).
    UNUSED_SPLITS: ClassVar[dict[str, str]] = {}
    # The recipe's own flags that say how to read its files (columns, format): refused, when set to other
    # than their defaults, without --dataset file, rather than silently ignored.
    FILE_ONLY: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        given = [name for name in self.FILE_FLAGS if getattr(self, name)]
        fields = type(self).__dataclass_fields__
        given += [name for name in self.FILE_ONLY if getattr(self, name) != fields[name].default]
        if any(getattr(self, name) for name in self.FILE_FLAGS) and self.dataset is None:
            self.dataset = "file"
        if self.dataset == "file":
            if not self.train_file:
                raise ValueError("--dataset file needs --train-file")
            for split, why in self.UNUSED_SPLITS.items():
                default = fields[f"{split}_fraction"].default
                if getattr(self, f"{split}_file"):
                    raise ValueError(f"--{split}-file: {why}")
                if getattr(self, f"{split}_fraction") != default:
                    raise ValueError(f"--{split}-fraction: {why}")
            carved = sum(
                getattr(self, f"{split}_fraction")
                for split in ("validation", "test")
                if not getattr(self, f"{split}_file") and split not in self.UNUSED_SPLITS
            )
            if carved >= 1:
                raise ValueError(
                    "--validation-fraction and --test-fraction must leave some --train-file to train"
                )
        elif given:
            flags = ", ".join(f"--{name.replace('_', '-')}" for name in given)
            other = f"--dataset {self.dataset}" if self.dataset else "the embedded sample"
            raise ValueError(f"{flags}: only with --dataset file (not {other})")
        super().__post_init__()

    def data_files(self) -> dict:
        """The arguments of `zoo.data.user_splits` these flags give."""
        return {
            "train_file": self.train_file,
            "validation_file": self.validation_file,
            "test_file": self.test_file,
            "validation_fraction": self.validation_fraction,
            "test_fraction": self.test_fraction,
            "seed": self.seed,
        }


# A language code names a Moses file's suffix (`corpus.de`): letters, digits, `-` and `_`, no dot or slash.
_LANGUAGE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,19}")
TATOEBA_LANGUAGES = ("eng", "spa")


@dataclasses.dataclass
class TranslationConfig(FileDataConfig, TimeBudgetConfig):
    """The flags every translation recipe has: data and direction, tokenizer, decoding and scoring. A
    recipe's `Config` subclasses it and adds its model's flags."""

    QUANTIZABLE: ClassVar[bool] = False

    dataset: Literal["spa-eng", "file"] | None = flag(
        None,
        "spa-eng (Tatoeba English-Spanish), or file: your own pairs, --train-file a TSV of "
        "source<TAB>target lines (further columns ignored) or a PREFIX naming PREFIX.<source> and "
        "PREFIX.<target>, two plain-text files aligned line by line; without it, numbers in words (a demo)",
    )
    source: str = flag("eng", "language translated from: eng or spa, or with --dataset file any code (de)")
    target: str = flag("spa", "language translated into: eng or spa, or with --dataset file any code (fr)")
    vocabulary_size: int = flag(8000, "most pieces of the joint SentencePiece model (an upper bound)")
    max_length: int = flag(40, "longest sentence in pieces; longer training pairs are dropped", at_least=2)
    beam_size: int = flag(4, "beam width for the test translations (1: greedy only)", at_least=1)
    length_penalty: float = flag(0.6, "beam search's length normalisation exponent (GNMT's alpha)")
    bleu_samples: int = flag(
        300, "validation pairs translated to report val_bleu after each epoch", at_least=1
    )
    max_test_samples: int | None = flag(None, "score only the first N test pairs (decoding takes time)")
    epochs: int = flag(10, "maximum number of epochs (early stopping may end sooner)")
    batch_size: int = flag(64, "sentence pairs per batch")
    label_smoothing: float = flag(0.0, "share of each target's probability spread over all pieces", below=1.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.source == self.target:
            raise ValueError("--source and --target must differ")
        for name in ("source", "target"):
            code = getattr(self, name)
            if self.dataset == "file" and not _LANGUAGE_CODE.fullmatch(code):
                problem = "letters, digits, - and _, at most 20, such as de or pt-BR"
                raise ValueError(f"--{name} {code!r}: a language code is {problem}")
            if self.dataset != "file" and code not in TATOEBA_LANGUAGES:
                raise ValueError(
                    f"--{name} {code!r}: the Tatoeba pairs and the embedded sample are eng and spa; "
                    "other languages with --dataset file --train-file ..."
                )
