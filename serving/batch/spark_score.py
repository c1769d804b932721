"""Score every customer with the champions on Spark: the pandas batch scorer per Arrow batch.

The champions' bundles (native XGBoost files and JSON, no pickle) travel with the job as
bytes; each Python worker unpacks and loads them once, then applies
``serving.batch.materialize.score_all`` to every Arrow batch of its partitions with
``mapInPandas``: the same vectorised code as ``cintel materialize``, never a per-customer
UDF. Executors need the cintel package installed (as they need pyspark).

Every output is a function of the customer's features alone, so the engines agree
whatever the Arrow batches: the CLV interval's Monte Carlo draws too, as they are keyed by
the customer's BTYD history (``training.clv.keyed``), not taken from a shared stream.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from serving.batch.materialize import score_all
from training.tasks import FittedModel, load_bundle

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.types import StructType

_LOADED: dict[str, dict[str, FittedModel]] = {}  # per Python worker: bundles digest -> scorers


@dataclass(frozen=True)
class ShippedBundles:
    """Model name -> a gzipped tar of its bundle folder; ``digest`` names the whole set."""

    archives: dict[str, bytes]
    digest: str

    @classmethod
    def from_folders(cls, folders: dict[str, Path]) -> ShippedBundles:
        archives = {name: _pack(Path(folder)) for name, folder in sorted(folders.items())}
        h = hashlib.sha256()
        for name, blob in archives.items():
            h.update(name.encode() + hashlib.sha256(blob).digest())
        return cls(archives, h.hexdigest())

    def load(self) -> dict[str, FittedModel]:
        """The scorers, unpacked and loaded once per process."""
        if self.digest not in _LOADED:
            root = Path(tempfile.mkdtemp(prefix="cintel-bundles-"))
            scorers = {}
            for name, blob in self.archives.items():
                with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
                    tar.extractall(root / name, filter="data")
                scorers[name] = load_bundle(root / name)
            _LOADED[self.digest] = scorers
        return _LOADED[self.digest]


def _pack(folder: Path) -> bytes:
    if not (folder / "manifest.json").exists():
        raise FileNotFoundError(f"{folder}: not a cintel model bundle (no manifest.json)")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name)
    return buf.getvalue()


def champion_bundles(cache: Path, versions: dict[str, str]) -> dict[str, Path]:
    """The bundle folder of each loaded champion in the service's model cache."""
    out = {}
    for model, version in versions.items():
        found = sorted(p.parent for p in (cache / model / version).rglob("manifest.json"))
        if not found:
            raise FileNotFoundError(f"{cache / model / version}: no model bundle in the cache")
        out[model] = found[0]
    return out


def output_schema(features: DataFrame, sample: pd.DataFrame) -> StructType:
    """The Spark schema of ``score_all``'s output, from a scored sample; the id keeps its type."""
    from pyspark.sql import types as T

    types = {"f": T.DoubleType(), "i": T.LongType(), "u": T.LongType(), "b": T.BooleanType()}
    schema = T.StructType().add("customer_id", features.schema["customer_id"].dataType)
    for col in sample.columns.drop("customer_id"):
        schema = schema.add(col, types.get(sample[col].dtype.kind, T.StringType()))
    return schema


def _conform(frame: pd.DataFrame, schema: StructType) -> pd.DataFrame:
    """Columns in schema order and types Arrow converts without surprises."""
    out: dict[str, Any] = {}
    for field in schema.fields:
        col = frame[field.name]
        name = field.dataType.typeName()
        if name == "string" and field.name != "customer_id":
            col = (
                col.astype(object)
                .where(col.notna(), None)
                .map(lambda v: v if v is None else str(v))
            )
        elif name == "double":
            col = col.astype("float64")
        out[field.name] = col.to_numpy()
    return pd.DataFrame(out)


def score_spark(
    features: DataFrame, bundles: ShippedBundles, approx_reasons: bool = False
) -> DataFrame:
    """A lazy frame with ``score_all``'s columns for every row of ``features``.

    ``features`` holds ``customer_id`` and the snapshot's feature columns; the output
    schema comes from scoring a few rows on the driver. Each Spark task scores on one
    thread (Spark already runs one task per core).
    """
    sample = features.limit(20).toPandas()
    if sample.empty:
        raise ValueError("no customers to score: the snapshot is empty")
    scored = score_all(sample, bundles.load(), threads=1, approx_reasons=approx_reasons)
    schema = output_schema(features, scored)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        scorers = bundles.load()
        for batch in batches:
            if len(batch):
                out = score_all(batch, scorers, threads=1, approx_reasons=approx_reasons)
                yield _conform(out, schema)

    return features.mapInPandas(run, schema)
