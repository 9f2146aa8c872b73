"""Stacked convolution and max-pooling for the stacked engine, in two layouts.

Every tensor holds the K models of a stack on its leading axis. A stride-1 "valid"
convolution runs as a matmul over image patches (im2col) with a hand-written gradient
that adds each patch column back where it came from (col2im); max-pooling (stride equal
to the pool, "valid") sends its gradient to the first maximum of each window, as Keras
does. XLA's own CPU convolutions are far slower here (``benchmarks/xla_conv_probe.py``).

The layouts (:data:`CONV_LAYOUTS`):

- ``"channels_first"``, activations (K, C, B, H, W), the engine's default in float32. The patches
  are built as (kh·kw·C, B·H'·W'), each row a shifted window of one channel, so the
  forward pass (W^T P), the input gradient (W G) and the weight gradient (P G^T) are
  matmuls XLA reads in place. A convolution followed by max-pooling computes only the
  rows and columns the pooling keeps (``cnn_small``'s second convolution: 10 x 10 of
  its 11 x 11 outputs), which changes no result: the dropped outputs reach nothing.
- ``"channels_last"``, activations (K, B, H, W, C), Keras' layout and the engine's
  earlier one. Its weight gradient contracts the patches over their leading axis, for
  which XLA writes a transposed copy of them first. Kept for comparison
  (``benchmarks/cnn_layouts.py``).

The two layouts sum in different orders, so they agree to float32 rounding, not bit for bit.
With bfloat16 matmuls the channels-first form runs slower than the channels-last one on
this machine's XLA, so the engine keeps channels last there (:data:`DEFAULT_CONV_LAYOUT`).
"""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before TensorFlow: silence its start-up logs)

# isort: split

import tensorflow as tf

CONV_LAYOUTS = ("channels_first", "channels_last")
DEFAULT_CONV_LAYOUT = {"float32": "channels_first", "bfloat16": "channels_last"}  # by the matmuls' precision


# -- channels first: (K, C, B, H, W); shared images (C, B, H, W) ---------------------------
def patches_channels_first(h: tf.Tensor, kh: int, kw: int, extent: tuple[int, int] | None = None) -> tf.Tensor:
    """(..., C, B, H, W) -> (..., kh·kw·C, B, H', W'), rows in the order of a reshaped HWIO kernel.

    ``extent`` (H', W') limits the output to its first rows and columns (default: all of
    H - kh + 1 by W - kw + 1)."""
    height, width = h.shape[-2], h.shape[-1]
    rows, cols = extent or (height - kh + 1, width - kw + 1)
    return tf.concat([h[..., i : rows + i, j : cols + j] for i in range(kh) for j in range(kw)], axis=-4)


def col2im_channels_first(cols: tf.Tensor, kh: int, kw: int, height: int, width: int) -> tf.Tensor:
    """The adjoint of :func:`patches_channels_first`: (K, kh·kw·C, B, H', W') -> (K, C, B, height, width),
    each patch row added back where it was taken from."""
    c = cols.shape[1] // (kh * kw)
    rows, columns = cols.shape[-2], cols.shape[-1]
    return tf.add_n(
        [
            tf.pad(
                cols[:, (i * kw + j) * c : (i * kw + j + 1) * c],
                [[0, 0], [0, 0], [0, 0], [i, height - rows - i], [j, width - columns - j]],
            )
            for i in range(kh)
            for j in range(kw)
        ]
    )


def conv_channels_first(h: tf.Tensor, w: tf.Tensor, extent: tuple[int, int] | None = None) -> tf.Tensor:
    """A stride-1 'valid' convolution of every model: ``h`` (K, C, B, H, W), or (C, B, H, W) the same
    images for every model (then no input gradient), ``w`` (K, kh, kw, C, O) -> (K, O, B, H', W').

    ``extent`` as in :func:`patches_channels_first`."""
    k, kh, kw, c, o = w.shape
    height, width = h.shape[-2], h.shape[-1]
    shared = h.shape.rank == 4

    def matmuls(h, w):
        p = patches_channels_first(h, kh, kw, extent)
        shape = tf.shape(p)
        p = tf.reshape(p, [1 if shared else k, kh * kw * c, -1])
        w3 = tf.reshape(w, [k, kh * kw * c, o])
        out = tf.reshape(tf.matmul(w3, p, transpose_a=True), tf.concat([[k, o], shape[-3:]], 0))

        def weight_grad(g):
            return tf.reshape(tf.matmul(p, tf.reshape(g, [k, o, -1]), transpose_b=True), tf.shape(w))

        def input_grad(g):
            cols = tf.reshape(tf.matmul(w3, tf.reshape(g, [k, o, -1])), shape)
            return col2im_channels_first(cols, kh, kw, height, width)

        return out, weight_grad, input_grad

    if shared:

        @tf.custom_gradient
        def conv_shared(w):
            out, weight_grad, _ = matmuls(h, w)
            return out, weight_grad

        return conv_shared(w)

    @tf.custom_gradient
    def conv(h, w):
        out, weight_grad, input_grad = matmuls(h, w)
        return out, lambda g: (input_grad(g), weight_grad(g))

    return conv(h, w)


