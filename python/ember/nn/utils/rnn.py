"""Packed sequences, as torch.nn.utils.rnn: a batch of variable-length sequences stored without
padding, time-major, for the recurrent layers (nn.RNN, nn.LSTM, nn.GRU accept a PackedSequence).

Layout: data (sum of lengths, *) holds step 0 of every sequence, then step 1 of those that
have one, ...; batch_sizes[t] says how many sequences have a step t. The sequences are in
decreasing order of length; sorted_indices[k] is the batch index of the k-th longest and
unsorted_indices the inverse permutation (both None when the batch came sorted).

Every function moves data with one gather (a fancy index, so autograd scatters gradients
back), whatever the batch size; the index arithmetic is NumPy on the host.
"""
from collections import namedtuple

import numpy as np

from ...creation import full
from ...ops import cat
from ...tensor import Tensor, tensor

__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence", "pack_sequence",
           "unpad_sequence", "unpack_sequence"]


def host_ints(v, op, name):
    """v (a list, array or int tensor) as a 1-D int64 NumPy array."""
    if isinstance(v, Tensor):
        if v.dtype.kind not in "iu":
            raise TypeError(f"[{op}] {name} must be integers, got a {v.dtype} tensor")
        v = v.numpy()
    a = np.asarray(v)
    if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
        raise TypeError(f"[{op}] {name} must be a 1-D sequence of ints, got {a.dtype} of shape {a.shape}")
    return a.astype(np.int64)


def _index_tensor(a, like):
    """An int64 tensor holding a, on a host device (as torch keeps lengths and batch_sizes on the CPU)."""
    return tensor(a, dtype="int64", device=like.device if like._backend.host else "cpu")


def check_batch_sizes(batch_sizes, data, op):
    """batch_sizes as a host int64 array, checked against data: positive, non-increasing, summing to
    data's rows (what packing makes; anything else would index outside data)."""
    bs = host_ints(batch_sizes, op, "batch_sizes")
    if not bs.size or bs.min() < 1 or np.any(bs[1:] > bs[:-1]) or int(bs.sum()) != data.shape[0]:
        raise ValueError(f"[{op}] batch_sizes {bs.tolist()} must be positive, non-increasing and sum to the "
                         f"{data.shape[0]} rows of data (shape {data.shape})")
    return bs


def batch_lengths(batch_sizes):
    """The sorted sequences' lengths: sequence k has a step t while batch_sizes[t] > k."""
    return (batch_sizes[None, :] > np.arange(batch_sizes[0])[:, None]).sum(axis=1)


def step_offsets(batch_sizes):
    """The row of data where step t starts."""
    return np.concatenate([[0], np.cumsum(batch_sizes)[:-1]]).astype(np.int64)


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """A packed batch (see the module's docstring); made by pack_padded_sequence or pack_sequence.

    Example:
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)   # x (T, N, I)
        out, h_n = nn.GRU(I, H)(packed)
        y, lengths = pad_packed_sequence(out)                              # y (T, N, H)
    """
    __slots__ = ()

    def __new__(cls, data, batch_sizes, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            order = host_ints(sorted_indices, "PackedSequence", "sorted_indices")
            if not np.array_equal(np.sort(order), np.arange(order.size)):
                raise ValueError(f"[PackedSequence] sorted_indices {order.tolist()} is not a permutation of "
                                 f"0..{order.size - 1}")
            inverse = np.empty_like(order)
            inverse[order] = np.arange(order.size)
            unsorted_indices = tensor(inverse, dtype="int64", device=sorted_indices.device)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, device=None, dtype=None):
        """The same packing with data moved (and/or cast); the indices follow data's device."""
        data = self.data.to(device, dtype)
        order = None if self.sorted_indices is None else self.sorted_indices.to(data.device)
        return PackedSequence(data, self.batch_sizes, order)


