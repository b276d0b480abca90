"""mm, bmm and t (checked spellings of matmul and transpose), norm, and einsum.

einsum runs forward with the array module's einsum; the gradient of each operand is again an
einsum, of the output's gradient and the other operands, with the operand's subscripts as the
output (swapped subscripts). Labels only that operand has are broadcast back, size-1 dimensions
that broadcast are summed, and repeated labels (diagonals, traces) write the diagonal.
"""
import collections
import math
import string

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .matmul import matmul
from .reduce import _expand, axes_arg
from .shape import ReshapeBackward, transpose


def _tensor(x, name, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"[{op}] {name} must be a Tensor, got {type(x).__name__}")
    return x


def mm(input, mat2):
    """The product of two matrices (2-D only, as torch.mm; matmul broadcasts)."""
    a, b = _tensor(input, "input", "mm"), _tensor(mat2, "mat2", "mm")
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"[mm] both operands must be matrices, got shapes {a.shape} and {b.shape}")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"[mm] shapes {a.shape} and {b.shape} cannot be multiplied ({a.shape[1]} != {b.shape[0]})")
    return matmul(a, b)


def bmm(input, mat2):
    """Batched product of (B, n, m) and (B, m, p) (3-D, same batch, no broadcasting: torch.bmm)."""
    a, b = _tensor(input, "input", "bmm"), _tensor(mat2, "mat2", "bmm")
    if a.ndim != 3 or b.ndim != 3:
        raise ValueError(f"[bmm] both operands must be 3-D, got shapes {a.shape} and {b.shape}")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ValueError(f"[bmm] shapes {a.shape} and {b.shape} cannot be multiplied batch by batch")
    return matmul(a, b)


def t(input):
    """The transpose of a matrix; a 0-d or 1-d tensor is returned as it is (a view)."""
    a = _tensor(input, "input", "t")
    if a.ndim > 2:
        raise ValueError(f"[t] expects a tensor with <= 2 dimensions, got shape {a.shape}; use transpose()")
    return transpose(a, 0, 1) if a.ndim == 2 else ReshapeBackward.apply(a, shape=a.shape)


