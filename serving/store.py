"""The online store: the latest features and precomputed model outputs per customer.

Two backends with one interface. ``FileStore`` (the embedded default) loads
``store/profiles.parquet`` into column arrays with an id -> row index, so a lookup is a
dict probe plus one array read per column. ``RedisStore`` keeps one JSON document per
customer in Redis so several service instances share one store.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd
import pyarrow as pa

PROFILES_FILE = "profiles.parquet"
META_FILE = "meta.json"
FEATURES_GLOB = "features-*.arrow"


class ProfileStore(Protocol):
    meta: dict[str, Any]

    def get(self, customer_id: str) -> dict[str, Any] | None: ...

    def get_many(self, customer_ids: Sequence[str]) -> list[dict[str, Any] | None]: ...

    def features(self, customer_ids: Sequence[str]) -> pd.DataFrame | None: ...

    def __len__(self) -> int: ...


def _py(value: Any) -> Any:
    """A JSON-ready Python value: numpy scalars unwrapped, NaN as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.ndarray):
        return [_py(v) for v in value.tolist()]
    return value


python_value = _py  # public name for the modules that build rows like the store's


class FileStore:
    """Profiles held in memory as column arrays; ``customer_id`` keys are strings.

    float64 and int64 columns are kept as one 2-D array each, so a row converts to Python
    numbers with one ``tolist()`` per kind instead of one call per column.
    """

    def __init__(
        self, frame: pd.DataFrame, meta: dict[str, Any], folder: Path | None = None
    ) -> None:
        ids = frame["customer_id"].astype(str).to_numpy()
        self.meta = meta
        self.folder = folder
        self._features: pa.Table | None = None
        self._ids = ids
        self._index = {cid: i for i, cid in enumerate(ids)}
        cols = [c for c in frame.columns if c != "customer_id"]
        self._float_names = [c for c in cols if frame[c].dtype == np.float64]
        self._int_names = [c for c in cols if frame[c].dtype == np.int64]
        numeric = {*self._float_names, *self._int_names}
        self._floats = np.ascontiguousarray(frame[self._float_names].to_numpy(np.float64))
        self._ints = np.ascontiguousarray(frame[self._int_names].to_numpy(np.int64))
        self._columns = [(c, frame[c].to_numpy()) for c in cols if c not in numeric]

    @classmethod
    def load(cls, folder: Path) -> FileStore:
        path = folder / PROFILES_FILE
        if not path.exists():
            raise FileNotFoundError(f"{path}: no online store; run `cintel materialize` first")
        meta = json.loads((folder / META_FILE).read_text()) if (folder / META_FILE).exists() else {}
        return cls(pd.read_parquet(path), meta, folder)

    def __len__(self) -> int:
        return len(self._index)

    def position(self, customer_id: str) -> int | None:
        """The customer's row number, or None when the store does not know it."""
        return self._index.get(customer_id)

    def columns(self) -> dict[str, np.ndarray]:
        """Every column as an array over all rows (views, no copies of the numbers)."""
        out: dict[str, np.ndarray] = {"customer_id": self._ids}
        out.update((c, self._floats[:, j]) for j, c in enumerate(self._float_names))
        out.update((c, self._ints[:, j]) for j, c in enumerate(self._int_names))
        out.update(self._columns)
        return out

    def row(self, i: int) -> dict[str, Any]:
        """Row ``i`` as a flat dict of Python values (NaN as None)."""
        out: dict[str, Any] = {"customer_id": str(self._ids[i])}
        floats = self._floats[i].tolist()
        out.update(zip(self._float_names, [None if x != x else x for x in floats], strict=True))
        out.update(zip(self._int_names, self._ints[i].tolist(), strict=True))
        for name, values in self._columns:
            out[name] = _py(values[i])
        out.setdefault("as_of", self.meta.get("as_of"))  # the customer's features' as_of
        return out

    def get(self, customer_id: str) -> dict[str, Any] | None:
        i = self._index.get(str(customer_id))
        return None if i is None else self.row(i)

    def get_many(self, customer_ids: Sequence[str]) -> list[dict[str, Any] | None]:
        return [self.get(cid) for cid in customer_ids]

    def features(self, customer_ids: Sequence[str]) -> pd.DataFrame | None:
        """Every model input of the customers (known ids, in order), from the features file
        materialize wrote beside the profiles; None when the store has none.

        The file is memory-mapped on first use (the normal request path never reads it)."""
        name = self.meta.get("features")
        if self.folder is None or not isinstance(name, str):
            return None
        if self._features is None:
            path = self.folder / name
            if not path.exists():
                return None
            self._features = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
        rows = [self._index[str(cid)] for cid in customer_ids]
        frame = self._features.take(pa.array(rows, pa.int64())).to_pandas()
        if list(frame["customer_id"].astype(str)) != [str(c) for c in customer_ids]:
            raise ValueError(f"{self.folder / name}: rows do not match the profiles")
        return cast(pd.DataFrame, frame)


