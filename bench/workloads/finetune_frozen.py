"""Fine-tuning with most layers frozen: a "pretrained" backbone (eight wide
linear blocks, 34 MB of weights, requires_grad off) under a small trainable
head, AdamW on the head only. Between snapshots only the head and its
optimizer state change. `--save-dir DIR`: also torch.save model and
optimizer each epoch, as people usually do (the whole state dict)."""

import argparse
import os
import time

import safepoint
import torch
import torch.nn.functional as F
from safepoint import safe_point
from torch import nn

torch.set_num_threads(1)
parser = argparse.ArgumentParser()
parser.add_argument("--samples", type=int, default=16384)
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--width", type=int, default=1024)
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--save-dir", default=None)
args = parser.parse_args()

torch.manual_seed(0)
backbone = nn.Sequential(*[nn.Sequential(nn.Linear(args.width, args.width), nn.GELU())
                           for _ in range(8)])
head = nn.Sequential(nn.Linear(args.width, 256), nn.ReLU(), nn.Linear(256, 10))
model = nn.Sequential(backbone, head)
backbone.requires_grad_(False)
features = torch.randn(args.samples, args.width)
labels = torch.randint(0, 10, (args.samples,))
optimizer = torch.optim.AdamW(head.parameters(), lr=1e-3)
losses = []
for epoch in range(args.epochs):
    order = torch.randperm(args.samples)
    for start in range(0, args.samples, args.batch_size):
        idx = order[start:start + args.batch_size]
        loss = F.cross_entropy(model(features[idx]), labels[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        safe_point()
    print(f"epoch {epoch}: loss {losses[-1]:.4f}", flush=True)
    if args.save_dir:
        started = time.perf_counter()
        path = os.path.join(args.save_dir, f"epoch{epoch}.pt")
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "epoch": epoch}, path)
        safepoint.saved(path, started)
