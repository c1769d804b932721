"""An uplift model in the store: materialize's scoring adds ``uplift_<arm>`` columns when an
uplift champion can score the data (and leaves it out, saying why, when it cannot), and a
campaign with ``ranking: uplift`` is then ranked by them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from serving.answers import StoreAnswers, from_store, render
from serving.batch.materialize import load_champions, score_all, usable_optional
from serving.catalogue import default_catalogue, parse_catalogue
from serving.offers import OfferContext, request_rules
from serving.settings import ServiceSettings
from serving.store import FileStore
from tests.training.uplift.synthetic import synthetic
from training.data.contract import CleanData
from training.data.snapshot import build_snapshot
from training.uplift import fit, tables_from_responses


class Broken:
    def predict_frame(self, features: pd.DataFrame) -> pd.DataFrame:
        raise ValueError("features missing for the uplift model: fam_count__garden")

    def save(self, path: Path) -> None: ...


def test_uplift_scores_in_the_store_rank_an_uplift_campaign(
    trained_home: tuple[Path, CleanData],
) -> None:
    home, data = trained_home
    scorers, versions = load_champions(ServiceSettings(home=home), optional=True)
    assert "uplift" not in scorers  # none registered: the four required ones only
    syn = synthetic(2000, seed=3)  # the same simulator: the same families and channels
    uplift = fit(tables_from_responses(syn.data, syn.responses, decisions=syn.decisions)[0])
    snap = build_snapshot(data, None, horizon_days=1)
    features = snap.frame[["customer_id", *snap.feature_columns]]
    said: list[str] = []
    kept, kept_versions = usable_optional(
        features, {**scorers, "uplift": uplift}, {**versions, "uplift": "7"}, said.append
    )
    assert "uplift" in kept and kept_versions["uplift"] == "7" and not said
    dropped, dropped_versions = usable_optional(
        features, {**scorers, "uplift": Broken()}, {**versions, "uplift": "8"}, said.append
    )
    assert "uplift" not in dropped and "uplift" not in dropped_versions
    assert said == ["cintel-uplift v8 left out: ValueError: features missing for the uplift "
                    "model: fam_count__garden"]  # fmt: skip

    profiles = score_all(features.head(400), kept, threads=1)
    assert {"uplift_bakery", "uplift_any"} <= set(profiles.columns)
    assert profiles["uplift_bakery"].notna().all()

    raw: dict[str, Any] = default_catalogue().model_dump(mode="json")
    for offer in raw["offers"]:  # the bakery offer in a campaign of its own, by uplift
        if offer["family"] == "bakery":
            offer["campaign"] = "bakery_push"
    raw["campaigns"]["bakery_push"] = {"holdout": 0.0, "ranking": "uplift"}
    raw["campaigns"]["retention"] = {"holdout": 0.0, "ranking": "uplift"}
    cat = parse_catalogue(raw)
    answers = StoreAnswers(FileStore(profiles, {}), cat)
    ids = profiles["customer_id"].astype(str).tolist()
    rendered = render(from_store(answers, ids), cat, request_rules(cat, OfferContext()), None, {})
    by_uplift = by_value = 0
    for answer in map(orjson.loads, rendered):
        assert answer["ranking"]["cross_sell"] == "expected_value"
        for offer in answer["offers"]:
            if offer["campaign"] in ("bakery_push", "retention"):  # arms bakery and any
                assert answer["ranking"][offer["campaign"]] == "uplift"
                assert offer["uplift"] is not None and offer["score"] > 0
                by_uplift += 1
            else:
                assert offer["uplift"] is None and offer["score"] == offer["expected_value"]
                by_value += 1
    assert by_uplift > 0 and by_value > 0


def test_the_spark_engine_names_the_uplift_champion_it_leaves_out() -> None:
    from serving.batch.spark_materialize import spark_models

    required = {"churn": "2", "propensity": "1", "segments": "1", "clv": "3"}
    kept, left_out = spark_models({**required, "uplift": "4"})
    assert kept == required
    assert len(left_out) == 1
    note = left_out[0]
    assert note.startswith("cintel-uplift v4 left out: the Spark engine does not score")
    assert "uplift_<arm>" in note and "--engine pandas" in note
    assert spark_models(required) == (required, ())
