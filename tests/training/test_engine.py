"""The stacked engine against keras.Model.fit: same arithmetic, independent members, divergence."""

from __future__ import annotations

import numpy as np
import pytest

from initlab import training
from initlab.errors import InvalidArgumentError
from initlab.training.spec import RunSpec
from initlab.training.study import Study

N_TRAIN, N_TEST = 4010, 500  # 3208 training examples: 100 full batches of 32 and one of 8
DATA = dict(dataset="mnist", train_limit=N_TRAIN, test_limit=N_TEST)
EPS32 = float(np.finfo(np.float32).eps)


def float32_drift(steps: int, terms: int) -> float:
    """How far (relative, in norm) two float32 trajectories of the same arithmetic may drift apart.

    A sum of ``terms`` products in another order (another CPU's kernels, another stack size)
    differs by about sqrt(terms)·eps relative; ``steps`` updates add such errors up, linearly
    as long as no ReLU or pooling decision flips. A factor of 10 leaves room for Adam's first
    steps, whose update m/sqrt(v) magnifies the relative error of small gradient components.
    """
    return 10 * steps * np.sqrt(terms) * EPS32


def assert_close_in_norm(ours, theirs, tolerance: float) -> None:
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        assert np.linalg.norm(a - b) <= tolerance * np.linalg.norm(b), (
            np.linalg.norm(a - b) / np.linalg.norm(b),
            tolerance,
        )


def _data():
    return training.prepare_data("mnist", preprocess="scale", channels=False, train_limit=N_TRAIN, test_limit=N_TEST)


def _built(model: str, init: str, seed: int, **model_params):
    spec = RunSpec(model=model, init=init, seed=seed, model_params=model_params, **DATA)
    return training.build_for(spec, _data())


