"""A hand-built cintel home for the decision tests: a small file store whose offer values
are known by hand, and a catalogue with three campaigns. No training, no MLflow model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from serving.catalogue import Catalogue, parse_catalogue
from training.data.holdout import in_control

AS_OF = "2025-06-30T00:00:00"
VERSIONS = {"churn": "3", "propensity": "2", "segments": "1", "clv": "4"}
CATALOGUE_DATA: dict[str, Any] = {
    "campaigns": {
        "retention": {"holdout": 0.5, "response_window_days": 14},
        "cross_sell": {"holdout": 0.3},
        "up_sell": {"holdout": 0.0},
    },
    "offers": [
        {"id": "retain", "kind": "retention", "save_rate": 0.5, "cost": 1.0, "min_churn": 0.3},
        {"id": "xs_bakery", "kind": "cross_sell", "family": "bakery", "value": 10.0, "cost": 1.0},
        {"id": "xs_wine", "kind": "cross_sell", "family": "wine", "value": 20.0, "cost": 2.0},
        {"id": "up", "kind": "up_sell", "value": 10.0, "accept_rate": 0.5, "cost": 1.0},
    ],
}
# every customer: churn 0.5, CLV 100, silver, bakery 0.4, wine 0.3 (any purchase)
# expected values: retain 0.5*0.5*100-1 = 24, xs_wine 0.3*20-2 = 4, xs_bakery 0.4*10-1 = 3,
# up 0.5*(1-0.5)*10-1 = 1.5; expected responses: retain 1-0.5+0.5*0.5 = 0.75,
# xs_wine 0.3, xs_bakery 0.4, up 0.25
EXPECTED_VALUE = {"retain": 24.0, "xs_wine": 4.0, "xs_bakery": 3.0, "up": 1.5}
EXPECTED_RESPONSE = {"retain": 0.75, "xs_wine": 0.3, "xs_bakery": 0.4, "up": 0.25}
# with uplift scores: bakery 0.3*10-1 = 2 beats wine 0.15*20-2 = 1; retain 0.2*100-1 = 19
UPLIFT = {"uplift_bakery": 0.3, "uplift_wine": 0.15, "uplift_any": 0.2}


def catalogue(**campaigns: dict[str, Any]) -> Catalogue:
    """The test catalogue, with campaign settings replaced by ``campaigns``."""
    data = json.loads(json.dumps(CATALOGUE_DATA))
    for cid, settings in campaigns.items():
        data["campaigns"][cid] = {**data["campaigns"].get(cid, {}), **settings}
    return parse_catalogue(data)


def profiles(n: int = 200, uplift: bool = False) -> pd.DataFrame:
    ids = [f"c{i}" for i in range(n)]
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "churn_probability": 0.5,
            "clv_12m": 100.0,
            "value_tier": "silver",
            "segment": "weekend wine",
            "segment_id": "weekend_wine",
            "propensity_any__bakery": 0.4,
            "propensity_first__bakery": 0.2,
            "propensity_any__wine": 0.3,
            "propensity_first__wine": 0.1,
            "fam_count__bakery": 0,
            "fam_count__wine": 1,
            "recency_days": 10.0,
            "frequency": 3,
        }
    )
    if uplift:
        frame = frame.assign(**UPLIFT)
    return frame


def pick(campaign_groups: dict[str, bool], n: int = 200, cat: Catalogue | None = None) -> str:
    """The first customer id whose control membership per campaign is as given."""
    cat = cat or catalogue()
    for i in range(n):
        cid = f"c{i}"
        if all(
            in_control(cid, c, cat.campaign(c).holdout) == want
            for c, want in campaign_groups.items()
        ):
            return cid
    raise AssertionError(f"no customer of {n} with {campaign_groups}")


def make_home(root: Path, uplift: bool = False, n: int = 200, **campaigns: Any) -> Path:
    """CINTEL_HOME with the file store and the catalogue at ``root/offers.yaml``."""
    home = root / "home"
    store = home / "store"
    store.mkdir(parents=True)
    profiles(n, uplift).to_parquet(store / "profiles.parquet", index=False)
    versions = {**VERSIONS, "uplift": "1"} if uplift else VERSIONS
    meta = {"as_of": AS_OF, "versions": versions, "families": ["bakery", "wine"]}
    (store / "meta.json").write_text(json.dumps(meta))
    data = json.loads(json.dumps(CATALOGUE_DATA))
    for cid, settings in campaigns.items():
        data["campaigns"][cid] = {**data["campaigns"].get(cid, {}), **settings}
    (root / "offers.yaml").write_text(yaml.safe_dump(data))
    return home
