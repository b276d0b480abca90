"""Plain NumPy references for the keras layers (channels-last images, Keras' weight layouts and formulas)."""
import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def same_pads(size, k, s):
    total = max((-(-size // s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def pad_hw(x, padding, k, s, value=0.0):
    if padding == "valid":
        return x, None
    (t, b), (lf, r) = same_pads(x.shape[1], k[0], s[0]), same_pads(x.shape[2], k[1], s[1])
    mask = np.pad(np.ones(x.shape[1:3]), ((t, b), (lf, r)))
    return np.pad(x, ((0, 0), (t, b), (lf, r), (0, 0)), constant_values=value), mask


def conv2d(x, kernel, bias, strides, padding):
    """x (N, H, W, C), kernel (kh, kw, C, F)."""
    kh, kw = kernel.shape[:2]
    x, _ = pad_hw(x, padding, (kh, kw), strides)
    n, h, w, _ = x.shape
    oh, ow = (h - kh) // strides[0] + 1, (w - kw) // strides[1] + 1
    out = np.zeros((n, oh, ow, kernel.shape[3]))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * strides[0]:i * strides[0] + kh, j * strides[1]:j * strides[1] + kw, :]
            out[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return out + (0 if bias is None else bias)


def conv2d_transpose(x, kernel, bias, strides, padding):
    """x (N, H, W, C), kernel (kh, kw, F, C): every input pixel scatters kernel-weighted values into the full
    output ((H - 1) s + k rows); 'valid' keeps (H - 1) s + max(k, s) rows, 'same' H s rows starting at row
    floor((k - s) / 2) (as TensorFlow: the odd row is cropped after)."""
    kh, kw, f, _ = kernel.shape
    n, h, w, _ = x.shape
    out = np.zeros((n, (h - 1) * strides[0] + kh + strides[0], (w - 1) * strides[1] + kw + strides[1], f))
    for i in range(h):
        for j in range(w):
            contrib = np.tensordot(x[:, i, j, :], kernel, axes=([1], [3]))  # (N, kh, kw, F)
            out[:, i * strides[0]:i * strides[0] + kh, j * strides[1]:j * strides[1] + kw, :] += contrib
    if padding == "valid":
        rows, cols, top, left = ((h - 1) * strides[0] + max(kh, strides[0]), (w - 1) * strides[1] + max(kw, strides[1]),
                                 0, 0)
    else:
        rows, cols = h * strides[0], w * strides[1]
        top, left = (max((k - s) // 2, 0) for k, s in ((kh, strides[0]), (kw, strides[1])))
    return out[:, top:top + rows, left:left + cols, :] + (0 if bias is None else bias)


def pool2d(x, k, s, padding, kind):
    xp, mask = pad_hw(x, padding, k, s, value=-np.inf if kind == "max" else 0.0)
    if mask is None:
        mask = np.ones(x.shape[1:3])
    n, h, w, c = xp.shape
    oh, ow = (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1], :]
            if kind == "max":
                out[:, i, j] = win.max(axis=(1, 2))
            else:
                m = mask[i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]]
                out[:, i, j] = win.sum(axis=(1, 2)) / m.sum()
    return out


def simple_rnn(x, kernel, rec, bias, act=np.tanh):
    h = np.zeros((x.shape[0], rec.shape[0]))
    hs = []
    for t in range(x.shape[1]):
        h = act(x[:, t] @ kernel + h @ rec + bias)
        hs.append(h)
    return np.stack(hs, 1), h


def lstm(x, kernel, rec, bias):
    """Keras' LSTM: gates i, f, c, o; c = f c + i tanh(.); h = o tanh(c)."""
    u = rec.shape[0]
    h = c = np.zeros((x.shape[0], u))
    hs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ rec + bias
        i, f, g, o = sigmoid(z[:, :u]), sigmoid(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), sigmoid(z[:, 3 * u:])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, 1), h, c


def gru(x, kernel, rec, bias):
    """Keras' GRU, reset_after=True: gates z, r, h; hh = tanh(x Wh + b + r * (h Uh + rb)); h = z h + (1 - z) hh."""
    u = rec.shape[0]
    h = np.zeros((x.shape[0], u))
    hs = []
    for t in range(x.shape[1]):
        xz = x[:, t] @ kernel + bias[0]
        hz = h @ rec + bias[1]
        z = sigmoid(xz[:, :u] + hz[:, :u])
        r = sigmoid(xz[:, u:2 * u] + hz[:, u:2 * u])
        hh = np.tanh(xz[:, 2 * u:] + r * hz[:, 2 * u:])
        h = z * h + (1 - z) * hh
        hs.append(h)
    return np.stack(hs, 1), h
