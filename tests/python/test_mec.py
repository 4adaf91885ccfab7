"""The Python module mec against a NumPy double-precision reference written
here (forward, backward data, backward weights), on random shapes with
stride, padding (ints, pairs, "same", "valid"), dilation and groups, in
NCHW and NHWC; and its errors: dtype, rank, shape, unknown names,
unsupported passes, the workspace limit. Run by ctest with PYTHONPATH set
to the build tree's python/ folder (tests/CMakeLists.txt)."""
import unittest

import numpy as np

import mec


def pad_of(padding, w_shape, dilation):
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        th, tw = dilation[0] * (w_shape[2] - 1), dilation[1] * (w_shape[3] - 1)
        return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return (ph, ph, pw, pw)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def geometry(x_shape, w_shape, stride, padding, dilation):
    """((pt, pb, pl, pr), p, q): the padding and the output size."""
    sh, sw = pair(stride)
    dh, dw = pair(dilation)
    pt, pb, pl, pr = pad_of(padding, w_shape, (dh, dw))
    hp, wp = x_shape[2] + pt + pb, x_shape[3] + pl + pr
    p = (hp - dh * (w_shape[2] - 1) - 1) // sh + 1
    q = (wp - dw * (w_shape[3] - 1) - 1) // sw + 1
    return (pt, pb, pl, pr), p, q


def taps(x_shape, w_shape, stride, padding, dilation):
    """Yields (i, j, row slice, column slice) of the padded input per tap."""
    sh, sw = pair(stride)
    dh, dw = pair(dilation)
    _, p, q = geometry(x_shape, w_shape, stride, padding, dilation)
    for i in range(w_shape[2]):
        for j in range(w_shape[3]):
            yield i, j, slice(i * dh, i * dh + (p - 1) * sh + 1, sh), \
                slice(j * dw, j * dw + (q - 1) * sw + 1, sw)


def reference(x, w, b, dy, stride, padding, dilation, groups):
    """(y, dx, dw, db) in double, NCHW."""
    x, w, dy = x.astype(np.float64), w.astype(np.float64), dy.astype(np.float64)
    (pt, pb, pl, pr), p, q = geometry(x.shape, w.shape, stride, padding, dilation)
    n, c = x.shape[:2]
    k = w.shape[0]
    cg, kg = c // groups, k // groups
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    y = np.zeros((n, k, p, q))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i, j, rows, cols in taps(x.shape, w.shape, stride, padding, dilation):
        for g in range(groups):
            patch = xp[:, g * cg:(g + 1) * cg, rows, cols]
            wt = w[g * kg:(g + 1) * kg, :, i, j]
            y[:, g * kg:(g + 1) * kg] += np.einsum("ncpq,oc->nopq", patch, wt)
            dg = dy[:, g * kg:(g + 1) * kg]
            dxp[:, g * cg:(g + 1) * cg, rows, cols] += np.einsum("nopq,oc->ncpq", dg, wt)
            dw[g * kg:(g + 1) * kg, :, i, j] += np.einsum("nopq,ncpq->oc", dg, patch)
    if b is not None:
        y += b[None, :, None, None]
    dx = dxp[:, :, pt:pt + x.shape[2], pl:pl + x.shape[3]]
    return y, dx, dw, dy.sum(axis=(0, 2, 3))


def rel_err(out, ref):
    scale = np.abs(ref).max()
    return np.abs(out - ref).max() / (scale if scale > 0 else 1.0)


CASES = [  # x shape (NCHW), w shape, stride, padding, dilation, groups
    ((2, 3, 9, 11), (4, 3, 3, 3), 1, 1, 1, 1),
    ((1, 4, 12, 10), (6, 2, 3, 2), (2, 1), (1, 0), 1, 2),
    ((2, 6, 10, 9), (6, 1, 3, 3), 1, "same", (2, 1), 6),
    ((1, 5, 8, 8), (3, 5, 1, 1), 1, "valid", 1, 1),
    ((3, 2, 7, 13), (5, 2, 5, 3), 3, (3, 2), 1, 1),
]


