"""The ``skgmvae`` command line (``python -m skgmvae``): the digits demo and
``fit``, which clusters the rows of a CSV or ``.npy`` file."""

import argparse
import contextlib
import csv
import os
import pickle
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from . import __version__
from ._demo import is_terminal, live_status, run_demo

#: Text formats read by ``fit``, with their default delimiter (None: guess
#: among comma, tab, semicolon and white space).
TEXT_SUFFIXES = {".csv": None, ".tsv": "\t", ".txt": None}
DATA_SUFFIXES = (*TEXT_SUFFIXES, ".npy")
COMMANDS = ("demo", "fit")

DESCRIPTION = """\
Deep clustering with the Gaussian Mixture VAE (GMVAEClustering).

Without a command, or with 'demo', clusters scikit-learn's handwritten digits
(load_digits) with GMVAEClustering, KMeans and GaussianMixture and compares
them with the true digits. 'fit' clusters the rows of your own CSV or .npy
file. '%(prog)s COMMAND --help' lists a command's options.
"""

EPILOG = """\
examples:
  {prog}                                  run the digits demo
  {prog} demo --seeds 1                   a quicker demo
  {prog} fit data.csv --n-components 5    cluster data.csv, write data_labels.csv
  {prog} fit --help                       all options of fit
"""

FIT_DESCRIPTION = """\
Cluster the rows of a numeric table with GMVAEClustering and write one label
(0 .. K-1) per row, in the order of the rows.

DATA is a .csv, .tsv or .txt file of numbers (one row per sample; the first
line may hold column names: detected, or set with --header/--no-header) or a
.npy file of a 2-D array (numpy.save). Every cell must be a number: drop or
encode text columns such as ids and names, and fill in or drop missing values
first. Features are standardised internally (Gaussian likelihood).
"""

FIT_EPILOG = """\
examples:
  {prog} data.csv -k 5                        labels in data_labels.csv
  {prog} data.csv -k 5 --out labels.npy --save-model model.pkl
  {prog} images.npy -k 10 --likelihood bernoulli --max-iter 50 -v
  {prog} data.csv -k 5 --out - > labels.txt   labels on stdout

A saved model predicts new rows in Python:
  import pickle; model = pickle.load(open("model.pkl", "rb")); model.predict(X)
"""


