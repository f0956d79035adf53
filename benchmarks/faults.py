"""Fault campaign: kill, corrupt, interrupt and fill the disk under small embedded runs, and check that
nothing is lost and nothing is silent.

Each case runs recipes as a user would (`python -m recipes.X ...` in a subprocess), does something bad to
them at a chosen moment, then checks what a careful user would: the error is one clear line naming what
went wrong, the same command started again continues where the run was (never from scratch), no file
under its final name is half-written, and no dataset is read in part. A case passes ("survived") only if
every check holds; what was expected and what happened are written for each.

Cases (`--only NAME ...` runs some of them):

- kill -9 mid-epoch, while a backup is written, in evaluation, in export, and in export over an
  earlier finished run;
- NaN: a learning rate that overflows the loss;
- two runs on one output folder; a changed model flag on resume; a half-written and a damaged
  history.csv; an output path that is a file, a read-only folder, a disk that fills up in training;
- IMDB archives with 16 bytes flipped at 55%, 80% and 95% (with and without `--skip-checksum`),
  truncated IMDB and spa-eng archives;
- downloads from a local HTTP server on 127.0.0.1 that closes half way, that serves the wrong bytes, and
  a download client killed part way;
- exports asked edge inputs: the NER SavedModel on a one-word sentence and empty batches, the speech
  SavedModel on contradicting lengths, NaN audio and an empty batch.

Writes `benchmarks/results/faults.json` and `benchmarks/results/faults.md`, ending with "N cases,
N survived with nothing lost".

    ZOO_DATA_DIR=../shared/data python -m benchmarks.faults [--only kill_in_export ...]

The full-disk and read-only cases mount a small tmpfs (root on Linux); where that is not possible they
report so and count as not run, not as survived.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import http.server
import json
import os
import pathlib
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from zoo.progress import progress

RESULTS = pathlib.Path(__file__).parent / "results"
ROOT = pathlib.Path(__file__).resolve().parents[1]
# Small sentiment runs on the embedded sample: a backup after every batch, a small n-gram table so each
# backup is quick to write.
SENTIMENT = ["--epochs", "3", "--examples", "0", "--backup-every-steps", "1", "--ngram-buckets", "4096"]


class Broken(Exception):
    """A check of a case did not hold; the message says which."""


def check(condition: bool, what: str) -> None:
    if not condition:
        raise Broken(what)


@dataclasses.dataclass
class Case:
    name: str
    expected: str
    run: Callable[[pathlib.Path], str]  # gets a fresh folder, returns what happened; raises Broken


@dataclasses.dataclass
class Outcome:
    name: str
    expected: str
    happened: str
    survived: bool | None  # None: could not be run here
    seconds: float


# ## Running recipes


def environment() -> dict[str, str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
    env.setdefault("ZOO_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    return env


@dataclasses.dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str

    @property
    def error(self) -> str:
        """The one-line error a recipe printed (`error: ...`), or ''."""
        lines = [line for line in self.stderr.splitlines() if line.startswith("error:")]
        return lines[-1] if lines else ""


def recipe(name: str, flags: list[str], timeout: float = 600, env: dict | None = None) -> Finished:
    result = subprocess.run(
        [sys.executable, "-m", f"recipes.{name}", *flags],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env or environment(),
    )
    return Finished(result.returncode, result.stdout, result.stderr)


def python(program: str, *args: str, timeout: float = 300, env: dict | None = None) -> Finished:
    result = subprocess.run(
        [sys.executable, "-c", program, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env or environment(),
    )
    return Finished(result.returncode, result.stdout, result.stderr)


def kill_when(
    command: list[str], ready: Callable[[], bool], timeout: float = 600, env: dict | None = None
) -> bool:
    """Start `command`, kill -9 it as soon as `ready()` holds; False if it ended first."""
    process = subprocess.Popen(
        command, cwd=ROOT, env=env or environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if ready():
                process.send_signal(signal.SIGKILL)
                process.wait()
                return True
            if process.poll() is not None:
                return False
            time.sleep(0.01)
        raise Broken(f"{command[2]} did not reach the moment to kill within {timeout:.0f} s")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def recipe_command(name: str, flags: list[str]) -> list[str]:
    return [sys.executable, "-m", f"recipes.{name}", *flags]


def backup_epoch(output_dir: pathlib.Path) -> int | None:
    try:
        return json.loads((output_dir / "backup" / "training_metadata.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return None


def history_epochs(output_dir: pathlib.Path) -> list[int]:
    import csv

    with (output_dir / "history.csv").open(newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def non_finite_values(path: pathlib.Path) -> int:
    import h5py

    bad = 0

    def visit(name, item):
        nonlocal bad
        if isinstance(item, h5py.Dataset) and item.dtype.kind == "f":
            bad += int(np.sum(~np.isfinite(item[()])))

    with h5py.File(path, "r") as handle:
        handle.visititems(visit)
    return bad


def finished_cleanly(output_dir: pathlib.Path, result: Finished) -> None:
    check(result.returncode == 0, f"the rerun failed: {result.error or result.stderr[-300:]}")
    check((output_dir / "metrics.json").exists(), "no metrics.json after the rerun")
    check(not (output_dir / "backup").exists(), "the backup was not removed after the run finished")
    epochs = history_epochs(output_dir)
    check(epochs == list(range(len(epochs))), f"history.csv lists epochs {epochs}")
    leftovers = [p.name for p in output_dir.rglob(".partial-*")]
    check(not leftovers, f"temporary files left: {leftovers}")


def saved_model_answers(path: pathlib.Path, program: str) -> Finished:
    """Run `program` (which sees `model`, the loaded SavedModel, and `tf`) in a fresh process."""
    prelude = "import sys, tensorflow as tf\nmodel = tf.saved_model.load(sys.argv[1])\n"
    return python(prelude + program, str(path))


# ## Kills


def killed_then_resumed(out: pathlib.Path, moment: Callable[[], bool]) -> int:
    """Kill a small sentiment run at `moment`, run the same command again, check it resumed at the epoch
    of the backup the kill left and finished cleanly; returns that epoch (1-based)."""
    flags = [*SENTIMENT, "--output-dir", str(out)]
    check(kill_when(recipe_command("sentiment", flags), moment), "the run ended before the kill")
    epoch = backup_epoch(out) + 1
    again = recipe("sentiment", flags)
    check(f"at epoch {epoch}" in again.stdout, f"the rerun did not resume at epoch {epoch}")
    finished_cleanly(out, again)
    return epoch


def kill_mid_epoch(folder: pathlib.Path) -> str:
    out = folder / "run"
    epoch = killed_then_resumed(out, lambda: (backup_epoch(out) or 0) >= 2)
    return f"killed with a backup at epoch {epoch}; the same command resumed there and finished"


def kill_while_backup_written(folder: pathlib.Path) -> str:
    out = folder / "run"
    epoch = killed_then_resumed(
        out, lambda: (backup_epoch(out) or 0) >= 1 and any((out / "backup").glob(".partial-*"))
    )
    return f"killed while a backup was written; the previous one (epoch {epoch}) was whole and resumed"


def kill_in_evaluation(folder: pathlib.Path) -> str:
    out = folder / "run"
    flags = [*SENTIMENT, "--output-dir", str(out)]
    killed = kill_when(recipe_command("sentiment", flags), (out / "backup" / "trained.json").exists)
    check(killed, "the run ended before the kill")
    check(not (out / "metrics.json").exists(), "metrics.json exists after a kill before it")
    trained = len(history_epochs(out))
    again = recipe("sentiment", flags)
    check("Training finished in an earlier run" in again.stdout, "the rerun trained again")
    finished_cleanly(out, again)
    check(len(history_epochs(out)) == trained, "the rerun added epochs")
    return f"killed after {trained} trained epochs; the rerun evaluated and exported without training"


def in_export(out: pathlib.Path) -> Callable[[], bool]:
    """True once training is over and an export is being written under its temporary name."""

    def exporting() -> bool:
        partial = [p for p in out.glob(".partial-*") if not p.name.endswith("metrics.json")]
        return bool(partial) and (out / "backup" / "trained.json").exists()

    return exporting


def kill_in_export(folder: pathlib.Path) -> str:
    out = folder / "run"
    flags = ["--epochs", "1", "--examples", "0", "--ngram-buckets", "4096", "--output-dir", str(out)]
    killed = kill_when(recipe_command("sentiment", flags), in_export(out))
    check(killed, "the run ended before the kill")
    check(not (out / "metrics.json").exists(), "the folder looks finished after a kill in export")
    if (out / "saved_model").exists():
        probe = "print(model.serve(tf.constant(['good'])).shape)"
        loaded = saved_model_answers(out / "saved_model" / "1", probe)
        check(loaded.returncode == 0, "a saved_model/ under its final name does not load")
    again = recipe("sentiment", flags)
    check("Training finished in an earlier run" in again.stdout, "the rerun trained again")
    finished_cleanly(out, again)
    answer = saved_model_answers(
        out / "saved_model" / "1", "print(model.serve(tf.constant(['a fine film'])).numpy())"
    )
    check(answer.returncode == 0, f"the exported SavedModel does not answer: {answer.stderr[-300:]}")
    return "killed while an export was written; nothing half-written under a final name; resumed, no training"


def kill_in_export_over_finished_run(folder: pathlib.Path) -> str:
    out = folder / "run"
    first = recipe("sentiment", ["--epochs", "1", "--examples", "0", "--output-dir", str(out)])
    check(first.returncode == 0, f"the first run failed: {first.error}")
    flags = [*SENTIMENT, "--vocabulary-size", "500", "--output-dir", str(out), "--overwrite"]
    killed = kill_when(recipe_command("sentiment", flags), in_export(out))
    check(killed, "the run ended before the kill")
    check(not (out / "metrics.json").exists(), "the old metrics.json still marks the folder finished")
    again = recipe("sentiment", flags)  # the same command: --overwrite resumes a run of its own flags
    check("Training finished in an earlier run" in again.stdout, "the rerun trained again")
    finished_cleanly(out, again)
    words = (out / "vocabulary.txt").read_text(encoding="utf-8").splitlines()
    check(len(words) <= 500, f"vocabulary.txt has {len(words)} words, not the new run's at most 500")
    return "the earlier run's metrics.json went when the new run began; the rerun finished the new run"


def nan_loss(folder: pathlib.Path) -> str:
    out = folder / "run"
    flags = [
        "--learning-rate",
        "1e37",
        "--ngrams",
        "0",
        "--backup-every-steps",
        "1",
        "--output-dir",
        str(out),
    ]
    result = recipe("sentiment", flags)
    check(result.returncode == 1 and "NaN/inf" in result.error, f"no clear NaN error: {result.stderr[-300:]}")
    backup = out / "backup" / "latest.weights.h5"
    check(backup.exists(), "the last finite backup is gone")
    check(non_finite_values(backup) == 0, "the backup holds non-finite values")
    best = out / "best.weights.h5"
    check(not best.exists() or non_finite_values(best) == 0, "best.weights.h5 holds non-finite values")
    refused = recipe("sentiment", ["--learning-rate", "-1", "--output-dir", str(folder / "negative")])
    check(
        refused.returncode == 2 and "--learning-rate must be" in refused.stderr, "a negative rate was taken"
    )
    return f"stopped with one line ({result.error[7:80]}...); backup finite, no non-finite best; -1 refused"


def two_runs_one_folder(folder: pathlib.Path) -> str:
    out = folder / "run"
    flags = [*SENTIMENT, "--output-dir", str(out), "--no-export"]
    first = subprocess.Popen(
        recipe_command("sentiment", flags), cwd=ROOT, env=environment(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (out / "config.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = recipe("sentiment", flags)
    stdout, stderr = first.communicate(timeout=600)
    check(
        second.returncode == 1 and "in use by another run" in second.error, "the second run was not refused"
    )
    finished_cleanly(out, Finished(first.returncode, stdout, stderr))
    return "the second run was refused at once; the first finished with an intact history"


def changed_flags_on_resume(folder: pathlib.Path) -> str:
    out = folder / "run"
    flags = [*SENTIMENT, "--output-dir", str(out)]
    check(kill_when(recipe_command("sentiment", flags), lambda: (backup_epoch(out) or 0) >= 1), "no kill")
    changed = recipe("sentiment", [*flags, "--units", "32"])
    check(changed.returncode == 1 and "--units 64 -> 32" in changed.error, f"not refused: {changed.error}")
    finished_cleanly(out, recipe("sentiment", flags))
    return "a resume with --units 32 over a --units 64 backup was refused naming the flag; same flags resumed"


def damaged_history(folder: pathlib.Path) -> str:
    out = folder / "run"
    flags = [*SENTIMENT, "--output-dir", str(out)]
    check(kill_when(recipe_command("sentiment", flags), lambda: (backup_epoch(out) or 0) >= 2), "no kill")
    history = out / "history.csv"
    intact = history.read_text()
    history.write_text(intact + "2,0.5,0.")  # a row cut short by the kill
    resumed = recipe("sentiment", flags)
    finished_cleanly(out, resumed)
    # Damage in the middle of a history is not a kill's doing: it is named, not guessed around.
    out2 = folder / "run2"
    flags2 = [*SENTIMENT, "--output-dir", str(out2)]
    check(kill_when(recipe_command("sentiment", flags2), lambda: (backup_epoch(out2) or 0) >= 2), "no kill")
    lines = (out2 / "history.csv").read_text().splitlines()
    lines[1] = lines[1].split(",")[0] + ",oops"
    (out2 / "history.csv").write_text("\n".join(lines) + "\n")
    refused = recipe("sentiment", flags2)
    check(refused.returncode == 1 and "history.csv:2" in refused.error, f"not named: {refused.error}")
    return "a half-written last row was dropped and the run resumed; a damaged row was named (history.csv:2)"


def output_dir_is_a_file(folder: pathlib.Path) -> str:
    path = folder / "a_file"
    path.write_text("")
    result = recipe("sentiment", ["--output-dir", str(path)])
    check(result.returncode == 1 and "is a file" in result.error, f"no clear error: {result.stderr[-300:]}")
    check("texts" not in result.stdout, "data was loaded before the output folder was checked")
    return "refused before any data was read: " + result.error[7:]


@contextlib.contextmanager
def tmpfs(path: pathlib.Path, megabytes: int, read_only: bool = False) -> Iterator[pathlib.Path]:
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={megabytes}m" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if mounted.returncode:
        raise NotImplementedError(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()[:100]})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def read_only_output_dir(folder: pathlib.Path) -> str:
    with tmpfs(folder / "ro", 1, read_only=True) as path:
        result = recipe("sentiment", ["--output-dir", str(path / "run")])
    check(
        result.returncode == 1 and "cannot write" in result.error, f"no clear error: {result.stderr[-300:]}"
    )
    check("texts" not in result.stdout, "data was loaded before the output folder was checked")
    return "refused before any data was read: " + result.error[7:]


def full_disk(folder: pathlib.Path) -> str:
    with tmpfs(folder / "disk", 160) as disk:
        out = disk / "run"
        flags = [*SENTIMENT, "--output-dir", str(out), "--no-export"]
        process = subprocess.Popen(
            recipe_command("sentiment", flags), cwd=ROOT, env=environment(), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        while backup_epoch(out) is None and process.poll() is None:
            time.sleep(0.01)
        filler = disk / "filler"
        with filler.open("wb") as handle, contextlib.suppress(OSError):
            while True:
                handle.write(b"\0" * 2**20)
        stdout, stderr = process.communicate(timeout=600)
        result = Finished(process.returncode, stdout, stderr)
        check(result.returncode == 1 and "disk is full" in result.error, f"no clear error: {stderr[-400:]}")
        for path in (out / "backup" / "latest.weights.h5", out / "best.weights.h5"):
            if path.exists():
                check(non_finite_values(path) == 0, f"{path.name} is damaged")  # opens: not truncated
        filler.unlink()
        finished_cleanly(out, recipe("sentiment", flags))
    return "the write that hit a full disk stopped the run in one line; backup and best loadable; resumed"


# ## Data


def imdb_copy(folder: pathlib.Path) -> pathlib.Path:
    source = pathlib.Path(environment()["ZOO_DATA_DIR"]) / "imdb" / "aclImdb_labeled.tar.gz"
    copy = folder / "imdb"
    copy.mkdir()
    shutil.copy(source, copy / source.name)
    return copy / source.name


def flip(path: pathlib.Path, at: float, count: int = 16) -> None:
    data = bytearray(path.read_bytes())
    start = int(len(data) * at)
    for k in range(start, start + count):
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))


def refused_without_training(result: Finished, path: pathlib.Path, phrase: str) -> None:
    check(result.returncode == 1, f"exit status {result.returncode}: {result.stderr[-300:]}")
    check(str(path) in result.error and phrase in result.error.lower(), f"unclear error: {result.error}")
    check("Epoch 1" not in result.stdout, "training started on a damaged dataset")


def corrupted_archive(at: float, folder: pathlib.Path) -> str:
    archive = imdb_copy(folder)
    flip(archive, at)
    flags = ["--dataset", "imdb", "--data-dir", str(archive.parent), "--epochs", "1", "--no-export"]
    flags += ["--output-dir", str(folder / "run")]
    hashed = recipe("sentiment", flags)
    refused_without_training(hashed, archive, "sha-256")
    streamed = recipe("sentiment", [*flags, "--skip-checksum"])
    refused_without_training(streamed, archive, "corrupt")
    reasons = [result.error.partition(f"{archive}: ")[2][:48] for result in (hashed, streamed)]
    return (
        f"refused by its hash ('{reasons[0]}...') and, with --skip-checksum, by its CRC ('{reasons[1]}...')"
    )


def truncated_archives(folder: pathlib.Path) -> str:
    archive = imdb_copy(folder)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    flags = ["--dataset", "imdb", "--data-dir", str(archive.parent), "--epochs", "1", "--no-export"]
    flags += ["--output-dir", str(folder / "run"), "--skip-checksum"]
    refused_without_training(recipe("sentiment", flags), archive, "truncated")
    pairs = folder / "spa-eng"
    pairs.mkdir()
    source = pathlib.Path(environment()["ZOO_DATA_DIR"]) / "spa-eng" / "spa-eng.zip"
    (pairs / "spa-eng.zip").write_bytes(source.read_bytes()[: source.stat().st_size * 2 // 3])
    flags = ["--dataset", "spa-eng", "--data-dir", str(pairs), "--epochs", "1", "--no-export"]
    flags += ["--output-dir", str(folder / "run2"), "--skip-checksum"]
    result = recipe("translation", flags)
    check(result.returncode == 1 and str(pairs / "spa-eng.zip") in result.error, f"unclear: {result.error}")
    return "half an IMDB archive and two thirds of spa-eng.zip were refused, naming the file"


# ## Downloads


class Server:
    """A local HTTP server on 127.0.0.1 serving `payload` at /file; `mode` "cut" closes the connection
    half way, "slow" sends 64 KB a tenth of a second, "whole" sends everything. Stops on exit."""

    def __init__(self, payload: bytes, mode: str):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the name http.server calls)
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if outer.mode == "cut":
                    self.wfile.write(payload[: len(payload) // 2])
                    return
                step = 2**16
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a killed client
                    for start in range(0, len(payload), step):
                        self.wfile.write(payload[start : start + step])
                        if outer.mode == "slow":
                            time.sleep(0.1)

            def log_message(self, *args):
                pass

        self.mode = mode
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/file"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


LOCATE = """
import dataclasses, sys
import zoo.data
from zoo.data import registry
info = registry.DATASETS["spa-eng"]
remote = dataclasses.replace(info.files[0], url=sys.argv[1])
registry.DATASETS["spa-eng"] = dataclasses.replace(info, files=(remote,))
try:
    print(zoo.data.locate("spa-eng"))