# ---- norm ---------------------------------------------------------------------------
class NormBackward(Function):
    """The vector p-norm over axes; the gradient is 0 where the norm is 0 (as PyTorch)."""
    saved_inputs = (0,)
    saved_output = True

    def forward(self, a, p, axes, keep):
        xp = self.backend.xp
        ab = xp.abs(a)
        if p == math.inf:
            out = ab.max(axis=axes, keepdims=True)
        elif p == -math.inf:
            out = ab.min(axis=axes, keepdims=True)
        elif p == 0:
            out = (a != 0).sum(axis=axes, keepdims=True).astype(a.dtype)
        elif p == 1:
            out = ab.sum(axis=axes, keepdims=True)
        elif p == 2:
            out = xp.sqrt((a * a).sum(axis=axes, keepdims=True))
        else:
            out = (ab ** p).sum(axis=axes, keepdims=True) ** (1.0 / p)
        self.a, self.p, self.axes, self.keep, self.out = a, p, axes, keep, out
        return out if keep else out.reshape([n for i, n in enumerate(out.shape) if axes is not None and i not in axes])

    def backward(self, g):
        xp, a, p, out = self.backend.xp, self.a, self.p, self.out
        g = _expand(g, a.shape, self.axes, self.keep)
        if p == 0:
            return (xp.zeros_like(a),)
        if p == 1:
            return (g * xp.sign(a),)
        if p in (math.inf, -math.inf):
            hit = (xp.abs(a) == out).astype(a.dtype)
            return (g * xp.sign(a) * hit / hit.sum(axis=self.axes, keepdims=True),)
        safe = xp.where(out == 0, 1, out)
        if p == 2:
            return (xp.where(out == 0, 0, g * a / safe),)
        ab = xp.abs(a)
        r = g * a * xp.where(a == 0, 0, xp.where(a == 0, 1, ab) ** (p - 2)) / safe ** (p - 1)
        return (xp.where(out == 0, 0, r),)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The p-norm of input over dim (all of it by default): p a number (inf, -inf, 0, 1, 2, ...) or 'fro'.

    Example:
        x.norm()              # Euclidean norm of every element
        x.norm(1, dim=1)      # L1 norm of each row
    """
    a = _tensor(input, "input", "norm")
    if dtype is not None:
        a = a.to(dtype=dtype)
    if a.dtype.kind != "f":
        raise TypeError(f"[norm] expects a floating-point tensor, got {a.dtype}")
    axes = axes_arg(a.ndim, dim)
    if p == "fro":
        p = 2
    if isinstance(p, str) or isinstance(p, bool) or not isinstance(p, (int, float)):
        raise ValueError(f"[norm] p must be a number or 'fro', got {p!r}")
    if a.numel() == 0 and p in (math.inf, -math.inf):
        raise ValueError(f"[norm] the {p}-norm of an empty tensor of shape {a.shape} is undefined")
    return NormBackward.apply(a, p=float(p), axes=axes, keep=bool(keepdim))


# ---- einsum -------------------------------------------------------------------------
def _subscripts(equation, shapes):
    """The operands' subscripts and the output's, with '...' spelled as letters the equation does not use
    (right-aligned, so the ellipsis dimensions broadcast as NumPy's) and the implicit output made explicit."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"[einsum] '{equation}' names {len(terms)} operands but {len(shapes)} were given")
    bad = set(eq.replace("...", "").replace("->", "").replace(",", "")) - set(string.ascii_letters)
    if bad or "." in eq.replace("...", ""):
        raise ValueError(f"[einsum] invalid subscripts in '{equation}': use letters, ',', '->' and '...'")
    ell_dims = [len(s) - (len(t) - 3) if "..." in t else 0 for t, s in zip(terms, shapes)]
    free = [c for c in string.ascii_letters if c not in eq]
    ell = "".join(free[:max(ell_dims, default=0)])
    subs = []
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        if term.count("...") > 1 or ell_dims[i] < 0:
            raise ValueError(f"[einsum] subscripts '{term}' do not fit operand {i} of shape {shape}")
        sub = term.replace("...", ell[len(ell) - ell_dims[i]:]) if "..." in term else term
        if len(sub) != len(shape):
            raise ValueError(f"[einsum] subscripts '{term}' name {len(sub)} dimensions but operand {i} has shape "
                             f"{shape}")
        subs.append(sub)
    if arrow:
        out = rhs.replace("...", ell)
        if rhs.count("...") > 1 or len(set(out)) != len(out) or any(c not in "".join(subs) for c in out):
            raise ValueError(f"[einsum] output subscripts '{rhs}' must be distinct labels of the operands")
    else:
        counts = collections.Counter("".join(subs))
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return subs, out


def _check_sizes(subs, shapes):
    """ValueError where a label's sizes disagree: equal within an operand, equal or 1 across operands."""
    sizes = {}
    for i, (sub, shape) in enumerate(zip(subs, shapes)):
        own = {}
        for c, n in zip(sub, shape):
            if own.setdefault(c, n) != n:
                raise ValueError(f"[einsum] subscript {c} is repeated in operand {i} with sizes {own[c]} and {n} "
                                 f"(shape {shape})")
        for c, n in own.items():
            m = sizes.setdefault(c, n)
            if n != m and 1 not in (n, m):
                raise ValueError(f"[einsum] subscript {c} has size {n} in operand {i}, which does not broadcast "
                                 f"with size {m} in an earlier operand")
            sizes[c] = max(n, m)


def _einsum(xp, equation, *arrays):
    # NumPy's optimize=True contracts through BLAS (tensordot, batched matmul): far faster than its loops
    return xp.einsum(equation, *arrays, optimize=True) if xp is np else xp.einsum(equation, *arrays)


class EinsumBackward(Function):
    saved_inputs = (0,)  # every operand, in fact: forward widens it to all of them

    def forward(self, *arrays, subs, out):
        self.saved_inputs = tuple(range(len(arrays)))
        self.subs, self.out, self.arrays = subs, out, arrays
        xp = self.backend.xp
        return _einsum(xp, ",".join(subs) + "->" + out, *arrays)

    def backward(self, g):
        return tuple(self._grad(i, g) if need else None for i, need in enumerate(self.needs))

    def _grad(self, i, g):
        xp, sub, a = self.backend.xp, self.subs[i], self.arrays[i]
        others = [s for j, s in enumerate(self.subs) if j != i]
        labels = "".join(dict.fromkeys(sub))  # the operand's labels, each once
        seen = set(self.out + "".join(others))
        kept = "".join(c for c in labels if c in seen)
        grad = _einsum(xp, ",".join([self.out] + others) + "->" + kept, g,
                       *[x for j, x in enumerate(self.arrays) if j != i])
        # labels only this operand had (or had at full size) were summed: the gradient is the same along them
        shape_of = dict(zip(sub, a.shape))
        grad = grad.reshape([grad.shape[kept.index(c)] if c in kept else 1 for c in labels])
        grad = xp.broadcast_to(grad, [max(grad.shape[k], shape_of[c]) for k, c in enumerate(labels)])
        summed = tuple(k for k, c in enumerate(labels) if shape_of[c] == 1 and grad.shape[k] != 1)
        if summed:
            grad = grad.sum(axis=summed, keepdims=True)
        if len(labels) == len(sub):
            return grad
        out = xp.zeros(a.shape, dtype=g.dtype)  # a repeated label: only its diagonal was read
        n = len(labels)
        key = tuple(xp.arange(shape_of[c]).reshape([shape_of[c] if k == labels.index(c) else 1 for k in range(n)])
                    for c in sub)
        out[key] = grad
        return out


def einsum(equation, *operands):
    """Sums of products over the subscripts of `equation`, as torch.einsum (and numpy.einsum).

    Example:
        em.einsum("bij,bjk->bik", a, b)     # batched matmul
        em.einsum("...d,...d->...", q, k)    # a dot product over the last axis, batch broadcast
    """
    if not isinstance(equation, str):
        raise TypeError(f"[einsum] the equation must be a string, got {type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("[einsum] needs at least one operand")
    for i, x in enumerate(operands):
        _tensor(x, f"operand {i}", "einsum")
        if x._backend is not operands[0]._backend:
            raise ValueError(f"[einsum] operand {i} is on '{x.device}' but operand 0 is on '{operands[0].device}'")
    floats = [x.dtype for x in operands if x.dtype.kind == "f"]  # ember's promotion: int and float give the float
    dtype = np.result_type(*(floats or [x.dtype for x in operands]))
    operands = [x if x.dtype == dtype else x.to(dtype=dtype) for x in operands]
    subs, out = _subscripts(equation, [x.shape for x in operands])
    _check_sizes(subs, [x.shape for x in operands])
    return EinsumBackward.apply(*operands, subs=subs, out=out)
