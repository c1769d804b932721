"""``cintel simulate-responses``: what the customers of a simulated data folder did after the
recorded decisions, written through the files a deployment uses.

Reads the decision log and the folder's ``ground_truth_responses.parquet``; writes channel
feedback records (``<feedback_dir>/YYYY-MM-DD.jsonl``, the service's format) and a new
data folder: the folder's transactions plus the purchases in the response windows, its
customers, and its ground truth (the response truth as drawn from, i.e. after ``drift``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from training.data.decision_log import read_decisions
from training.data.io import DATA_END_KEY, find_table, load_data, write_table
from training.data.labels import data_end
from training.data.simulator.responses import drifted, simulate_outcomes

TRUTH_FILE = "ground_truth_responses.parquet"
TRUTH_FILES = ("ground_truth.parquet", TRUTH_FILE)
__all__ = ["DATA_END_KEY", "ReplayResult", "simulate_responses"]


@dataclass(frozen=True)
class ReplayResult:
    """What one simulation wrote and why some rows were left out."""

    out_dir: Path
    records: int
    rows: int
    purchases: int
    feedback: int
    feedback_files: list[Path]
    unknown_rows: int
    shift: pd.Timedelta | None
    decisions_out: Path | None
    warnings: list[str] = field(default_factory=list)


def resolve_at(at: str | None, transactions: pd.DataFrame) -> pd.Timestamp | None:
    """``--at``: None, ``data-end`` (the day after the last transaction) or a date."""
    if at is None:
        return None
    if at == "data-end":
        return data_end(transactions) + pd.Timedelta(days=1)
    try:
        return pd.Timestamp(at).tz_localize(None) if pd.Timestamp(at).tzinfo else pd.Timestamp(at)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"--at: {at!r} is not a date; use YYYY-MM-DD or data-end") from exc


def _iso(ts: pd.Series) -> list[str]:
    return list(ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"))


def retime_log(src: Path, dst: Path, shift: pd.Timedelta) -> Path:
    """Copy the decision log with every ``ts`` moved by ``shift`` (same decision ids), one
    file per new UTC day; lines that do not parse are left out, as readers skip them."""
    dst.mkdir(parents=True, exist_ok=True)
    by_day: dict[str, list[bytes]] = {}
    for path in sorted(Path(src).glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(record, dict) or "ts" not in record:
                continue
            when = pd.Timestamp(record["ts"])
            when = (when.tz_convert("UTC").tz_localize(None) if when.tzinfo else when) + shift
            record["ts"] = when.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
            by_day.setdefault(record["ts"][:10], []).append(orjson.dumps(record))
    for day, lines in by_day.items():
        (dst / f"{day}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    return dst


def write_feedback(feedback: pd.DataFrame, folder: Path) -> list[Path]:
    """Append feedback records to ``folder/YYYY-MM-DD.jsonl`` as the service writes them."""
    if feedback.empty:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    stamps = _iso(feedback["ts"])
    records = feedback.assign(ts=stamps).to_dict("records")
    by_day: dict[str, list[bytes]] = {}
    for record in records:
        by_day.setdefault(record["ts"][:10], []).append(orjson.dumps(record))
    paths = []
    for day, lines in sorted(by_day.items()):
        path = folder / f"{day}.jsonl"
        with open(path, "ab") as fh:
            fh.write(b"\n".join(lines) + b"\n")
        paths.append(path)
    return paths


def _with_purchases(tx: pd.DataFrame, purchases: pd.DataFrame) -> pd.DataFrame:
    """The transactions plus the new purchases, same columns and types, customer then time."""
    new = purchases[tx.columns]
    columns: dict[str, Any] = {}
    for name in tx.columns:
        old, add = tx[name], new[name]
        if isinstance(old.dtype, pd.CategoricalDtype):
            cats = old.cat.categories.union(pd.Index(add.dropna().astype(str).unique()))
            columns[name] = pd.Categorical(
                np.concatenate([old.astype(object).to_numpy(), add.astype(object).to_numpy()]),
                categories=cats,
            )
        else:
            both = np.concatenate([old.to_numpy(), add.to_numpy()])
            columns[name] = pd.Series(both).astype(old.dtype).to_numpy()
    out = pd.DataFrame(columns)
    if "quantity" in out and np.all(np.mod(out["quantity"].dropna(), 1) == 0):
        out["quantity"] = out["quantity"].astype(
            "Int64" if out["quantity"].isna().any() else "int64"
        )
    return out.sort_values(["customer_id", "ts"], kind="stable").reset_index(drop=True)


def _file_order(frame: pd.DataFrame, data_dir: Path, name: str) -> pd.DataFrame:
    """The columns in the order of the input file (validation puts its own first)."""
    path = find_table(data_dir, name)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        names = pq.read_schema(path).names
    else:
        names = list(pd.read_csv(path, nrows=0).columns)
    first = [c for c in names if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]


def simulate_responses(
    data_dir: Path,
    out_dir: Path,
    decisions_dir: Path,
    feedback_dir: Path,
    drift: float = 1.0,
    seed: int = 0,
    at: str | None = None,
    now: pd.Timestamp | None = None,
) -> ReplayResult:
    """Simulate the outcomes of the decisions in ``decisions_dir`` for the customers of the
    simulated folder ``data_dir``; write ``out_dir`` and feedback (see the module doc).

    ``drift`` scales both true probabilities (1: the world the truth describes).
    ``at`` replays the decisions as if the first had been made then (``data-end``: the
    day after the data ends), keeping their spacing, and writes the re-timed log to
    ``out_dir/decisions`` (report it with ``--decisions``); without it the windows must
    have ended by ``now``, since the data contract drops future transactions."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if out_dir.resolve() == data_dir.resolve():
        raise ValueError("--out must be a new folder: the input data folder is never modified")
    if not drift > 0:
        raise ValueError(f"--drift must be a positive factor (1 = no drift), got {drift}")
    truth_path = data_dir / TRUTH_FILE
    if not truth_path.exists():
        raise FileNotFoundError(
            f"{data_dir}: no {TRUTH_FILE}; simulate-responses needs a folder made by "
            "`cintel synth` (the true responses to offers)"
        )
    data = load_data(data_dir)
    decisions = read_decisions(decisions_dir)
    records = int(decisions.attrs.get("records", 0))
    if decisions.empty:
        raise ValueError(
            f"{decisions_dir}: no decision records with offers; serve some /profile requests "
            "or run `cintel targets` first"
        )
    warnings = []
    if decisions.attrs.get("skipped"):
        warnings.append(f"{decisions.attrs['skipped']} unreadable decision line(s) skipped")
    start = resolve_at(at, data.transactions)
    shift, decisions_out = None, None
    if start is not None:
        shift = start - decisions["ts"].min()
        decisions = decisions.assign(ts=decisions["ts"] + shift)
    ends = decisions["ts"] + pd.to_timedelta(decisions["response_window_days"], unit="D")
    now = now if now is not None else pd.Timestamp.now(tz="UTC").tz_localize(None)
    if ends.max() > now:
        raise ValueError(
            f"the response windows end on {ends.max():%Y-%m-%d %H:%M}, after now "
            f"({now:%Y-%m-%d %H:%M}): the data would hold future purchases, which the data "
            "contract drops; replay the decisions on the data's timeline with --at data-end "
            "(or --at DATE)"
        )
    last = data.transactions["ts"].max()
    if decisions["ts"].min() <= last:
        warnings.append(
            f"the first decision ({decisions['ts'].min():%Y-%m-%d}) is not after the data's "
            f"last transaction ({last:%Y-%m-%d}): simulated purchases join real ones"
        )
    truth = drifted(pd.read_parquet(truth_path), drift)
    outcomes = simulate_outcomes(decisions, truth, data.transactions, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    tx = _with_purchases(data.transactions, outcomes.purchases)
    # the simulation is complete up to the last window's end: say so, so that reports
    # count every decision as matured (the latest purchase may come hours earlier)
    covers = {DATA_END_KEY: f"{ends.max():%Y-%m-%dT%H:%M:%S.%f}"}
    write_table(_file_order(tx, data_dir, "transactions"), out_dir / "transactions.parquet", covers)
    write_table(_file_order(data.customers, data_dir, "customers"), out_dir / "customers.parquet")
    if (data_dir / TRUTH_FILES[0]).exists():
        shutil.copyfile(data_dir / TRUTH_FILES[0], out_dir / TRUTH_FILES[0])
    write_table(truth, out_dir / TRUTH_FILE, metadata={"cintel.drift": str(drift)})
    if shift is not None:
        decisions_out = retime_log(decisions_dir, out_dir / "decisions", shift)
    files = write_feedback(outcomes.feedback, Path(feedback_dir))
    if outcomes.unknown_rows:
        warnings.append(
            f"{outcomes.unknown_rows} decision row(s) name customers or families the truth "
            "does not know; they got no outcome"
        )
    return ReplayResult(
        out_dir, records, len(decisions), len(outcomes.purchases), len(outcomes.feedback),
        files, outcomes.unknown_rows, shift, decisions_out, warnings,
    )  # fmt: skip