except Exception as error:
    print(f"error: {error}", file=sys.stderr)
    sys.exit(1)
"""


def download_env(home: pathlib.Path) -> dict[str, str]:
    env = environment()
    env.pop("ZOO_DATA_DIR")
    return {**env, "KERAS_HOME": str(home)}


def cached_files(home: pathlib.Path) -> list[str]:
    """The zip files under their final names (a killed writer's temporary `.partial-*` is not one)."""
    return sorted(p.name for p in home.rglob("*.zip") if p.is_file() and not p.name.startswith(".partial-"))


def interrupted_download(folder: pathlib.Path) -> str:
    payload = (pathlib.Path(environment()["ZOO_DATA_DIR"]) / "spa-eng" / "spa-eng.zip").read_bytes()
    home, env = folder / "home", download_env(folder / "home")
    with Server(payload, "cut") as server:
        cut = python(LOCATE, server.url, env=env)
    check(cut.returncode == 1 and cut.error, f"no clear error: {cut.stderr[-300:]}")
    check(not cached_files(home), f"a partial download was kept: {cached_files(home)}")
    with Server(payload[::-1], "whole") as server:
        wrong = python(LOCATE, server.url, env=env)
    check(
        wrong.returncode == 1 and "sha-256" in wrong.error.lower(), f"wrong bytes not refused: {wrong.error}"
    )
    check(not cached_files(home), "a download with the wrong hash was kept")
    with Server(payload, "slow") as server:
        command = [sys.executable, "-c", LOCATE, server.url]
        partial = lambda: any(p.name.startswith(".partial-") for p in home.rglob("*"))  # noqa: E731
        killed = kill_when(command, partial, env=env)
        check(killed, "the download finished before the kill")
        check(not cached_files(home), f"a killed download left {cached_files(home)} under the final name")
    with Server(payload, "whole") as server:
        whole = python(LOCATE, server.url, env=env)
    check(whole.returncode == 0, f"the download after the faults failed: {whole.error}")
    check(cached_files(home) == ["spa-eng.zip"], f"cache holds {cached_files(home)}")
    return "cut, wrong and killed downloads left nothing under the final name; the next download was whole"


# ## Exports on edge inputs


NER_EDGES = """
edges = [([["EU"]], (1, 1)), (tf.zeros([0, 3], tf.string), (0, 3)), (tf.zeros([1, 0], tf.string), (1, 0))]
for tokens, shape in edges:
    tags = model.serve(tf.constant(tokens))
    tags = tags if not isinstance(tags, dict) else list(tags.values())[0]
    assert tuple(tags.shape) == shape, (tags.shape, shape)
print("ok")
"""

SPEECH_EDGES = """
import numpy as np
wave = np.zeros((1, 8000), np.float32)
empty = model.serve(tf.zeros([0, 8000]), tf.zeros([0], tf.int32))
assert tuple(empty.shape)[0] == 0, empty.shape
bad = {
    "two lengths for one waveform": (wave, [8000, 8000]),
    "a length beyond the audio": (wave, [9000]),
    "a negative length": (wave, [-1]),
    "NaN audio": (np.full((1, 8000), np.nan, np.float32), [8000]),
}
for name, (waves, lengths) in bad.items():
    try:
        model.serve(tf.constant(waves), tf.constant(lengths, tf.int32))
    except tf.errors.InvalidArgumentError:
        continue
    raise SystemExit(f"accepted {name}")
print("ok")
"""


def ner_one_word(folder: pathlib.Path) -> str:
    out = folder / "run"
    trained = recipe("ner", ["--epochs", "1", "--output-dir", str(out)])
    check(trained.returncode == 0, f"the NER run failed: {trained.error or trained.stderr[-300:]}")
    answer = saved_model_answers(out / "saved_model" / "1", NER_EDGES)
    check(answer.returncode == 0, f"the SavedModel failed an edge input: {answer.stderr[-400:]}")
    return "the NER SavedModel tagged a one-word sentence and answered [0, 3] and [1, 0] batches"


def speech_invalid_inputs(folder: pathlib.Path) -> str:
    out = folder / "run"
    trained = recipe("speech_ctc", ["--epochs", "1", "--output-dir", str(out)])
    check(trained.returncode == 0, f"the speech run failed: {trained.error or trained.stderr[-300:]}")
    answer = saved_model_answers(out / "saved_model" / "1", SPEECH_EDGES)
    check(answer.returncode == 0, f"the SavedModel: {answer.stdout[-200:]}{answer.stderr[-400:]}")
    return "the speech SavedModel refused contradicting lengths and NaN audio, and answered an empty batch"


CASES = [
    Case("kill_mid_epoch", "resumes at the epoch of the last backup", kill_mid_epoch),
    Case(
        "kill_while_backup_written", "the previous backup is whole; resumes there", kill_while_backup_written
    ),
    Case("kill_in_evaluation", "resumes without training, finishes", kill_in_evaluation),
    Case(
        "kill_in_export", "nothing half-written under a final name; resumes without training", kill_in_export
    ),
    Case(
        "kill_in_export_over_finished_run",
        "the folder no longer looks finished; the rerun finishes the new run",
        kill_in_export_over_finished_run,
    ),
    Case("nan_loss", "one-line error; finite backup; no non-finite best; negatives refused", nan_loss),
    Case("two_runs_one_folder", "the second run refused; the first finishes intact", two_runs_one_folder),
    Case("changed_flags_on_resume", "refused naming the flag; same flags resume", changed_flags_on_resume),
    Case("damaged_history", "a cut last row dropped; a damaged row named", damaged_history),
    Case("output_dir_is_a_file", "refused before data loads", output_dir_is_a_file),
    Case("read_only_output_dir", "refused before data loads", read_only_output_dir),
    Case("full_disk", "one-line error; backup and best loadable; resumes after space is freed", full_disk),
    *(
        Case(
            f"corrupted_archive_{round(at * 100)}",
            "refused by hash, and by CRC with --skip-checksum; no training",
            functools.partial(corrupted_archive, at),
        )
        for at in (0.55, 0.80, 0.95)
    ),
    Case("truncated_archives", "refused naming the file; no training", truncated_archives),
    Case(
        "interrupted_download", "nothing kept under the final name; next download whole", interrupted_download
    ),
    Case("ner_one_word_export", "the SavedModel answers one word and empty batches", ner_one_word),
    Case("speech_invalid_inputs", "invalid inputs refused, empty batch answered", speech_invalid_inputs),
]


def run_case(case: Case) -> Outcome:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"fault-{case.name}-") as folder:
        try:
            happened, survived = case.run(pathlib.Path(folder)), True
        except Broken as broken:
            happened, survived = f"NOT SURVIVED: {broken}", False
        except NotImplementedError as reason:
            happened, survived = f"not run: {reason}", None
    happened = happened.replace(folder, "<case folder>")
    outcome = Outcome(case.name, case.expected, happened, survived, round(time.perf_counter() - start, 1))
    print(f"{case.name}: {happened} ({outcome.seconds:.0f} s)", flush=True)
    return outcome