def pool_channels_first(h: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """Max-pooling of every model, (K, C, B, H, W) -> (K, C, B, H // ph, W // pw); the gradient goes to
    the first maximum of each window, as in Keras."""
    ph, pw = size

    @tf.custom_gradient
    def pool(h):
        height, width = h.shape[3], h.shape[4]
        h2, w2 = height // ph, width // pw
        lead = tf.shape(h)[:3]
        r = tf.reshape(h[..., : h2 * ph, : w2 * pw], tf.concat([lead, [h2, ph, w2, pw]], 0))
        y = tf.reduce_max(r, axis=[4, 6])

        def grad(g):
            hits = tf.equal(r, y[:, :, :, :, None, :, None])
            full = _first_hits(g, ph, pw, hit=lambda i, j: hits[:, :, :, :, i, :, j], axis=4)
            full = tf.reshape(full, tf.concat([lead, [h2 * ph, w2 * pw]], 0))
            return tf.pad(full, [[0, 0], [0, 0], [0, 0], [0, height - h2 * ph], [0, width - w2 * pw]])

        return y, grad

    return pool(h)


def _first_hits(g: tf.Tensor, ph: int, pw: int, *, hit, axis: int) -> tf.Tensor:
    """``g`` at the first window position (row by row) where ``hit(i, j)`` holds, zero elsewhere; the
    window's rows stacked at ``axis`` and its columns at ``axis + 1`` of the result."""
    taken = tf.zeros_like(g, tf.bool)
    zero = tf.zeros_like(g)
    rows = []
    for i in range(ph):
        row = []
        for j in range(pw):
            first = tf.logical_and(hit(i, j), tf.logical_not(taken))
            taken = tf.logical_or(taken, first)
            row.append(tf.where(first, g, zero))
        rows.append(tf.stack(row, axis=axis + 1))
    return tf.stack(rows, axis=axis)


# -- channels last: (K, B, H, W, C); shared images (B, H, W, C) ----------------------------
def patches_channels_last(h: tf.Tensor, kh: int, kw: int) -> tf.Tensor:
    """(..., H, W, C) -> (..., H-kh+1, W-kw+1, kh·kw·C), in the order of a reshaped HWIO kernel."""
    height, width = h.shape[-3], h.shape[-2]
    return tf.concat(
        [h[..., i : height - kh + 1 + i, j : width - kw + 1 + j, :] for i in range(kh) for j in range(kw)], axis=-1
    )


def conv_channels_last(h: tf.Tensor, w: tf.Tensor) -> tf.Tensor:
    """A stride-1 'valid' convolution of every model: ``h`` (K, B, H, W, C), or (B, H, W, C) the same
    images for every model, ``w`` (K, kh, kw, C, O) -> (K, B, H', W', O)."""
    _, kh, kw, c, o = w.shape
    if h.shape.rank == 4:
        return tf.einsum("bhwp,kpo->kbhwo", patches_channels_last(h, kh, kw), tf.reshape(w, [-1, kh * kw * c, o]))

    @tf.custom_gradient
    def conv(h, w):
        p = patches_channels_last(h, kh, kw)
        out = tf.einsum("kbhwp,kpo->kbhwo", p, tf.reshape(w, [-1, kh * kw * c, o]))

        def grad(g):
            gw = tf.reshape(tf.einsum("kbhwp,kbhwo->kpo", p, g), tf.shape(w))
            # the input's gradient: each patch column's share, added back where it came from (col2im)
            cols = tf.einsum("kbhwo,kpo->kbhwp", g, tf.reshape(w, [-1, kh * kw * c, o]))
            gh = tf.add_n(
                [
                    tf.pad(
                        cols[..., (i * kw + j) * c : (i * kw + j + 1) * c],
                        [[0, 0], [0, 0], [i, kh - 1 - i], [j, kw - 1 - j], [0, 0]],
                    )
                    for i in range(kh)
                    for j in range(kw)
                ]
            )
            return gh, gw

        return out, grad

    return conv(h, w)


def pool_channels_last(h: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """Max-pooling of every model, (K, B, H, W, C); the gradient goes to the first maximum of each window."""
    ph, pw = size

    @tf.custom_gradient
    def pool(h):
        height, width, c = h.shape[2], h.shape[3], h.shape[4]
        h2, w2 = height // ph, width // pw
        r = tf.reshape(h[:, :, : h2 * ph, : w2 * pw], [-1, tf.shape(h)[1], h2, ph, w2, pw, c])
        y = tf.reduce_max(r, axis=[3, 5])

        def grad(g):
            hits = tf.equal(r, y[:, :, :, None, :, None])
            full = _first_hits(g, ph, pw, hit=lambda i, j: hits[:, :, :, i, :, j], axis=3)
            full = tf.reshape(full, [-1, tf.shape(g)[1], h2 * ph, w2 * pw, c])
            return tf.pad(full, [[0, 0], [0, 0], [0, height - h2 * ph], [0, width - w2 * pw], [0, 0]])

        return y, grad

    return pool(h)
