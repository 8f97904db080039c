"""A small PyTorch CPU classifier: shuffling DataLoader, Adam, cross-entropy,
on synthetic Gaussian clusters.

    python -m snapline run examples/torch_classifier.py --epochs 5
"""

import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--samples", type=int, default=4096)
parser.add_argument("--lr", type=float, default=1e-3)
parser.add_argument("--workers", type=int, default=0)
args = parser.parse_args()

torch.manual_seed(0)
torch.set_num_threads(1)

n_classes, n_features = 4, 32
centers = torch.randn(n_classes, n_features) * 3
labels = torch.randint(0, n_classes, (args.samples,))
features = centers[labels] + torch.randn(args.samples, n_features)
dataset = TensorDataset(features, labels)
loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True,
                    num_workers=args.workers)

model = nn.Sequential(
    nn.Linear(n_features, 128),
    nn.ReLU(),
    nn.Linear(128, 64),
    nn.ReLU(),
    nn.Linear(64, n_classes),
)
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
loss_fn = nn.CrossEntropyLoss()


def train(epochs):
    for epoch in range(epochs):
        model.train()
        total, correct, running = 0, 0, 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            running += loss.item() * len(yb)
            correct += (logits.argmax(1) == yb).sum().item()
            total += len(yb)
        epoch_loss = running / total
        accuracy = correct / total
        print(f"epoch {epoch}  loss {epoch_loss:.6f}  accuracy {accuracy:.4f}")
    return epoch_loss


final_loss = train(args.epochs)
print(f"final loss {final_loss:.6f}")