@pytest.mark.kernels
@pytest.mark.parametrize(
    "model,params,optimizer",
    [
        ("mlp_128", {}, "adam"),
        ("deep_mlp", {"depth": 3, "width": 64, "activation": "tanh"}, "adam"),
        ("mlp_128_64", {}, "sgd"),
    ],
)
def test_engine_matches_keras_fit(model, params, optimizer) -> None:
    """Same initial weights, same batch order, 303 steps: losses and weights agree to float32 precision."""
    data = _data()
    ours, theirs = _built(model, "he_normal", 0, **params), _built(model, "he_normal", 0, **params)
    theirs.set_weights(ours.get_weights())
    if optimizer == "sgd":
        import keras

        theirs.compile(optimizer=keras.optimizers.SGD(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    stack, (record,) = training.fit_stack(
        [ours],
        [0],
        data.x_train,
        y_train=data.y_train,
        x_test=data.x_test,
        y_test=data.y_test,
        epochs=3,
        optimizer=optimizer,
        shuffle=False,
    )
    hist = theirs.fit(
        data.x_train, data.y_train, batch_size=32, epochs=3, validation_split=0.2, shuffle=False, verbose=0
    ).history
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(record.history[key], hist[key], rtol=2e-4, atol=1e-6, err_msg=key)
    for a, b in zip(stack.get_weights(0), theirs.get_weights()):
        scale = np.abs(b).max()
        assert np.abs(a - b).max() <= 1e-4 * scale + 1e-7
    test_loss, test_acc = theirs.evaluate(data.x_test, data.y_test, verbose=0)
    assert record.test_loss == pytest.approx(test_loss, rel=2e-4)
    assert record.test_accuracy == pytest.approx(test_acc, abs=1e-6)


@pytest.mark.kernels
def test_a_model_without_a_softmax_head_trains_as_keras_fit_does() -> None:
    """002's model as printed: Keras' cross-entropy reads its 64 ReLU outputs, clipped, as probabilities.

    Ten steps only: once outputs cross the clip's bounds (where the gradient stops) the trajectory
    turns on float32 rounding, so longer runs agree in distribution, not step by step."""
    n_train = 410  # 328 training examples: 10 full batches of 32 and one of 8
    data = training.prepare_data("mnist", preprocess="scale", channels=False, train_limit=n_train, test_limit=N_TEST)
    spec = RunSpec(model="mlp_512_256_128_64_no_head", init="he_normal", seed=0, **{**DATA, "train_limit": n_train})
    ours, theirs = training.build_for(spec, data), training.build_for(spec, data)
    theirs.set_weights(ours.get_weights())
    assert ours.layers[-1].name == "hidden_4" and ours.output_shape == (None, 64)
    stack, (record,) = training.fit_stack(
        [ours], [0], data.x_train, y_train=data.y_train, x_test=data.x_test, y_test=data.y_test, epochs=1, shuffle=False
    )
    hist = theirs.fit(
        data.x_train, data.y_train, batch_size=32, epochs=1, validation_split=0.2, shuffle=False, verbose=0
    )
    np.testing.assert_allclose(record.history["loss"], hist.history["loss"], rtol=float32_drift(11, 784))
    assert_close_in_norm(stack.get_weights(0), theirs.get_weights(), float32_drift(11, 784))
    test_loss, test_acc = theirs.evaluate(data.x_test, data.y_test, verbose=0)
    assert record.test_loss == pytest.approx(test_loss, rel=float32_drift(11, 784))
    assert record.test_accuracy == pytest.approx(test_acc, abs=2 / N_TEST)  # an argmax tie may fall either way


@pytest.mark.kernels
def test_a_member_does_not_depend_on_its_stack_mates() -> None:
    data = _data()
    alone = training.fit_stack(
        [_built("mlp_128", "he_normal", 3)],
        [3],
        data.x_train,
        y_train=data.y_train,
        x_test=data.x_test,
        y_test=data.y_test,
        epochs=2,
    )
    inits = [
        "glorot_uniform",
        "he_normal",
        "zeros",
        "random_normal",
        "lecun_normal",
        "orthogonal",
        "he_uniform",
        "random_uniform",
    ]
    seeds = [0, 3, 1, 2, 0, 1, 2, 0]
    mates = training.fit_stack(
        [_built("mlp_128", i, s) for i, s in zip(inits, seeds)],
        seeds,
        data.x_train,
        y_train=data.y_train,
        x_test=data.x_test,
        y_test=data.y_test,
        epochs=2,
    )
    solo, stacked = alone[1][0], mates[1][1]
    tolerance = float32_drift(steps=202, terms=784)  # two epochs of 101 steps; the widest sum is the 784 inputs
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(stacked.history[key], solo.history[key], rtol=tolerance, err_msg=key)
    assert_close_in_norm(mates[0].get_weights(1), alone[0].get_weights(0), tolerance)
    # a mate that leaked into the member (shared Adam state, say) would move it by far more
    mate, own = mates[0].get_weights(0)[0], alone[0].get_weights(0)[0]
    assert np.linalg.norm(mate - own) > 100 * tolerance * np.linalg.norm(own)


@pytest.mark.kernels
def test_a_diverging_member_is_recorded_and_spoils_nothing() -> None:
    study = dict(model="mlp_128", seeds=[0], epochs=2, **DATA)
    mixed = Study(inits=["random_normal", "he_normal"], init_params={"random_normal": {"stddev": 1e20}}, **study).run(
        cache=False
    )
    alone = Study(inits=["he_normal"], **study).run(cache=False)
    bad = mixed[mixed.init == "random_normal"]
    assert (bad.status == "diverged").all() and bad.diverged_epoch.iloc[0] == 1 and len(bad) == 1
    assert np.isnan(bad.test_accuracy).all()
    good = mixed[mixed.init == "he_normal"].reset_index(drop=True)
    cols = ["loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"]
    np.testing.assert_allclose(good[cols].to_numpy(), alone[cols].to_numpy(), rtol=1e-6)
    assert (good.status == "ok").all()


def test_same_seed_repeats_bit_for_bit_and_order_follows_the_seed() -> None:
    study = dict(model="mlp_128", inits=["glorot_uniform"], epochs=2, **DATA)
    a, b = Study(seeds=[5], **study).run(cache=False), Study(seeds=[5], **study).run(cache=False)
    cols = ["loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"]
    np.testing.assert_array_equal(a[cols].to_numpy(), b[cols].to_numpy())
    assert set(a.engine) == {"stacked"}
    np.testing.assert_array_equal(training.batch_order(5, 1, 100), training.batch_order(5, 1, 100))
    assert not np.array_equal(training.batch_order(5, 0, 100), training.batch_order(5, 1, 100))
    assert sorted(training.batch_order(5, 0, 100)) == list(range(100))


def test_bfloat16_is_an_option_with_a_small_accuracy_cost() -> None:
    study = dict(model="mlp_128", inits=["he_normal"], seeds=[0], epochs=2, **DATA)
    f32 = Study(engine="stacked", **study).run(cache=False)
    bf16 = Study(engine="stacked_bf16", **study).run(cache=False)
    assert set(bf16.engine) == {"stacked_bf16"}
    assert abs(f32.test_accuracy.iloc[-1] - bf16.test_accuracy.iloc[-1]) < 0.03
    assert not np.array_equal(f32.loss.to_numpy(), bf16.loss.to_numpy())


def test_engine_choice_and_errors() -> None:
    cnn_spec = RunSpec(model="cnn_small", init="he_normal", seed=0, **DATA)
    assert training.resolve_engine(cnn_spec) == "stacked"
    assert training.resolve_engine(RunSpec(model="mlp_128", init="he_normal", seed=0, **DATA)) == "stacked"
    dropout = RunSpec(model="deep_mlp", init="he_normal", seed=0, model_params={"dropout": 0.1}, **DATA)
    assert training.resolve_engine(dropout) == "keras"
    with pytest.raises(InvalidArgumentError, match="deep_mlp.*dropout.*Conv2D.*use 'keras' or 'auto'"):
        training.resolve_engine(dropout, "stacked")
    with pytest.raises(InvalidArgumentError, match="auto, keras, stacked"):
        training.resolve_engine(cnn_spec, "turbo")
    with_dropout = training.build_for(dropout, _data())
    with pytest.raises(InvalidArgumentError, match="must be built from Flatten, Dense, Conv2D"):
        training.StackedModels([with_dropout])
    with pytest.raises(InvalidArgumentError, match="one architecture"):
        training.StackedModels([_built("mlp_128", "he_normal", 0), _built("mlp_128_64", "he_normal", 0)])


@pytest.mark.kernels
@pytest.mark.parametrize("steps", [1, 10])
def test_cnn_matches_keras_fit(steps: int) -> None:
    """The CNN (im2col convolutions, first-maximum pooling) takes Keras' steps.

    Compared over the first 10 steps, where only float32 rounding separates the two. Later a
    pooling or ReLU decision flips and the trajectories part: after 100 steps the engine and
    ``fit`` differ by about 1e-2 in weight norm, as much as the engine differs from itself
    started one float32 ulp away (``python benchmarks/rounding_growth.py``), so a longer
    comparison would measure chaos, not the arithmetic.
    """
    n_val = 8
    data = training.prepare_data("mnist", preprocess="scale", channels=True, train_limit=N_TRAIN, test_limit=N_TEST)
    x, y = data.x_train[: 32 * steps + n_val], data.y_train[: 32 * steps + n_val]
    split = n_val / len(x)
    spec = RunSpec(model="cnn_small", init="he_normal", seed=0, **DATA)
    ours, theirs = training.build_for(spec, data), training.build_for(spec, data)
    theirs.set_weights(ours.get_weights())
    stack, (record,) = training.fit_stack(
        [ours],
        [0],
        x,
        y_train=y,
        x_test=data.x_test,
        y_test=data.y_test,
        epochs=1,
        shuffle=False,
        validation_split=split,
    )
    hist = theirs.fit(x, y, batch_size=32, epochs=1, validation_split=split, shuffle=False, verbose=0).history
    tolerance = float32_drift(steps, terms=5 * 5 * 64)  # the dense layer's fan-in is the widest sum
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(record.history[key], hist[key], rtol=tolerance, atol=1e-6, err_msg=key)
    assert_close_in_norm(stack.get_weights(0), theirs.get_weights(), tolerance)
    test_loss, test_acc = theirs.evaluate(data.x_test, data.y_test, verbose=0)
    assert record.test_loss == pytest.approx(test_loss, rel=tolerance)
    assert abs(record.test_accuracy - test_acc) <= 1 / N_TEST  # at most one example decided otherwise


def _layout_layers(layout: str):
    """The conv and pool of ``layout`` as functions of channels-last tensors (K, B, H, W, C)."""
    import tensorflow as tf

    from initlab.training import conv

    if layout == "channels_last":
        return conv.conv_channels_last, lambda h: conv.pool_channels_last(h, (2, 2))
    first, last = [0, 4, 1, 2, 3], [0, 2, 3, 4, 1]
    return (
        lambda x, w: tf.transpose(conv.conv_channels_first(tf.transpose(x, first), w), last),
        lambda h: tf.transpose(conv.pool_channels_first(tf.transpose(h, first), (2, 2)), last),
    )


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_stacked_pooling_and_convolution_match_tensorflow_gradients(layout: str) -> None:
    """Ties in a pooling window send the gradient to the first maximum, as TF's max-pool does."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = tf.constant(rng.integers(0, 3, size=(2, 3, 7, 6, 4)).astype(np.float32))  # many ties; odd height
    w = tf.constant(rng.standard_normal((2, 3, 3, 4, 5)).astype(np.float32))

    def loss(pool, conv):
        with tf.GradientTape() as tape:
            tape.watch([x, w])
            h = conv(x, w)  # (K, B, 5, 4, 5)
            y = pool(h)  # (K, B, 2, 2, 5)
            value = tf.reduce_sum(y * tf.reshape(tf.range(1.0, 1.0 + tf.cast(tf.size(y), tf.float32)), y.shape))
        return [v.numpy() for v in (h, y, *tape.gradient(value, [x, w]))]

    def tf_conv(x, w):
        return tf.stack([tf.nn.conv2d(x[k], w[k], 1, "VALID") for k in range(2)])

    def tf_pool(h):
        return tf.stack([tf.nn.max_pool2d(h[k], 2, 2, "VALID") for k in range(2)])

    our_conv, our_pool = _layout_layers(layout)
    ours = loss(our_pool, our_conv)
    theirs = loss(tf_pool, tf_conv)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    tied = loss(our_pool, lambda x, w: x + 0.0 * tf.reduce_sum(w))
    reference = loss(tf_pool, lambda x, w: x + 0.0 * tf.reduce_sum(w))
    np.testing.assert_array_equal(tied[2], reference[2])  # the same element of each tie gets the gradient
    assert (tied[2] != 0).sum() == tied[1].size


def test_channels_first_convolution_of_shared_images_and_of_a_pooled_extent() -> None:
    """Images shared by every model convolve as K copies would; an extent keeps the first rows and
    columns of the output, and its weight gradient is the full one's restricted to them."""
    import tensorflow as tf

    from initlab.training.conv import conv_channels_first

    rng = np.random.default_rng(1)
    x = tf.constant(rng.standard_normal((2, 3, 9, 8)).astype(np.float32))  # (C, B, H, W)
    w = tf.constant(rng.standard_normal((2, 3, 3, 2, 4)).astype(np.float32))  # K = 2
    copies = tf.broadcast_to(x[None], [2, 2, 3, 9, 8])
    weights = tf.constant(rng.standard_normal((2, 4, 3, 6, 6)).astype(np.float32))  # (K, O, B, 6, 6)

    def value_and_grad(conv, crop=(7, 6)):
        with tf.GradientTape() as tape:
            tape.watch(w)
            out = conv(w)[..., : crop[0], : crop[1]]
            value = tf.reduce_sum(out[..., :6, :6] * weights)
        return out.numpy(), tape.gradient(value, w).numpy()

    shared = value_and_grad(lambda w: conv_channels_first(x, w))
    stacked = value_and_grad(lambda w: conv_channels_first(copies, w))
    extent = value_and_grad(lambda w: conv_channels_first(x, w, (6, 6)), crop=(6, 6))
    assert shared[0].shape == (2, 4, 3, 7, 6) and extent[0].shape == (2, 4, 3, 6, 6)
    for a, b in zip(shared, stacked):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(extent[0], shared[0][..., :6, :6], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(extent[1], shared[1], rtol=1e-5, atol=1e-5)


@pytest.mark.kernels
def test_conv_layouts_train_a_stack_alike() -> None:
    """Channels first (the default) and channels last (Keras' layout) take the same ten steps of a
    stack of two CNNs, to float32 rounding; an unknown layout is refused with the valid ones."""
    import tensorflow as tf

    data = training.prepare_data("mnist", preprocess="scale", channels=True, train_limit=N_TRAIN, test_limit=N_TEST)
    specs = [RunSpec(model="cnn_small", init=i, seed=s, **DATA) for i, s in (("he_normal", 0), ("glorot_uniform", 1))]
    models = [training.build_for(s, data) for s in specs]
    x, y = tf.constant(data.x_train[:320]), tf.constant(data.y_train[:320].astype(np.int32))
    order = np.stack([np.arange(320), np.arange(320)[::-1]])
    runs = {}
    for layout in ("channels_first", "channels_last"):
        stack = training.StackedModels(models, conv_layout=layout)
        history = stack.train_epoch(x, y, order, batch_size=32)
        runs[layout] = (history, stack.evaluate(data.x_test, data.y_test), [stack.get_weights(i) for i in (0, 1)])
    tolerance = float32_drift(10, terms=5 * 5 * 64)
    (train_a, test_a, weights_a), (train_b, test_b, weights_b) = runs.values()
    np.testing.assert_allclose(train_a[0], train_b[0], rtol=tolerance)
    np.testing.assert_allclose(test_a[0], test_b[0], rtol=tolerance)
    assert np.abs(test_a[1] - test_b[1]).max() <= 1 / N_TEST
    for ours, theirs in zip(weights_a, weights_b):
        assert_close_in_norm(ours, theirs, tolerance)
    with pytest.raises(InvalidArgumentError, match="channels_first, channels_last"):
        training.StackedModels(models, conv_layout="nchw")
    assert training.StackedModels(models)._program.conv_layout == "channels_first"
    assert training.StackedModels(models, precision="bfloat16")._program.conv_layout == "channels_last"


def test_bench_counts_flops_by_hand_and_prints_its_table(capsys) -> None:
    import keras

    from initlab.nets.models import build_model
    from initlab.training import bench

    mlp = build_model("mlp_128", (28, 28))
    forward = 2 * (784 * 128 + 128 * 10)
    # training: forward + weight grads (2x forward) - the images' gradient; validation: forward
    assert bench.training_flops(mlp, n_train=100, n_val=20, epochs=3) == 3 * (
        100 * (3 * forward - 2 * 784 * 128) + 20 * forward
    )
    cnn = build_model("cnn_small", (28, 28, 1))
    conv1 = 2 * 26 * 26 * 3 * 3 * 1 * 32
    conv2 = 2 * 11 * 11 * 3 * 3 * 32 * 64
    dense = 2 * (5 * 5 * 64 * 128 + 128 * 10)
    assert bench.training_flops(cnn, n_train=1, n_val=0, epochs=1) == 3 * (conv1 + conv2 + dense) - conv1
    assert bench.training_flops(cnn, n_train=0, n_val=0, epochs=2, n_test=5) == 5 * (conv1 + conv2 + dense)
    keras.backend.clear_session()
    cfg = bench.BenchConfig(models=("mlp_128",), stacks=(2,), train_limit=500, keras_models=1, bf16_stack=None)
    table, rate, handover = bench.run_bench(cfg, log=lambda s: None)
    assert rate > 1e8
    assert list(table.way) == ["keras fit", "stacked"] and list(table.K) == [1, 2]
    assert (table.seconds_per_model > 0).all()
    assert (table.compute_fraction > 0).all() and (table.compute_fraction < 1).all()
    assert list(handover.columns) == bench.HANDOVER_COLUMNS and list(handover.model) == ["mlp_128"]
    assert (handover[["converted_cold_ms", "converted_warm_ms", "handed_over_ms", "share_of_stack"]] > 0).all().all()


def test_bench_names_the_cnns_share_of_the_compute_limit() -> None:
    """The CNN alone on the stacked engine gets its own line; dense models get none."""
    import pandas as pd

    from initlab.training import bench

    table = pd.DataFrame(
        [
            ("mlp_128", "stacked", 1, 0.5, 10.0, 0.3, 0.95),
            ("cnn_small", "keras fit", 1, 30.0, 1.0, 0.18, 0.97),
            ("cnn_small", "stacked", 1, 10.0, 3.0, 0.537, 0.98),
            ("cnn_small", "stacked", 2, 11.0, 2.7, 0.49, 0.98),
        ],
        columns=bench.COLUMNS,
    )
    assert bench.conv_shares(table) == [
        "CNN (cnn_small) at K=1: 54% of the compute limit (stacked engine, float32; keras fit: 18%)"
    ]
    assert bench.conv_shares(table[table.model == "mlp_128"]) == []


def test_bench_times_the_engine_without_compiling(monkeypatch) -> None:
    """The warm-up meets every shape of the timed run, so no XLA compilation is timed."""
    from initlab.training import bench

    traces = []

    def counted_fit_stack(*args, **kwargs):
        def count():
            return sum(
                p.epoch.experimental_get_tracing_count() + p.eval.experimental_get_tracing_count()
                for p in training.program._PROGRAMS.values()
            )

        before = count()
        result = training.fit_stack(*args, **kwargs)
        traces.append(count() - before)
        return result

    monkeypatch.setattr(bench, "fit_stack", counted_fit_stack)
    monkeypatch.setattr(training.program, "_PROGRAMS", {})  # nothing compiled by earlier tests: the warm-up must trace
    # validation and test end in partial blocks
    data = training.prepare_data("mnist", preprocess="scale", channels=False, train_limit=700, test_limit=None)
    cfg = bench.BenchConfig(models=("mlp_128",), stacks=(3,), train_limit=700)
    bench._engine_way("mlp_128", 3, cfg, data)
    assert len(traces) == 2 and traces[0] > 0 and traces[1] == 0


def test_keras_fit_repeats_its_first_order_where_the_engine_reshuffles() -> None:
    """Why the engines' last-epoch training accuracies differ slightly (docs/engines.md, "A finding on the way").

    With a global seed and op determinism (as the keras engine runs), Keras' array adapter
    draws the same permutation for every epoch; the stacked engine draws a new one per epoch.
    """
    import keras
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    keras.utils.set_random_seed(0)
    x, y = np.arange(40, dtype=np.float32)[:, None], np.arange(40)
    dataset = ArrayDataAdapter(x, y, batch_size=8, shuffle=True).get_tf_dataset()
    orders = [np.concatenate([yb.numpy() for _, yb in dataset]) for _ in range(3)]
    assert not np.array_equal(orders[0], np.arange(40))  # shuffled...
    assert all(np.array_equal(o, orders[0]) for o in orders)  # ...but once
    ours = [training.batch_order(0, epoch, 40) for epoch in range(3)]
    assert not np.array_equal(ours[0], ours[1]) and not np.array_equal(ours[1], ours[2])


def test_stack_size_follows_the_working_set() -> None:
    """Small MLPs share a step eight at a time; the `002` deep MLP (weights and Adam state of
    7 MB) and the CNN (activations) train alone; narrow deep MLPs, a few at a time;
    ``max_stack`` caps it."""

    def size(model: str, max_stack: int = training.MAX_STACK, **params) -> int:
        spec = RunSpec(model=model, init="he_normal", seed=0, model_params=params, **DATA)
        return training.stack_size(spec, max_stack)

    assert size("mlp_128") == size("mlp_128_64") == training.MAX_STACK
    assert size("mlp_128", max_stack=3) == 3
    assert size("mlp_512_256_128_64") == 1
    assert size("cnn_small") == 1
    assert size("deep_mlp", depth=50, width=64) == 3
    specs = [
        RunSpec(model="deep_mlp", init=i, seed=s, engine="stacked", model_params={"depth": 50, "width": 64}, **DATA)
        for i in ("he_normal", "zeros")
        for s in range(4)
    ]
    assert [len(b) for _, b in training.study._batches(specs, training.MAX_STACK)] == [3, 3, 2]


def test_profile_script_times_the_compiled_ops() -> None:
    """``benchmarks/profile_engine.py`` lists one epoch's compiled ops, matmuls among them."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "profile_engine.py"
    out = subprocess.run(
        [sys.executable, str(script), "mlp_128", "2", "8"], capture_output=True, text=True, timeout=600, check=True
    ).stdout
    lines = out.splitlines()
    assert lines[0].startswith("mlp_128, K = 2: one epoch of 240 steps")
    rows = [line.split() for line in lines[2:-1]]
    assert len(rows) == 8 and all(r[1] == "240" and float(r[0]) > 0 for r in rows)
    assert any(r[2].startswith(("dot", "MatMul")) for r in rows)  # XLA's names for matmuls
    total = lines[-1].split()
    assert total[1] == "all" and float(total[0]) >= sum(float(r[0]) for r in rows)


# -- per-member hyperparameters: each member is the Keras run of its own set-up ------------
def _keras_run(model, optimizer: str, data, **settings):

    from initlab.training.optimizers import make_keras_optimizer

    model.compile(
        optimizer=make_keras_optimizer(optimizer, **settings),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model.fit(
        data.x_train, data.y_train, batch_size=32, epochs=2, validation_split=0.2, shuffle=False, verbose=0
    ).history


@pytest.mark.kernels
@pytest.mark.parametrize(
    "optimizer,settings",
    [
        (
            "sgd",
            [
                dict(learning_rate=0.05),
                dict(learning_rate=0.01, momentum=0.9),
                dict(learning_rate=0.005, momentum=0.9, nesterov=True),
                dict(learning_rate=0.1, momentum=0.5),
            ],
        ),
        ("adam", [dict(learning_rate=1e-3), dict(learning_rate=5e-4), dict(learning_rate=2e-4)]),
        ("adam_large_eps", [dict(learning_rate=1e-3), dict(learning_rate=3e-4)]),
    ],
)
def test_every_member_matches_keras_fit_with_its_own_optimizer_settings(optimizer, settings) -> None:
    """One stack, one set-up per member: each member's losses and weights are keras fit's for its set-up.

    202 steps (two epochs of 101), the tolerance of the single-member equivalence test. The rates
    stay where training is not chaotic: at Nesterov 0.9 with rate 0.02 (an effective step of 0.2),
    or Adam at 3e-3 with Eigen's kernels,
    a stack's float32 rounding, 1e-7 after a few steps, grows to 2e-3 of the loss in two epochs,
    while the member alone still equals keras fit to 1e-7.
    """
    data = _data()
    inits = ["he_normal", "glorot_uniform", "lecun_normal", "random_normal"][: len(settings)]
    ours = [_built("mlp_128_64", init, i) for i, init in enumerate(inits)]
    theirs = [_built("mlp_128_64", init, i) for i, init in enumerate(inits)]
    for a, b in zip(ours, theirs):
        b.set_weights(a.get_weights())
    per_member = {
        key: [s.get(key, default) for s in settings]
        for key, default in (("learning_rate", None), ("momentum", 0.0), ("nesterov", False))
    }
    stack, records = training.fit_stack(
        ours,
        list(range(len(ours))),
        data.x_train,
        y_train=data.y_train,
        x_test=data.x_test,
        y_test=data.y_test,
        epochs=2,
        optimizer=optimizer,
        shuffle=False,
        **per_member,
    )
    for i, (model, setting) in enumerate(zip(theirs, settings)):
        hist = _keras_run(model, optimizer, data, **setting)
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            np.testing.assert_allclose(
                records[i].history[key], hist[key], rtol=2e-4, atol=1e-6, err_msg=f"{setting} {key}"
            )
        for a, b in zip(stack.get_weights(i), model.get_weights()):
            assert np.abs(a - b).max() <= 1e-4 * np.abs(b).max() + 1e-7, setting


def test_momentum_zero_in_a_momentum_stack_is_plain_sgd() -> None:
    """A member with momentum 0 beside one with momentum 0.9 takes plain SGD's steps (v = -lr g)."""
    data = _data()
    pair = [_built("mlp_128", "he_normal", 0), _built("mlp_128", "he_normal", 0)]
    alone = [_built("mlp_128", "he_normal", 0)]
    _, mixed = training.fit_stack(
        pair,
        [0, 0],
        data.x_train,
        y_train=data.y_train,
        epochs=1,
        optimizer="sgd",
        learning_rate=0.05,
        momentum=[0.0, 0.9],
    )
    _, plain = training.fit_stack(
        alone, [0], data.x_train, y_train=data.y_train, epochs=1, optimizer="sgd", learning_rate=0.05
    )
    tolerance = float32_drift(steps=101, terms=784)
    np.testing.assert_allclose(mixed[0].history["loss"], plain[0].history["loss"], rtol=tolerance)
    assert abs(mixed[1].history["loss"][0] - plain[0].history["loss"][0]) > 100 * tolerance


@pytest.mark.parametrize(
    "settings, error, message",
    [
        (dict(optimizer="rmsprop"), "UnknownNameError", r"Unknown optimizer 'rmsprop'.*adam, adam_large_eps, sgd"),
        (dict(optimizer="sgd", learning_rate=float("inf")), "InvalidArgumentError", r"`learning_rate` must be None"),
        (dict(optimizer="sgd", learning_rate=[0.1, -0.1]), "InvalidArgumentError", r"`learning_rate` .*=-0.1"),
        (dict(optimizer="sgd", momentum=1.0), "InvalidArgumentError", r"`momentum` must be a number in \[0, 1\)"),
        (dict(optimizer="sgd", momentum=-0.1), "InvalidArgumentError", r"`momentum` must be a number in \[0, 1\)"),
        (dict(optimizer="adam", momentum=0.9), "InvalidArgumentError", r"`momentum` must be 0 with optimizer 'adam'"),
        (dict(optimizer="sgd", nesterov=True), "InvalidArgumentError", r"`nesterov` needs momentum > 0"),
        (dict(optimizer="sgd", momentum=[0.9, 0.9, 0.9]), "InvalidArgumentError", r"one value or one per model \(2\)"),
    ],
)
def test_bad_optimizer_settings_are_refused_in_one_line(settings, error, message) -> None:
    from initlab import errors

    models = [_built("mlp_128", "he_normal", 0), _built("mlp_128", "he_normal", 1)]
    with pytest.raises(getattr(errors, error), match=message) as err:
        training.StackedModels(models, **settings)
    assert "\n" not in str(err.value)


# -- data handed over once ------------------------------------------------------------------
@pytest.mark.kernels
def test_handed_over_data_train_as_the_arrays_do() -> None:
    data = _data()
    handed = training.hand_over(
        data.x_train, data.y_train, data.x_test, y_test=data.y_test, validation_split=0.2, flatten=True
    )
    _, from_arrays = training.fit_stack(
        [_built("mlp_128", "he_normal", 0)],
        [0],
        data.x_train,
        y_train=data.y_train,
        x_test=data.x_test,
        y_test=data.y_test,
        epochs=2,
    )
    _, from_tensors = training.fit_stack([_built("mlp_128", "he_normal", 0)], [0], handed, epochs=2)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(from_tensors[0].history[key], from_arrays[0].history[key], rtol=1e-6)
    for key in ("test_loss", "test_accuracy", "initial_loss"):
        assert getattr(from_tensors[0], key) == pytest.approx(getattr(from_arrays[0], key), rel=1e-6)


def test_data_handed_over_for_other_models_are_refused() -> None:
    data = _data()
    images = training.hand_over(data.x_train, data.y_train, flatten=False)
    with pytest.raises(InvalidArgumentError, match=r"`x_train` must hold examples of shape \(784,\)"):
        training.fit_stack([_built("mlp_128", "he_normal", 0)], [0], images, epochs=1)
    flat = training.hand_over(data.x_train, data.y_train, flatten=True)
    with pytest.raises(InvalidArgumentError, match=r"must not be given with handed-over data"):
        training.fit_stack([_built("mlp_128", "he_normal", 0)], [0], flat, y_train=data.y_train, epochs=1)


def test_the_runner_hands_a_dataset_over_once() -> None:
    data = _data()
    first = training.handed_over(data, 0.2, False)
    assert training.handed_over(data, 0.2, False) is first
    assert training.handed_over(data, 0.1, False) is not first
    assert tuple(first.x.shape) == (training.fit_examples(N_TRAIN, 0.2), 784)
    assert first.val.n == N_TRAIN - training.fit_examples(N_TRAIN, 0.2) and first.test.n == N_TEST
