"""PyTorch's MNIST example (two conv, two linear layers, Adadelta, StepLR) on
MNIST-shaped random data: the paper's pytorch_mnist, scaled down.
`--save-dir DIR`: also torch.save model and optimizer each epoch (the manual
checkpoint contender)."""

import argparse
import os
import time

import safepoint
import torch
import torch.nn.functional as F
from safepoint import safe_point
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.set_num_threads(1)
parser = argparse.ArgumentParser()
parser.add_argument("--samples", type=int, default=6400)
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--save-dir", default=None)
args = parser.parse_args()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(self.dropout1(x), 1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


torch.manual_seed(1)
images = torch.randint(0, 256, (args.samples, 1, 28, 28), dtype=torch.uint8)
targets = torch.randint(0, 10, (args.samples,))
train = DataLoader(TensorDataset(images, targets), batch_size=args.batch_size, shuffle=True)
model = Net()
optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
losses = []
for epoch in range(args.epochs):
    model.train()
    for data, target in train:
        data = (data.float() / 255.0 - 0.1307) / 0.3081
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        safe_point()
    scheduler.step()
    print(f"epoch {epoch}: loss {losses[-1]:.4f}", flush=True)
    if args.save_dir:
        started = time.perf_counter()
        path = os.path.join(args.save_dir, f"epoch{epoch}.pt")
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "epoch": epoch}, path)
        safepoint.saved(path, started)
