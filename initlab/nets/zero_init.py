"""ZerO (Zhao, Schäfer & Anandkumar 2022): a deterministic start built from zeros, ones and a Hadamard matrix.

The paper writes a layer as ``y = W x`` with ``W`` of shape ``(P, Q)`` (outputs × inputs) and sets
(its Algorithm 1):

- ``P == Q``: ``W = I``, the identity;
- ``P < Q``: ``W = I*``, the partial identity (ones on the main diagonal): the first ``P`` inputs
  pass through, the rest are dropped;
- ``P > Q``: ``W = c · I* H_m I*``, with ``H_m`` the Hadamard matrix of order ``2^m``,
  ``m = ceil(log2 P)``, cut to its first ``P`` rows and ``Q`` columns, and ``c = 2^(-(m-1)/2)``.

``H_m`` is Sylvester's: ``H_0 = [1]``, ``H_m = [[H_{m-1}, H_{m-1}], [H_{m-1}, -H_{m-1}]]``, so its
entry ``(i, j)`` is ``(-1)^popcount(i AND j)``; its rows are orthogonal with squared norm ``2^m``.
What the widening map ``x -> W x`` does:

- ``|W x| <= sqrt(2) |x|``: ``WᵀW = c² H[:P, :Q]ᵀ H[:P, :Q]`` is at most ``c² 2^m I = 2 I`` (dropping
  rows of ``H`` only shrinks it), with equality for every ``x`` when ``P = 2^m`` (a ReLU then keeps
  about half the energy, as He's factor 2 assumes);
- it loses no input direction: every top-left ``Q × P`` block of ``H`` with ``Q <= P`` has rank ``Q``
  (by the recursion: a vector ``(a, b)`` it sends to zero has ``a = -b``, and ``b`` is sent to zero by
  a smaller such block of ``H_{m-1}``);
- every output unit sees the input (no column of ``±c`` is zero), where a zero-padded identity
  would leave ``P - Q`` units dead: the "training degeneracy" the paper avoids with ``H``.

A Keras dense kernel is ``W`` transposed, ``(fan_in, fan_out) = (Q, P)``; a convolution kernel
``(*spatial, in, out)`` gets that matrix on its centre tap and zeros elsewhere (the paper's
Algorithm 2, for odd sizes; an even size takes tap ``(k - 1) // 2``, which maps each position to
itself under ``"same"`` padding).
"""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

import math
from typing import Any

import keras
import numpy as np

from initlab.errors import InvalidArgumentError


def hadamard_block(rows: int, cols: int) -> np.ndarray:
    """The top-left ``rows × cols`` block of Sylvester's Hadamard matrices (entries ±1), as float64.

    Entry ``(i, j)`` is ``(-1)^popcount(i AND j)``: the same in every Sylvester matrix large enough
    to hold it, so no ``2^m × 2^m`` matrix is built.
    """
    i = np.arange(int(rows), dtype=np.uint64)[:, None]
    j = np.arange(int(cols), dtype=np.uint64)[None, :]
    return 1.0 - 2.0 * (np.bitwise_count(i & j) % 2).astype(np.float64)


def zero_matrix(fan_in: int, fan_out: int) -> np.ndarray:
    """ZerO's dense kernel of shape ``(fan_in, fan_out)`` (the paper's ``W`` transposed).

    ``eye(fan_in, fan_out)`` when ``fan_out <= fan_in``; else ``2^(-(m-1)/2)`` times the first
    ``fan_in`` rows and ``fan_out`` columns of the Hadamard matrix of order ``2^m``,
    ``m = ceil(log2 fan_out)`` (Sylvester's matrices are symmetric, so this is ``(c I* H_m I*)^T``).
    """
    fan_in, fan_out = int(fan_in), int(fan_out)
    if fan_in < 1 or fan_out < 1:
        raise InvalidArgumentError("shape", (fan_in, fan_out), "must have positive sizes for zero_hadamard")
    if fan_out <= fan_in:
        return np.eye(fan_in, fan_out)
    m = math.ceil(math.log2(fan_out))
    return 2.0 ** (-(m - 1) / 2) * hadamard_block(fan_in, fan_out)


@keras.saving.register_keras_serializable(package="initlab")
class ZerO(keras.initializers.Initializer):
    """ZerO (Zhao, Schäfer & Anandkumar 2022): identity, partial identity, or a scaled Hadamard block.

    Deterministic: no seed, the same kernel on every call. Dense kernels ``(fan_in, fan_out)``
    get :func:`zero_matrix`; convolution kernels ``(*spatial, in, out)`` get it on the centre tap,
    zeros elsewhere. See :mod:`initlab.nets.zero_init` for the construction.
    """

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        shape = tuple(int(s) for s in shape)
        if len(shape) < 2:
            raise InvalidArgumentError("shape", shape, "must be at least 2-D for zero_hadamard")
        kernel = np.zeros(shape, dtype=np.float64)
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        kernel[centre] = zero_matrix(shape[-2], shape[-1])
        return keras.ops.convert_to_tensor(kernel, dtype=keras.backend.standardize_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {}