class CommandError(Exception):
    """A problem with the command's input, reported without a traceback
    and with exit status 2."""


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _int_or_auto(text):
    """``--n-components`` and ``--max-iter``: an integer >= 1 or ``auto``."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 1 or 'auto', got {text!r}"
        ) from None


def _prog():
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return "python -m skgmvae" if name in ("__main__.py", "-m", "-c", "") else name


def build_parser(prog=None):
    """The argument parser of the ``skgmvae`` command.

    Parameters
    ----------
    prog : str, default=None
        Program name shown in help and errors; guessed from ``sys.argv``.

    Returns
    -------
    parser : argparse.ArgumentParser
    """
    prog = prog or _prog()
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        epilog=EPILOG.format(prog=prog),
        formatter_class=raw,
    )
    parser.add_argument("--version", action="version", version=f"skgmvae {__version__}")
    commands = parser.add_subparsers(
        dest="command", title="commands", metavar="{demo,fit}"
    )

    demo = commands.add_parser(
        "demo",
        help="compare GMVAEClustering, KMeans and GaussianMixture on the "
        "digits (the default)",
        description=(
            "Cluster scikit-learn's handwritten digits (load_digits, 1797 "
            "images of 8x8 pixels) with GMVAEClustering, KMeans and "
            "GaussianMixture for several seeds each, and report Hungarian "
            "accuracy, NMI and ARI against the true digits, then which model "
            "won and by how much."
        ),
    )
    demo.add_argument(
        "--seeds",
        type=_positive_int,
        default=3,
        help="fits per model, with random states 0, 1, ... (default 3)",
    )
    demo.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="print GMVAE progress, one line per epoch (-vv: pretraining too)",
    )

    fit = commands.add_parser(
        "fit",
        help="cluster the rows of a .csv or .npy file",
        description=FIT_DESCRIPTION,
        epilog=FIT_EPILOG.format(prog=f"{prog} fit"),
        formatter_class=raw,
    )
    fit.add_argument(
        "data", metavar="DATA", help="input file: .csv, .tsv, .txt or .npy"
    )
    fit.add_argument(
        "-k",
        "--n-components",
        type=_int_or_auto,
        required=True,
        metavar="K",
        help="number of clusters (required); 'auto' chooses it, up to 20",
    )
    fit.add_argument(
        "-o",
        "--out",
        metavar="PATH",
        help="where to write the labels: .csv, .tsv or .txt (one integer per "
        "line) or .npy; '-' for stdout (default: DATA's name + '_labels.csv', "
        "beside DATA)",
    )
    fit.add_argument(
        "--max-iter",
        type=_int_or_auto,
        default="auto",
        metavar="N",
        help="maximum number of training epochs; 'auto' (default): 100, fewer "
        "above 35,000 rows (50 for 70,000)",
    )
    fit.add_argument(
        "--n-init",
        type=_positive_int,
        default=1,
        metavar="N",
        help="independent fits, the best bound is kept (default 1)",
    )
    fit.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="SEED",
        help="seed; the same seed gives the same labels (default 0)",
    )
    fit.add_argument(
        "--likelihood",
        choices=("gaussian", "bernoulli"),
        default="gaussian",
        help="'gaussian' for any real data (default); 'bernoulli' for values "
        "in [0, 1] such as pixel intensities",
    )
    fit.add_argument(
        "--device",
        default="cpu",
        help="'cpu' (default), 'cuda', 'cuda:N', 'mps' or 'auto' (a GPU when "
        "there is one)",
    )
    fit.add_argument(
        "--header",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether the first line of a text file holds column names "
        "(default: detected, a first line without any number is a header)",
    )
    fit.add_argument(
        "--delimiter",
        default=None,
        help="column separator of a text file (default: detected among comma, "
        "tab, semicolon and white space)",
    )
    fit.add_argument(
        "--save-model",
        metavar="PATH",
        help="also pickle the fitted model to PATH (reload with pickle.load)",
    )
    fit.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="print one line per training epoch (-vv: pretraining epochs too)",
    )
    return parser


def main(argv=None):
    """Run the ``skgmvae`` command.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments after the program name; ``sys.argv[1:]`` when None. No
        command (or only options) runs the demo.

    Returns
    -------
    status : int
        0 on success, 2 for a usage or input error (reported on stderr
        without a traceback), 1 when training fails, 130 when interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (
        argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")
    ):
        argv.insert(0, "demo")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else 2
    where = f"{parser.prog} {args.command}"
    try:
        if args.command == "fit":
            return run_fit(args)
        run_demo(seeds=args.seeds, verbose=args.verbose)
        return 0
    except CommandError as exc:
        print(f"{where}: error: {exc}", file=sys.stderr)
        return 2
    except FloatingPointError as exc:
        print(
            f"{where}: error: training failed: {exc}. The data may hold extreme "
            "values; check it, or try another --random-state.",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print(f"\n{where}: interrupted", file=sys.stderr)
        return 130


# ----------------------------------------------------------------------
# reading the data
# ----------------------------------------------------------------------
def read_data(path, header=None, delimiter=None):
    """Read a table of numbers for ``fit``.

    Parameters
    ----------
    path : str or Path
        A ``.csv``, ``.tsv`` or ``.txt`` text file, or a ``.npy`` file.
    header : bool or None, default=None
        Whether the first line of a text file holds column names; None
        decides from the line itself (no number in it: a header).
    delimiter : str or None, default=None
        Column separator of a text file; None guesses it from the first line.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Float data (a read-only memory map for ``.npy`` files).
    header : bool
        Whether a header line was skipped.

    Raises
    ------
    CommandError
        When the file is missing, of another type, or not a finite numeric
        table; the message says what to do.
    """
    path = Path(path)
    if not path.exists():
        raise CommandError(
            f"{path}: no such file. Check the path (relative paths start in "
            f"{Path.cwd()})."
        )
    if path.is_dir():
        raise CommandError(f"{path} is a directory; give a .csv or .npy file.")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        X, header = _read_npy(path), False
    elif suffix in TEXT_SUFFIXES:
        X, header = _read_text(path, header, delimiter or TEXT_SUFFIXES[suffix])
    else:
        raise CommandError(
            f"{path}: unsupported file type {suffix or '(no extension)'!r}. Give "
            "a text table of numbers (.csv, .tsv or .txt) or a NumPy array "
            "saved with numpy.save (.npy); for a spreadsheet, export it as CSV."
        )
    if X.shape[0] == 0:
        raise CommandError(f"{path} has no rows of data.")
    if X.shape[1] == 0:
        raise CommandError(f"{path} has no columns of data.")
    finite = np.isfinite(X).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        col = int(np.flatnonzero(~np.isfinite(X[row]))[0])
        raise CommandError(
            f"{path}: data row {row + 1} (not counting a header), column "
            f"{col + 1}, holds {X[row, col]!r}, and {int((~finite).sum())} row(s) "
            "in all have missing or infinite values. Fill them in or drop those "
            "rows first."
        )
    return X, header


def _read_npy(path):
    try:
        X = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "object" in str(exc).lower():
            raise CommandError(
                f"{path} holds Python objects, not numbers. Save a numeric array: "
                "numpy.save(path, X.astype(float))."
            ) from None
        raise CommandError(f"{path} is not a valid .npy file ({exc}).") from None
    except (OSError, EOFError) as exc:
        raise CommandError(f"{path} is not a valid .npy file ({exc}).") from None
    if X.dtype.kind not in "biuf":
        raise CommandError(
            f"{path} holds an array of dtype {X.dtype}, not numbers. Save a "
            "numeric array: numpy.save(path, X.astype(float))."
        )
    if X.ndim != 2:
        hint = (
            "X.reshape(-1, 1) for one feature per row"
            if X.ndim < 2
            else "X.reshape(len(X), -1) to flatten each sample"
        )
        raise CommandError(
            f"{path} holds a {X.ndim}-D array of shape {X.shape}; fit needs a 2-D "
            f"array, one row per sample. Save {hint}."
        )
    return X


def _split(line, delimiter):
    if delimiter is None:
        return line.split()
    return next(csv.reader([line], delimiter=delimiter), [])


def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _guess_delimiter(line):
    for candidate in (",", "\t", ";"):
        if candidate in line:
            return candidate
    return None  # white space, or a single column


def _read_text(path, header, delimiter):
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            first, lineno = None, 0
            for lineno, line in enumerate(f, 1):
                if line.strip() and not line.lstrip().startswith("#"):
                    first = line.rstrip("\r\n")
                    break
    except UnicodeDecodeError:
        raise CommandError(
            f"{path} is not a UTF-8 text file. If it holds a NumPy array, save "
            "it with numpy.save as .npy; otherwise export it as CSV."
        ) from None
    if first is None:
        raise CommandError(f"{path} is empty: it has no rows of data.")
    if delimiter is None:
        delimiter = _guess_delimiter(first)
    cells = [c.strip() for c in _split(first, delimiter)]
    numeric = [_is_number(c) for c in cells if c]
    if header is None:
        if numeric and all(numeric):
            header = False  # empty cells are reported when the data is read
        elif not any(numeric):
            header = True
        else:
            raise CommandError(
                f"{path}, line {lineno}: the first row mixes numbers and text "
                f"({', '.join(cells[:6])}{', ...' if len(cells) > 6 else ''}). If "
                "it holds column names, pass --header; otherwise every cell must "
                "be a number."
            )
    skip = lineno if header else lineno - 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # empty input
            X = np.loadtxt(
                path,
                delimiter=delimiter,
                skiprows=skip,
                ndmin=2,
                dtype=np.float64,
                quotechar='"',
                encoding="utf-8-sig",
            )
    except ValueError as exc:
        raise CommandError(_locate_bad_cell(path, skip, delimiter, exc)) from None
    return X, header


def _locate_bad_cell(path, skip, delimiter, exc):
    """The message for a text table numpy could not read: the first cell
    that is not a number, or the first row with another number of columns."""
    advice = (
        "Every cell must be a number: drop or encode text columns (ids, names, "
        "categories) and fill in or drop missing values"
    )
    width = None
    with open(path, encoding="utf-8-sig", newline="") as f:
        for lineno, line in enumerate(f, 1):
            if lineno <= skip or not line.strip() or line.lstrip().startswith("#"):
                continue
            cells = [c.strip() for c in _split(line.rstrip("\r\n"), delimiter)]
            for col, cell in enumerate(cells, 1):
                if cell == "":
                    return f"{path}, line {lineno}, column {col} is empty. {advice}."
                if not _is_number(cell):
                    return (
                        f"{path}, line {lineno}, column {col}: {cell!r} is not a "
                        f"number. {advice}."
                    )
            if width is None:
                width = len(cells)
            elif len(cells) != width:
                return (
                    f"{path}, line {lineno} has {len(cells)} columns where the "
                    f"rows above have {width}. Give every row the same columns"
                    + (
                        f" (the delimiter used is {delimiter!r}; set another "
                        "with --delimiter)."
                        if delimiter
                        else "."
                    )
                )
    return f"{path} could not be read as a table of numbers ({exc}). {advice}."


# ----------------------------------------------------------------------
# fit
# ----------------------------------------------------------------------
def _check_writable(path, what):
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise CommandError(
            f"cannot write the {what} to {path}: the folder {parent} does not "
            "exist. Create it first or choose another path."
        )
    if not os.access(parent, os.W_OK):
        raise CommandError(
            f"cannot write the {what} to {path}: the folder {parent} is not "
            "writable. Choose another path."
        )


def _labels_path(args, data):
    if args.out is None:
        out = data.with_name(f"{data.stem}_labels.csv")
    elif args.out == "-":
        return None
    else:
        out = Path(args.out)
    if out.suffix.lower() not in DATA_SUFFIXES:
        raise CommandError(
            f"--out {out}: unsupported file type {out.suffix or '(no extension)'!r}; "
            "use .csv, .tsv or .txt (one label per line) or .npy, or '-' for "
            "stdout."
        )
    if out.exists() and data.exists() and out.resolve() == data.resolve():
        raise CommandError(
            f"--out {out} is the input file; choose another path for the labels."
        )
    _check_writable(out, "labels")
    return out


def write_labels(labels, out, stream=None):
    """Write one label per row to ``out`` (.npy, or text with one integer
    per line), or to ``stream`` when ``out`` is None."""
    labels = np.asarray(labels, dtype=np.int64)
    if out is None:
        stream.write("".join(f"{label}\n" for label in labels))
        stream.flush()
    elif out.suffix.lower() == ".npy":
        np.save(out, labels)
    else:
        np.savetxt(out, labels, fmt="%d")


#: The estimator's parameters that ``fit`` sets, with their options.
OPTIONS = {
    "n_components": "--n-components",
    "max_iter": "--max-iter",
    "n_init": "--n-init",
    "random_state": "--random-state",
    "likelihood": "--likelihood",
    "device": "--device",
}
_SETTING = re.compile(rf"\b({'|'.join(OPTIONS)})=(?:'([^']*)'|([^\s,;:)]+))")


def _as_options(message):
    """``message``, from the estimator, with each ``name=value`` of a
    parameter in ``OPTIONS`` written as the command's ``--option value``."""
    return _SETTING.sub(
        lambda m: f"{OPTIONS[m[1]]} {m[2] if m[2] is not None else m[3]}", message
    )


def _fit_model(model, X, live, report, verbose):
    """Fit ``model``, with progress on ``report``; return the warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        redirect = (
            contextlib.redirect_stdout(report)
            if verbose and report is not sys.stdout
            else contextlib.nullcontext()
        )
        with live_status(model, report, "  ", live), redirect:
            model.fit(X)
    return caught


def _warning_notes(caught, args):
    from sklearn.exceptions import ConvergenceWarning

    notes = []
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            notes.append(
                f"training stopped at --max-iter {args.max_iter} while the bound "
                "was still improving; a larger --max-iter may fit better."
            )
        elif issubclass(w.category, (UserWarning, RuntimeWarning)):
            notes.append(str(w.message))
    return list(dict.fromkeys(notes))


def run_fit(args):
    """The ``fit`` command: read, cluster, write the labels, summarise.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options of ``fit`` (see ``skgmvae fit --help``).

    Returns
    -------
    status : int
        0 on success.
    """
    from . import GMVAEClustering
    from ._utils import resolve_device

    data = Path(args.data)
    out = _labels_path(args, data)
    model_path = Path(args.save_model) if args.save_model else None
    if model_path is not None:
        _check_writable(model_path, "model")
    try:
        device = resolve_device(args.device, strict=True)
    except ValueError as exc:
        raise CommandError(_as_options(str(exc))) from None
    report = sys.stdout if out is not None else sys.stderr
    X, header = read_data(data, args.header, args.delimiter)
    n_rows, n_features = X.shape
    k = args.n_components
    live = args.verbose == 0 and is_terminal(report)
    model = GMVAEClustering(
        k,
        max_iter=args.max_iter,
        n_init=args.n_init,
        random_state=args.random_state,
        likelihood=args.likelihood,
        device=args.device,
        verbose=args.verbose,
    )
    print(
        f"Read {data}: {n_rows} rows x {n_features} features"
        f"{' (header line skipped)' if header else ''}.",
        file=report,
    )
    print(
        f"Fitting GMVAEClustering(n_components={k}) on {device.type} ...",
        file=report,
        flush=True,
    )
    tic = time.perf_counter()
    try:
        caught = _fit_model(model, X, live, report, args.verbose)
    except ValueError as exc:
        raise CommandError(_as_options(str(exc))) from None
    seconds = time.perf_counter() - tic
    labels = model.labels_
    write_labels(labels, out, sys.stdout)
    if model_path is not None:
        with open(model_path, "wb") as f:
            pickle.dump(model, f)
    for line in _summary(model, labels, seconds, out, model_path):
        print(line, file=report)
    for note in _warning_notes(caught, args):
        print(f"note: {note}", file=report)
    return 0


def _summary(model, labels, seconds, out, model_path):
    k = model.n_components_
    sizes = np.bincount(labels, minlength=k)
    status = "converged" if model.converged_ else "stopped at --max-iter"
    lines = [
        f"Done in {seconds:.1f}s: {model.n_iter_} epochs ({status}).",
        *(
            [f"Clusters found (--n-components auto): {k}."]
            if model.n_components == "auto"
            else []
        ),
        f"Lower bound (mean ELBO per row, higher is better): {model.lower_bound_:.4f}",
        "Cluster sizes:",
        "  cluster     rows   share",
    ]
    for cluster, size in enumerate(sizes):
        lines.append(f"  {cluster:>7d} {size:>8d} {size / len(labels):>7.1%}")
    empty = int((sizes == 0).sum())
    if empty:
        lines.append(
            f"{empty} of {k} clusters are empty: --n-components {k - empty} may "
            "describe the data as well."
        )
    target = "stdout" if out is None else str(out)
    lines.append(f"Labels written to {target} (one per row, in input order).")
    if model_path is not None:
        lines.append(f"Model saved to {model_path} (pickle.load to reuse it).")
    return lines
