"""A two-layer MLP in plain numpy, trained with SGD on synthetic spirals.

    python -m snapline run examples/numpy_mlp.py --epochs 20
"""

import argparse

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=20)
parser.add_argument("--hidden", type=int, default=64)
parser.add_argument("--lr", type=float, default=0.5)
parser.add_argument("--nan-at", type=int, default=-1, help="poison the weights at this epoch")
args = parser.parse_args()

rng = np.random.default_rng(0)
n_per_class, n_classes = 200, 3
X = np.zeros((n_per_class * n_classes, 2), dtype=np.float32)
y = np.zeros(n_per_class * n_classes, dtype=np.int64)
for c in range(n_classes):
    r = np.linspace(0.0, 1.0, n_per_class)
    t = np.linspace(c * 4.0, (c + 1) * 4.0, n_per_class) + rng.normal(0, 0.2, n_per_class)
    X[c * n_per_class:(c + 1) * n_per_class] = np.c_[r * np.sin(t), r * np.cos(t)]
    y[c * n_per_class:(c + 1) * n_per_class] = c

params = {
    "W1": (rng.normal(0, 1, (2, args.hidden)) / np.sqrt(2)).astype(np.float32),
    "b1": np.zeros(args.hidden, dtype=np.float32),
    "W2": (rng.normal(0, 1, (args.hidden, n_classes)) / np.sqrt(args.hidden)).astype(np.float32),
    "b2": np.zeros(n_classes, dtype=np.float32),
}
layers = [params["W1"], params["W2"]]  # the same arrays, shared
history = []


def forward(X):
    h = np.maximum(0, X @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    return h, probs


def train_epoch(epoch):
    h, probs = forward(X)
    loss = float(-np.log(probs[np.arange(len(y)), y] + 1e-12).mean())
    grad = probs.copy()
    grad[np.arange(len(y)), y] -= 1
    grad /= len(y)
    dW2 = h.T @ grad
    db2 = grad.sum(axis=0)
    dh = grad @ params["W2"].T
    dh[h <= 0] = 0
    dW1 = X.T @ dh
    db1 = dh.sum(axis=0)
    for name, g in (("W1", dW1), ("b1", db1), ("W2", dW2), ("b2", db2)):
        params[name] -= args.lr * g  # in place: `layers` sees the update
    if epoch == args.nan_at:
        params["W2"][0, 0] = np.nan
    return loss


for epoch in range(args.epochs):
    loss = train_epoch(epoch)
    accuracy = float((forward(X)[1].argmax(axis=1) == y).mean())
    history.append(loss)
    print(f"epoch {epoch:3d}  loss {loss:.6f}  accuracy {accuracy:.3f}")

print(f"final loss {history[-1]:.6f}")
