"""Market-basket rules between product families, counted exactly over family bitmasks.

A basket is one customer's purchases (amount > 0) on one calendar day. Each basket is an
integer bitmask of its families; ``np.unique`` collapses the baskets to a few distinct
masks with counts, and the count of an itemset is the summed count of the masks that
contain it (Apriori pruning keeps the candidates few).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

RULE_COLUMNS = [
    "antecedent",
    "consequent",
    "support",
    "confidence",
    "lift",
    "n_baskets",
    "antecedent_support",
    "consequent_support",
    "size",
]
MAX_FAMILIES = 62  # one int64 bitmask per basket
SEPARATOR = " + "
_CHUNK = 4096


def basket_masks(transactions: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """One family bitmask per (customer, day) basket of purchases, and the family names."""
    missing = [c for c in ("customer_id", "ts", "amount", "family") if c not in transactions]
    if missing:
        raise ValueError(f"transactions lack column(s) {', '.join(missing)} needed for baskets")
    bought = transactions.loc[transactions["amount"].to_numpy() > 0]
    family = bought["family"]
    if isinstance(family.dtype, pd.CategoricalDtype):
        names = [str(c) for c in family.cat.categories]
        fam = family.cat.codes.to_numpy().astype(np.int64)
    else:
        fam, uniques = pd.factorize(family.astype(str), sort=True)
        names = [str(u) for u in uniques]
    if len(names) > MAX_FAMILIES:
        raise ValueError(f"{len(names)} families; basket rules support at most {MAX_FAMILIES}")
    if len(bought) == 0:
        return np.empty(0, dtype=np.int64), names
    cust = pd.factorize(bought["customer_id"])[0].astype(np.int64)
    day = pd.to_datetime(bought["ts"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    span = int(day.max() - day.min()) + 1
    _, basket = np.unique(cust * span + (day - day.min()), return_inverse=True)
    masks = np.zeros(int(basket.max()) + 1, dtype=np.int64)
    np.bitwise_or.at(masks, basket.ravel(), np.left_shift(np.int64(1), fam))
    return masks, names


def _count(umask: np.ndarray, weight: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Baskets containing each candidate itemset (all bits of the candidate set)."""
    out = np.empty(len(cand), dtype=np.int64)
    for start in range(0, len(cand), _CHUNK):
        c = cand[start : start + _CHUNK]
        contains = (umask[:, None] & c[None, :]) == c[None, :]
        out[start : start + _CHUNK] = weight @ contains
    return out


def frequent_itemsets(
    masks: np.ndarray, n_items: int, max_size: int | None, min_support: float
) -> dict[int, int]:
    """Basket counts of every itemset (as a bitmask) with support >= ``min_support``."""
    n = len(masks)
    if n == 0:
        return {}
    umask, weight = np.unique(masks, return_counts=True)
    max_size = n_items if max_size is None else min(max_size, n_items)
    min_count = max(1, int(np.ceil(min_support * n - 1e-9)))
    singles = np.left_shift(np.int64(1), np.arange(n_items, dtype=np.int64))
    counts = _count(umask, weight, singles)
    found = {int(m): int(c) for m, c in zip(singles, counts, strict=True) if c >= min_count}
    level = sorted(found)
    for size in range(2, max_size + 1):
        items = sorted({i for m in level for i in range(n_items) if m >> i & 1})
        frequent_prev = set(level)
        cand = []
        for combo in combinations(items, size):
            mask = sum(1 << i for i in combo)
            if all(mask & ~(1 << i) in frequent_prev for i in combo):
                cand.append(mask)
        if not cand:
            break
        cand_arr = np.array(cand, dtype=np.int64)
        counts = _count(umask, weight, cand_arr)
        kept = {int(m): int(c) for m, c in zip(cand_arr, counts, strict=True) if c >= min_count}
        found.update(kept)
        level = sorted(kept)
    return found


def _name(mask: int, names: list[str]) -> str:
    return SEPARATOR.join(n for i, n in enumerate(names) if mask >> i & 1)


def basket_rules(
    transactions: pd.DataFrame, max_size: int | None = 3, min_support: float = 0.001
) -> pd.DataFrame:
    """Rules antecedent -> consequent from frequent family itemsets of 2..``max_size``.

    ``support`` = share of baskets with both sides, ``confidence`` = P(consequent |
    antecedent), ``lift`` = confidence / P(consequent), ``n_baskets`` = baskets with both
    sides. Every split of an itemset is a rule. Sorted by lift, then support. ``max_size``
    None means all sizes. The input is not modified.
    """
    masks, names = basket_masks(transactions)
    counts = frequent_itemsets(masks, len(names), max_size, min_support)
    n = len(masks)
    rows = []
    for itemset, count in counts.items():
        items = [1 << i for i in range(len(names)) if itemset >> i & 1]
        for k in range(1, len(items)):
            for ante_items in combinations(items, k):
                part = sum(ante_items)
                rows.append((part, itemset & ~part, itemset, count))
    if not rows:
        return pd.DataFrame({c: [] for c in RULE_COLUMNS}).astype(
            {"antecedent": object, "consequent": object, "n_baskets": np.int64, "size": np.int64}
        )
    ante, cons, full, both = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    ante_n = np.array([counts[int(a)] for a in ante], dtype=np.float64)
    cons_n = np.array([counts[int(c)] for c in cons], dtype=np.float64)
    confidence = both / ante_n
    table = pd.DataFrame(
        {
            "antecedent": [_name(int(a), names) for a in ante],
            "consequent": [_name(int(c), names) for c in cons],
            "support": both / n,
            "confidence": confidence,
            "lift": confidence / (cons_n / n),
            "n_baskets": both,
            "antecedent_support": ante_n / n,
            "consequent_support": cons_n / n,
            "size": np.array([bin(int(m)).count("1") for m in full], dtype=np.int64),
        }
    )
    order = ["lift", "support", "antecedent", "consequent"]
    table = table.sort_values(order, ascending=[False, False, True, True], kind="stable")
    return table.reset_index(drop=True)
