"""A word-level language model on Genesis 1-18 (King James Version, bundled with ember): an LSTM
or a causal Transformer encoder predicts each next word; prints the validation perplexity after
every epoch, then samples a few verses.

    python examples/language_model.py [--model lstm|transformer] [--epochs 10] [--device cpu] [--quick]
"""
import argparse
import math
import re
import time
from collections import Counter

import numpy as np

import ember as em
from ember import nn

EOS, UNK = "<eos>", "<unk>"


def tokenize(verse):
    """Words (apostrophes kept: "Abram's") and punctuation marks as tokens, then an end-of-verse token."""
    return re.findall(r"[A-Za-z']+|[.,;:!?]", verse) + [EOS]


class Vocab:
    """Words seen at least min_count times in the training verses; the rest map to <unk>."""

    def __init__(self, verses, min_count):
        counts = Counter(w for v in verses for w in tokenize(v))
        self.words = [EOS, UNK] + sorted(w for w, c in counts.items() if c >= min_count and w != EOS)
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self):
        return len(self.words)

    def encode(self, verses):
        unk = self.index[UNK]
        return np.array([self.index.get(w, unk) for v in verses for w in tokenize(v)], np.int64)


def windows(ids, steps):
    """The token stream cut into (n, steps) inputs and the (n, steps) next tokens."""
    n = (len(ids) - 1) // steps
    return ids[:n * steps].reshape(n, steps), ids[1:n * steps + 1].reshape(n, steps)


class LSTMModel(nn.Module):
    def __init__(self, vocab, dim, layers, dropout):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.drop = nn.Dropout(dropout)
        self.lstm = nn.LSTM(dim, dim, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Linear(dim, vocab)

    def forward(self, tokens):            # tokens (N, T) -> logits (N, T, vocab)
        out, _ = self.lstm(self.drop(self.embed(tokens)))
        return self.head(self.drop(out))


def sinusoids(length, dim):
    """The fixed positional encoding of Vaswani et al.: sin and cos of position / 10000^(2i / dim)."""
    pos = np.arange(length)[:, None]
    freq = np.exp(-math.log(10000.0) * np.arange(0, dim, 2) / dim)
    pe = np.zeros((length, dim), np.float32)
    pe[:, 0::2], pe[:, 1::2] = np.sin(pos * freq), np.cos(pos * freq)
    return pe


class TransformerModel(nn.Module):
    def __init__(self, vocab, dim, layers, dropout, heads=4, max_len=256):
        super().__init__()
        self.dim = dim
        self.embed = nn.Embedding(vocab, dim)
        self.register_buffer("pe", em.tensor(sinusoids(max_len, dim)))
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=4 * dim, dropout=dropout, batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(dim))
        self.head = nn.Linear(dim, vocab)

    def forward(self, tokens):            # tokens (N, T) -> logits (N, T, vocab); position t sees tokens <= t
        steps = tokens.shape[1]
        x = self.embed(tokens) * math.sqrt(self.dim) + self.pe[:steps]
        mask = nn.Transformer.generate_square_subsequent_mask(steps, device=tokens.device)
        return self.head(self.encoder(self.drop(x), mask=mask, is_causal=True))


def perplexity(model, x, y, batch):
    """exp of the mean next-word cross-entropy over every window of (x, y)."""
    model.eval()
    total = 0.0
    with em.no_grad():
        for i in range(0, len(x), batch):
            logits = model(x[i:i + batch])
            n = logits.shape[0] * logits.shape[1]
            total += float(nn.functional.cross_entropy(logits.reshape(n, -1), y[i:i + batch].reshape(n)).item()) * n
    return math.exp(total / (x.shape[0] * x.shape[1]))


def generate(model, vocab, prompt, steps, rng, device, temperature=0.8, max_words=40):
    """Samples words after prompt until <eos> (or max_words), reading at most `steps` tokens back."""
    ids = list(vocab.encode([prompt])[:-1])
    model.eval()
    with em.no_grad():
        for _ in range(max_words):
            logits = model(em.tensor(np.array([ids[-steps:]]), device=device))[0, -1].numpy().astype(np.float64)
            p = np.exp((logits - logits.max()) / temperature)
            nxt = int(rng.choice(len(p), p=p / p.sum()))
            if nxt == vocab.index[EOS]:
                break
            ids.append(nxt)
    return re.sub(r" ([.,;:!?])", r"\1", " ".join(vocab.words[i] for i in ids))


def train_epoch(model, opt, x, y, batch, rng):
    model.train()
    order = rng.permutation(len(x))
    for i in range(0, len(order), batch):
        idx = order[i:i + batch]
        logits = model(x[idx])
        n = logits.shape[0] * logits.shape[1]
        loss = nn.functional.cross_entropy(logits.reshape(n, -1), y[idx].reshape(n))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=("lstm", "transformer"), default="transformer")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--steps", type=int, default=32, help="tokens per training window")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate")
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--device", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a small model for two epochs, for a smoke test")
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.dim, args.layers, args.steps, args.dropout = 2, 32, 1, 16, 0.0

    em.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    dev = args.device or em.get_default_device()
    verses = em.data.datasets.load_genesis()
    train_verses = [v for i, v in enumerate(verses) if i % 10 != 9]  # every tenth verse held out
    val_verses = verses[9::10]
    vocab = Vocab(train_verses, min_count=2)
    x_train, y_train = (em.tensor(a, device=dev) for a in windows(vocab.encode(train_verses), args.steps))
    x_val, y_val = (em.tensor(a, device=dev) for a in windows(vocab.encode(val_verses), args.steps))
    cls = LSTMModel if args.model == "lstm" else TransformerModel
    model = cls(len(vocab), args.dim, args.layers, args.dropout).to(dev)
    opt = em.optim.Adam(model.parameters(), lr=args.lr)

    print(f"{args.model} language model on Genesis 1-18: {len(vocab)} words, {x_train.shape[0]} training windows "
          f"of {args.steps} tokens, device {dev}")
    curve = []
    start = time.perf_counter()
    for epoch in range(args.epochs):
        train_epoch(model, opt, x_train, y_train, args.batch, rng)
        curve.append(perplexity(model, x_val, y_val, args.batch))
        print(f"epoch {epoch + 1:3d}  validation perplexity {curve[-1]:8.2f}  ({time.perf_counter() - start:.1f} s)")
    samples = [generate(model, vocab, prompt, args.steps, rng, dev) for prompt in ("And God", "And Abram", "The LORD")]
    print("samples:")
    for s in samples:
        print("  " + s)
    return {"perplexity": curve, "vocab": len(vocab), "samples": samples}


if __name__ == "__main__":
    main()