def write_features(frame: pd.DataFrame, folder: Path) -> str:
    """Write the model inputs of a store as an Arrow file under a new name; returns it.

    The store's meta names the file, so a service holding the previous store keeps the
    previous file; ``write_file_store`` removes the other feature files afterwards."""
    import uuid

    folder.mkdir(parents=True, exist_ok=True)
    name = FEATURES_GLOB.replace("*", uuid.uuid4().hex[:12])
    table = pa.Table.from_pandas(
        frame.assign(customer_id=frame["customer_id"].astype(str)), preserve_index=False
    )
    tmp = folder / (name + ".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    tmp.replace(folder / name)
    return name


def frames(profiles: pd.DataFrame | pa.Table, rows: int) -> Iterator[pd.DataFrame]:
    """The profiles as pandas frames: a frame as it is, an Arrow table ``rows`` at a time
    (a table holds text compactly; its pandas copy would be several times larger)."""
    if isinstance(profiles, pd.DataFrame):
        yield profiles
        return
    for start in range(0, profiles.num_rows, rows):
        yield profiles.slice(start, rows).to_pandas()


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """The columns worth Parquet's dictionary encoding: text (tiers, segments, reasons
    repeat). Trying it on every float column took half the write for nothing."""
    return [
        f.name
        for f in schema
        if pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)
        or pa.types.is_dictionary(f.type)
    ]


def write_file_store(frame: pd.DataFrame | pa.Table, meta: dict[str, Any], folder: Path) -> Path:
    """Replace the file store atomically: write to temporary names, then rename."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (PROFILES_FILE + ".tmp")
    if isinstance(frame, pd.DataFrame):
        text_ids = frame.assign(customer_id=frame["customer_id"].astype(str))
        table = pa.Table.from_pandas(text_ids, preserve_index=False)  # as to_parquet does
    else:
        ids = frame.schema.get_field_index("customer_id")
        text = pc.cast(frame.column(ids), pa.string())
        table = frame.set_column(ids, "customer_id", text)
    pq.write_table(table, tmp, use_dictionary=_dictionary_columns(table.schema))
    tmp_meta = folder / (META_FILE + ".tmp")
    tmp_meta.write_text(json.dumps(meta, indent=2, default=str))
    tmp.replace(folder / PROFILES_FILE)
    tmp_meta.replace(folder / META_FILE)
    for old in folder.glob(FEATURES_GLOB):  # a reader holding one keeps its open mapping
        if old.name != meta.get("features"):
            old.unlink(missing_ok=True)
    return folder / PROFILES_FILE


class RedisStore:
    """Profiles as JSON strings under ``<prefix>:profile:<id>``, meta under ``<prefix>:meta``."""

    def __init__(self, url: str, prefix: str = "cintel") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix
        raw = self._redis.get(f"{prefix}:meta")
        if raw is None:
            raise FileNotFoundError(
                f"redis {url}: no cintel store under prefix {prefix!r}; run "
                "`cintel materialize --store redis` first"
            )
        self.meta = json.loads(raw)

    def _key(self, customer_id: str) -> str:
        return f"{self.prefix}:profile:{customer_id}"

    def __len__(self) -> int:
        return int(self.meta.get("n_customers", 0))

    def _row(self, raw: bytes | str | None) -> dict[str, Any] | None:
        """A stored document; its as_of is the store's unless an event gave it its own."""
        if raw is None:
            return None
        row: dict[str, Any] = json.loads(raw)
        row.setdefault("as_of", self.meta.get("as_of"))
        return row

    def get(self, customer_id: str) -> dict[str, Any] | None:
        return self._row(self._redis.get(self._key(str(customer_id))))

    def get_many(self, customer_ids: Sequence[str]) -> list[dict[str, Any] | None]:
        raws = self._redis.mget([self._key(str(c)) for c in customer_ids])
        return [self._row(r) for r in raws]

    def features(self, customer_ids: Sequence[str]) -> pd.DataFrame | None:
        """None: the Redis store keeps no model inputs (re-materialize after a promotion)."""
        return None

    def put_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Replace the rows of these customers (``POST /events`` updates), pipelined."""
        pipe = self._redis.pipeline(transaction=False)
        for row in rows:
            pipe.set(self._key(str(row["customer_id"])), json.dumps(row, separators=(",", ":")))
        pipe.execute()


def _records(frame: pd.DataFrame) -> Iterable[tuple[str, str]]:
    cols = [c for c in frame.columns if c != "customer_id"]
    arrays = [frame[c].to_numpy() for c in cols]
    for i, cid in enumerate(frame["customer_id"].astype(str).to_numpy()):
        doc = {"customer_id": cid, **{c: _py(a[i]) for c, a in zip(cols, arrays, strict=True)}}
        yield cid, json.dumps(doc, separators=(",", ":"))


def write_redis_store(
    frame: pd.DataFrame | pa.Table,
    meta: dict[str, Any],
    url: str,
    prefix: str = "cintel",
    chunk: int = 10_000,
) -> int:
    """Write every profile with pipelined SETs, then the meta document last, so readers
    never see a meta describing profiles that are not there yet. Returns the count."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=2)
    pipe = client.pipeline(transaction=False)
    n = 0
    for part in frames(frame, chunk):
        for cid, doc in _records(part):
            pipe.set(f"{prefix}:profile:{cid}", doc)
            n += 1
            if n % chunk == 0:
                pipe.execute()
    pipe.execute()
    client.set(f"{prefix}:meta", json.dumps({**meta, "n_customers": n}, default=str))
    return n


def open_store(backend: str, folder: Path, redis_url: str, prefix: str) -> ProfileStore:
    """The configured backend, loaded."""
    if backend == "redis":
        return RedisStore(redis_url, prefix)
    return FileStore.load(folder)