def _check_sequences(sequences, op):
    if isinstance(sequences, Tensor):
        sequences = [sequences[i] for i in range(sequences.shape[0])]
    sequences = list(sequences)
    if not sequences:
        raise ValueError(f"[{op}] received an empty list of sequences")
    first = sequences[0]
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise TypeError(f"[{op}] sequence {i} is a {type(s).__name__}, not a Tensor")
        if s.ndim < 1 or s.shape[1:] != first.shape[1:]:
            raise ValueError(f"[{op}] every sequence must be (length, *) with the same trailing shape; got "
                             f"{[tuple(x.shape) for x in sequences]}")
        if s.dtype != first.dtype or s._backend is not first._backend:
            raise ValueError(f"[{op}] sequences must share dtype and device: got {first.dtype} on '{first.device}' "
                             f"and {s.dtype} on '{s.device}'")
    return sequences


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences (L_i, *) into one (T, N, *) tensor (or (N, T, *) when batch_first), T the
    longest length, the rest filled with padding_value after each sequence (or before: 'left').

    Example:
        x = pad_sequence([a, b, c], batch_first=True)   # a (3, 5), b (1, 5), c (2, 5): x (3, 3, 5)
    """
    op = "pad_sequence"
    if padding_side not in ("left", "right"):
        raise ValueError(f"[{op}] Expected padding_side to be one of left or right, but got {padding_side}.")
    sequences = _check_sequences(sequences, op)
    lens = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    first = sequences[0]
    pad = full((1, *first.shape[1:]), padding_value, dtype=first.dtype, device=first.device)
    rows = cat([*sequences, pad], dim=0)
    steps = np.arange(lens.max())
    # position t of sequence i reads row starts[i] + t - shift[i], or the padding row (the last)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    shift = lens.max() - lens if padding_side == "left" else np.zeros_like(lens)
    src = steps[None, :] - shift[:, None]
    idx = np.where((src >= 0) & (src < lens[:, None]), starts[:, None] + src, rows.shape[0] - 1)
    return rows[idx if batch_first else idx.T]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch input (T, N, *) (or (N, T, *) when batch_first) whose sequence i has
    lengths[i] steps. enforce_sorted=True needs the lengths in decreasing order; with False the
    batch is sorted here and the order kept in sorted_indices.

    Example:
        packed = pack_padded_sequence(x, [5, 3, 2])
    """
    op = "pack_padded_sequence"
    if not isinstance(input, Tensor):
        raise TypeError(f"[{op}] input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"[{op}] input of shape {input.shape} must be (T, N, *) or, with batch_first, (N, T, *)")
    lens = host_ints(lengths, op, "lengths")
    n, steps = (input.shape[0], input.shape[1]) if batch_first else (input.shape[1], input.shape[0])
    if lens.size != n:
        raise ValueError(f"[{op}] Expected `len(lengths)` to be equal to batch_size, but got {lens.size} "
                         f"(batch_size={n})")
    if lens.size and lens.min() <= 0:
        raise ValueError(f"[{op}] Length of all samples has to be greater than 0, but found an element in 'lengths' "
                         f"that is <= 0: {lens.tolist()}")
    if lens.size and lens.max() > steps:
        raise ValueError(f"[{op}] a length of {lens.max()} is longer than the input's {steps} steps (input of shape "
                         f"{input.shape}, batch_first={batch_first})")
    sorted_indices = None
    order = np.arange(n)
    if enforce_sorted:
        if np.any(lens[1:] > lens[:-1]):
            raise ValueError(f"[{op}] `lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                             f"True, got {lens.tolist()}. You can pass `enforce_sorted=False` to pack_padded_sequence "
                             "and/or pack_sequence to sidestep this requirement if you do not need ONNX exportability.")
    else:
        order = np.argsort(-lens, kind="stable")  # ties keep their order, as torch.sort does here
        lens = lens[order]
        sorted_indices = tensor(order, dtype="int64", device=input.device)
    batch_sizes = (lens[None, :] > np.arange(lens.max() if lens.size else 0)[:, None]).sum(axis=1)
    # step t of the k-th longest sequence, in the flattened input
    t, k = np.nonzero(np.arange(batch_sizes.size)[:, None] < lens[None, :])
    col = order[k]
    rows = col * steps + t if batch_first else t * n + col
    data = input.reshape(n * steps, *input.shape[2:])[rows]
    return PackedSequence(data, _index_tensor(batch_sizes, input), sorted_indices)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo pack_padded_sequence: returns (padded (T, N, *) or (N, T, *), lengths (N,) int64), the
    batch back in its original order; T is total_length when given (at least the longest length).

    Example:
        y, lengths = pad_packed_sequence(out, batch_first=True)
    """
    op = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"[{op}] sequence must be a PackedSequence, got {type(sequence).__name__}")
    data = sequence.data
    bs = check_batch_sizes(sequence.batch_sizes, data, op)
    lens = batch_lengths(bs)
    steps = bs.size
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"[{op}] Expected total_length to be at least the length of the longest sequence in "
                             f"input, but got total_length={total_length} and max sequence length being {steps}")
        steps = int(total_length)
    unsorted = (np.arange(bs[0]) if sequence.unsorted_indices is None
                else host_ints(sequence.unsorted_indices, op, "unsorted_indices"))
    pad = full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    rows = cat([data, pad], dim=0)
    t = np.arange(steps)[:, None]
    k = unsorted[None, :]  # output column j is sorted sequence unsorted[j]
    offsets = step_offsets(bs)[np.minimum(t, bs.size - 1)]
    idx = np.where(t < lens[k], offsets + k, data.shape[0])
    out = rows[idx.T if batch_first else idx]
    return out, _index_tensor(lens[unsorted], data)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences (L_i, *), longest first unless enforce_sorted=False.

    Example:
        packed = pack_sequence([a, b, c], enforce_sorted=False)
    """
    sequences = _check_sequences(sequences, "pack_sequence")
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Undo pad_sequence: the list of sequences padded[:lengths[i], i] (padded[i, :lengths[i]] when batch_first).

    Example:
        seqs = unpad_sequence(pad_sequence([a, b]), [len(a), len(b)])
    """
    op = "unpad_sequence"
    lens = host_ints(lengths, op, "lengths")
    x = padded_sequences
    n, steps = (x.shape[0], x.shape[1]) if batch_first else (x.shape[1], x.shape[0])
    if lens.size != n or (lens.size and (lens.min() < 0 or lens.max() > steps)):
        raise ValueError(f"[{op}] lengths {lens.tolist()} do not fit a padded batch of {n} sequences of at most "
                         f"{steps} steps (shape {x.shape}, batch_first={batch_first})")
    return [x[i, :k] if batch_first else x[:k, i] for i, k in enumerate(lens.tolist())]


def unpack_sequence(packed_sequences):
    """Undo pack_sequence: the list of sequences, in the original order.

    Example:
        seqs = unpack_sequence(pack_sequence([a, b], enforce_sorted=False))
    """
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