class Forward(unittest.TestCase):
    def test_algorithms_layouts_against_reference(self):
        rng = np.random.default_rng(1)
        for x_shape, w_shape, stride, padding, dilation, groups in CASES:
            x = rng.uniform(-1, 1, x_shape).astype(np.float32)
            w = rng.uniform(-1, 1, w_shape).astype(np.float32)
            b = rng.uniform(-1, 1, w_shape[0]).astype(np.float32)
            (_, p, q) = geometry(x_shape, w_shape, stride, padding, dilation)
            dy = np.zeros((x_shape[0], w_shape[0], p, q))
            y_ref = reference(x, w, b, dy, stride, padding, dilation, groups)[0]
            for algo in ("auto", "mec", "mec_b", "im2col", "direct", "fft"):
                y = mec.conv2d(x, w, b, stride, padding, dilation, groups, algo=algo)
                self.assertEqual(y.shape, y_ref.shape)
                self.assertLess(rel_err(y, y_ref), 1e-4, (algo, x_shape, w_shape))
                y_nhwc = mec.conv2d(np.ascontiguousarray(x.transpose(0, 2, 3, 1)), w, b, stride,
                                    padding, dilation, groups, algo=algo, layout="NHWC")
                self.assertLess(rel_err(y_nhwc.transpose(0, 3, 1, 2), y_ref), 1e-4, algo)


class Backward(unittest.TestCase):
    def test_gradients_against_reference(self):
        rng = np.random.default_rng(2)
        for x_shape, w_shape, stride, padding, dilation, groups in CASES:
            x = rng.uniform(-1, 1, x_shape).astype(np.float32)
            w = rng.uniform(-1, 1, w_shape).astype(np.float32)
            (_, p, q) = geometry(x_shape, w_shape, stride, padding, dilation)
            dy = rng.uniform(-1, 1, (x_shape[0], w_shape[0], p, q)).astype(np.float32)
            _, dx_ref, dw_ref, db_ref = reference(x, w, None, dy, stride, padding, dilation, groups)
            for algo in ("auto", "mec", "im2col", "direct"):
                dx = mec.conv2d_backward_data(x.shape, w, dy, stride, padding, dilation, groups,
                                              algo=algo)
                self.assertLess(rel_err(dx, dx_ref), 1e-4, (algo, x_shape, w_shape))
                dw, db = mec.conv2d_backward_weights(x, w.shape, dy, stride, padding, dilation,
                                                     groups, algo=algo)
                self.assertEqual(dw.shape, w.shape)
                self.assertLess(rel_err(dw, dw_ref), 1e-4, (algo, x_shape, w_shape))
                self.assertLess(rel_err(db, db_ref), 1e-4, algo)


class Api(unittest.TestCase):
    x = np.random.default_rng(3).uniform(-1, 1, (1, 4, 8, 8)).astype(np.float32)
    w = np.random.default_rng(4).uniform(-1, 1, (8, 4, 3, 3)).astype(np.float32)

    def test_plan_attributes(self):
        plan = mec.Plan(self.x.shape, self.w.shape, "fwd", padding=1, algo="mec")
        self.assertIsInstance(plan.workspace_bytes, int)
        self.assertTrue(plan.variant.startswith(plan.algorithm))
        self.assertEqual(plan.pass_, "fwd")
        self.assertEqual(plan.forward(self.x, self.w).shape, (1, 8, 8, 8))

    def test_workspace_limit(self):
        plan = mec.Plan(self.x.shape, self.w.shape, padding=1, workspace_limit=0)
        self.assertEqual(plan.workspace_bytes, 0)
        with self.assertRaisesRegex(mec.WorkspaceError, "needs"):
            mec.conv2d(self.x, self.w, padding=1, algo="im2col", workspace_limit=0)

    def test_errors(self):
        with self.assertRaisesRegex(TypeError, "float32"):
            mec.conv2d(self.x.astype(np.float64), self.w)
        with self.assertRaisesRegex(ValueError, "4 dimensions"):
            mec.conv2d(self.x[0], self.w)
        with self.assertRaisesRegex(ValueError, "unknown algorithm"):
            mec.conv2d(self.x, self.w, algo="fastest")
        with self.assertRaisesRegex(ValueError, "input channels"):
            mec.conv2d(self.x, self.w[:, :3])
        with self.assertRaises(NotImplementedError):
            mec.conv2d_backward_data(self.x.shape, self.w, np.zeros((1, 8, 6, 6), np.float32),
                                     algo="fft")
        plan = mec.Plan(self.x.shape, self.w.shape, "bwd_data")
        with self.assertRaisesRegex(ValueError, "bwd_data"):
            plan.forward(self.x, self.w)
        with self.assertRaisesRegex(ValueError, "stride"):
            mec.conv2d(self.x, self.w, stride=0)


if __name__ == "__main__":
    unittest.main()
