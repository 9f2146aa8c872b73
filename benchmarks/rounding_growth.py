"""How far float32 rounding carries the CNN's training: the engine against keras fit, and each against itself.

Trains ``cnn_small`` (He normal, seed 0, MNIST in order, batch 32) for 1 to 200
steps four ways: the stacked engine and ``keras.Model.fit`` from the same
weights, and each again from those weights moved by one float32 ulp. Prints the
largest relative weight difference (in norm, over layers) after each horizon.
Where the engine and fit part as far as a one-ulp start parts each from itself,
the difference is rounding amplified by training, not a difference in arithmetic.

    python benchmarks/rounding_growth.py [STEPS ...]
"""

from __future__ import annotations

import sys

import keras
import numpy as np

from initlab import training
from initlab.training.spec import RunSpec


def main(horizons: list[int]) -> None:
    data = training.prepare_data("mnist", preprocess="scale", channels=True, train_limit=8000, test_limit=500)
    spec = RunSpec(dataset="mnist", model="cnn_small", init="he_normal", seed=0, train_limit=8000, test_limit=500)
    rng = np.random.default_rng(1)
    start = training.build_for(spec, data).get_weights()
    nudged = [
        np.nextafter(w, np.where(rng.random(w.shape) < 0.5, np.float32(np.inf), np.float32(-np.inf))).astype(np.float32)
        for w in start
    ]

    def stacked(weights, x, y):
        model = training.build_for(spec, data)
        model.set_weights(weights)
        stack, _ = training.fit_stack([model], [0], x, y_train=y, epochs=1, shuffle=False, validation_split=0.0)
        return stack.get_weights(0)

    def fit(weights, x, y):
        model = training.build_for(spec, data)
        model.set_weights(weights)
        model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
        return model.get_weights()

    def apart(a, b):
        return max(np.linalg.norm(p - q) / np.linalg.norm(q) for p, q in zip(a, b))

    print(f"{'steps':>5}  {'engine vs fit':>13}  {'engine vs engine (1 ulp)':>24}  {'fit vs fit (1 ulp)':>18}")
    for steps in horizons:
        x, y = data.x_train[: 32 * steps], data.y_train[: 32 * steps]
        e0, e1, k0, k1 = stacked(start, x, y), stacked(nudged, x, y), fit(start, x, y), fit(nudged, x, y)
        print(f"{steps:>5}  {apart(e0, k0):>13.1e}  {apart(e0, e1):>24.1e}  {apart(k0, k1):>18.1e}", flush=True)
        keras.backend.clear_session()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 10, 20, 25, 30, 40, 100, 200])
