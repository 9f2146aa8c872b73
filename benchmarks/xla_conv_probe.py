"""How fast XLA's CPU convolutions run the CNN's two conv layers, against the engine's patch form.

Forward and backward through ``cnn_small``'s conv layers (3x3x1x32 then 3x3x32x64,
ReLU and 2x2 max-pooling, on 28x28x1 images, batch 32) in an XLA-compiled loop of
100 steps, three ways in one process: XLA's own convolutions and max-pooling
(``tf.nn.conv2d``, ``tf.nn.max_pool2d``), and the stacked engine's matmuls over
image patches with their col2im gradient and first-maximum pooling
(``initlab.training.conv``), channels last and channels first. GFLOP/s count all of
the convolutions' outputs, also the second one's last row and column, which the channels-first
form skips since the pooling drops them. Prints milliseconds per step and the GFLOP/s reached, to
compare with ``initlab bench``'s matmul rate.

    python benchmarks/xla_conv_probe.py
"""

import initlab._tf_quiet  # noqa: F401

# isort: split
import time

import numpy as np
import tensorflow as tf

from initlab.training import conv

BATCH, STEPS = 32, 100


def _time(forward, w1, w2) -> float:
    @tf.function(jit_compile=True)
    def loop(w1, w2):
        def body(i, w1, w2):
            with tf.GradientTape() as tape:
                tape.watch([w1, w2])
                loss = forward(w1, w2)
            g1, g2 = tape.gradient(loss, [w1, w2])
            return i + 1, w1 - 1e-9 * g1, w2 - 1e-9 * g2

        return tf.while_loop(lambda i, *_: i < STEPS, body, (0, w1, w2))

    loop(w1, w2)  # compile
    start = time.perf_counter()
    loop(w1, w2)[1].numpy()
    return time.perf_counter() - start


def main() -> None:
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((BATCH, 28, 28, 1)).astype(np.float32))
    w1 = tf.constant(rng.standard_normal((3, 3, 1, 32)).astype(np.float32) * 0.1)
    w2 = tf.constant(rng.standard_normal((3, 3, 32, 64)).astype(np.float32) * 0.05)
    images = tf.transpose(x, [3, 0, 1, 2])  # (C, B, H, W), shared by the stack

    def xla_forward(w1, w2):
        h = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(x, w1, 1, "VALID")), 2, 2, "VALID")
        return tf.reduce_sum(tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(h, w2, 1, "VALID")), 2, 2, "VALID"))

    def patch_forward(w1, w2):  # one model: a stack of K = 1, channels first (the engine's default)
        h = conv.pool_channels_first(tf.nn.relu(conv.conv_channels_first(images, w1[None], (26, 26))), (2, 2))
        h = conv.conv_channels_first(h, w2[None], (10, 10))  # the rows and columns the pooling keeps
        return tf.reduce_sum(conv.pool_channels_first(tf.nn.relu(h), (2, 2)))

    def patch_forward_last(w1, w2):  # channels last, the engine's earlier layout
        h = conv.pool_channels_last(tf.nn.relu(conv.conv_channels_last(x, w1[None])), (2, 2))
        return tf.reduce_sum(conv.pool_channels_last(tf.nn.relu(conv.conv_channels_last(h, w2[None])), (2, 2)))

    conv1, conv2 = 2 * 26 * 26 * 9 * 1 * 32, 2 * 11 * 11 * 9 * 32 * 64
    flops = STEPS * BATCH * (3 * (conv1 + conv2) - conv1)  # no gradient w.r.t. the images
    ways = (
        ("XLA conv pair", xla_forward),
        ("engine's patch conv pair, channels last", patch_forward_last),
        ("engine's patch conv pair, channels first", patch_forward),
    )
    for name, forward in ways:
        seconds = _time(forward, w1, w2)
        print(
            f"{name}, batch {BATCH}: {seconds / STEPS * 1e3:.1f} ms per step, {flops / seconds / 1e9:.1f} GFLOP/s",
            flush=True,
        )


if __name__ == "__main__":
    main()