def markdown(outcomes: list[Outcome]) -> str:
    lines = ["| case | expected | what happened | survived | seconds |", "|---|---|---|---|---|"]
    for outcome in outcomes:
        mark = {True: "yes", False: "**no**", None: "not run"}[outcome.survived]
        lines.append(
            f"| {outcome.name} | {outcome.expected} | {outcome.happened.replace('|', '/')} | {mark} | "
            f"{outcome.seconds:.0f} |"
        )
    lines += ["", summary(outcomes)]
    return "\n".join(lines) + "\n"


def summary(outcomes: list[Outcome]) -> str:
    run = [o for o in outcomes if o.survived is not None]
    survived = sum(bool(o.survived) for o in run)
    text = f"{len(run)} cases, {survived} survived with nothing lost"
    skipped = len(outcomes) - len(run)
    return text + (f" ({skipped} not possible here)" if skipped else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=[case.name for case in CASES], default=None)
    args = parser.parse_args(argv)
    cases = [case for case in CASES if args.only is None or case.name in args.only]
    outcomes = [run_case(case) for case in progress(cases, "fault cases", unit="case")]
    results = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "cases": [dataclasses.asdict(outcome) for outcome in outcomes],
        "summary": summary(outcomes),
    }
    if args.only is None:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "faults.json").write_text(json.dumps(results, indent=2) + "\n")
        (RESULTS / "faults.md").write_text(markdown(outcomes))
    print(summary(outcomes))
    return 0 if all(o.survived is not False for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
