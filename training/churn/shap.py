"""Exact TreeSHAP contributions of an XGBoost booster, computed once per decision pattern.

XGBoost's path-dependent TreeSHAP value of one tree depends on a row only through the
direction the row takes at each of the tree's split nodes (the "hot" child). Rows with
the same directions at every node of a tree get the same contributions from it, bit for
bit. So per tree: the direction bits of every row (vectorised comparisons), the distinct
bit patterns, XGBoost's own ``pred_contribs`` on one representative row per pattern with
the one-tree slice of the booster, and a gather. The per-tree values are summed in float32
in tree order, as XGBoost sums them, so the feature columns equal
``booster.predict(dmatrix, pred_contribs=True)`` exactly (the bias column is left out).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xgboost as xgb

MAX_NODES = 62  # split nodes per tree the pattern's int64 can hold


@dataclass(frozen=True)
class _Tree:
    """A tree's split nodes: feature, float32 threshold, missing direction, categories."""

    booster: xgb.Booster  # the one-tree slice
    features: np.ndarray  # per split node
    thresholds: np.ndarray  # float32
    default_left: np.ndarray
    categories: tuple[np.ndarray | None, ...]  # right-going categories; None: numeric split
    used: np.ndarray  # the features the tree splits on

    def pattern(self, matrix: np.ndarray, missing: np.ndarray) -> np.ndarray:
        """Per row, bit k set when the row goes left at split node k (XGBoost's rule)."""
        code = np.zeros(len(matrix), dtype=np.int64)
        for k, (f, cats) in enumerate(zip(self.features.tolist(), self.categories, strict=True)):
            x = matrix[:, f]
            # a category in the node's set goes right; any other (or invalid) one left
            left = x < self.thresholds[k] if cats is None else ~np.isin(x, cats)
            left = np.where(missing[:, f], bool(self.default_left[k]), left)
            code |= left.astype(np.int64) << k
        return code


def _trees(booster: xgb.Booster) -> list[_Tree] | None:
    """The booster's trees, or None when they are not plain single-output gbtree trees."""
    model = json.loads(booster.save_raw("json"))["learner"]
    gbm = model["gradient_booster"]
    if gbm.get("name") != "gbtree" or int(model["learner_model_param"].get("num_class", 0)) > 1:
        return None
    out = []
    for t, tree in enumerate(gbm["model"]["trees"]):
        if int(tree["tree_param"].get("size_leaf_vector", 1)) > 1:
            return None
        left = np.asarray(tree["left_children"])
        nodes = np.flatnonzero(left != -1)
        if len(nodes) > MAX_NODES:
            return None
        segments = dict(
            zip(
                tree["categories_nodes"],
                zip(tree["categories_segments"], tree["categories_sizes"], strict=True),
                strict=True,
            )
        )
        cats_all = np.asarray(tree["categories"], dtype=np.float32)
        categories: list[np.ndarray | None] = []
        for node in nodes.tolist():
            if tree["split_type"][node] == 1:
                start, size = segments.get(node, (0, 0))
                categories.append(cats_all[start : start + size])
            else:
                categories.append(None)
        features = np.asarray(tree["split_indices"], dtype=np.int64)[nodes]
        out.append(
            _Tree(
                booster=booster[t : t + 1],
                features=features,
                thresholds=np.asarray(tree["split_conditions"], dtype=np.float32)[nodes],
                default_left=np.asarray(tree["default_left"], dtype=bool)[nodes],
                categories=tuple(categories),
                used=np.unique(features),
            )
        )
    return out


class PatternShap:
    """``contributions(matrix)``: the feature columns of XGBoost's exact TreeSHAP."""

    def __init__(self, booster: xgb.Booster, to_dmatrix: Callable[[np.ndarray], xgb.DMatrix]):
        self._trees = _trees(booster)
        self._booster = booster
        self._to_dmatrix = to_dmatrix

    @property
    def supported(self) -> bool:
        return self._trees is not None

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """float32 (rows, features) contributions of the float32 design ``matrix``."""
        if self._trees is None:
            raise ValueError("the booster's trees are not plain gbtree trees")
        n, n_features = matrix.shape
        out = np.zeros((n, n_features), dtype=np.float32)
        if n == 0:
            return out
        missing = np.isnan(matrix)
        for tree in self._trees:
            codes, first, inverse = np.unique(
                tree.pattern(matrix, missing), return_index=True, return_inverse=True
            )
            values = tree.booster.predict(self._to_dmatrix(matrix[first]), pred_contribs=True)
            cols = tree.used
            out[:, cols] += values[:, cols][inverse.reshape(-1)]
            del codes
        return out
