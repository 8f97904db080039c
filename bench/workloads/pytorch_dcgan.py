"""PyTorch's DCGAN example (its generator and discriminator for 64x64 images,
Adam, BCE) on CIFAR-shaped random data resized to 64x64 as the example
does: the paper's pytorch_dcgan, scaled down. `--save-dir DIR`: also
torch.save both models and optimizers each epoch."""

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
parser.add_argument("--samples", type=int, default=640)
parser.add_argument("--epochs", type=int, default=4)
parser.add_argument("--batch-size", type=int, default=16)
parser.add_argument("--save-dir", default=None)
args = parser.parse_args()
nz, ngf, ndf, nc = 100, 64, 64, 3


def weights_init(m):
    name = m.__class__.__name__
    if name.find("Conv") != -1:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif name.find("BatchNorm") != -1:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, x):
        return self.main(x)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())

    def forward(self, x):
        return self.main(x).view(-1, 1).squeeze(1)


torch.manual_seed(999)
images = torch.randint(0, 256, (args.samples, 32, 32, 3), dtype=torch.uint8)
data = DataLoader(TensorDataset(images), batch_size=args.batch_size, shuffle=True)
netG, netD = Generator(), Discriminator()
netG.apply(weights_init)
netD.apply(weights_init)
criterion = nn.BCELoss()
fixed_noise = torch.randn(16, nz, 1, 1)
optimizerD = torch.optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
optimizerG = torch.optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))
lossesD, lossesG = [], []
for epoch in range(args.epochs):
    for (batch,) in data:
        real = batch.permute(0, 3, 1, 2).float() / 127.5 - 1.0
        real = F.interpolate(real, size=64, mode="bilinear", align_corners=False)
        netD.zero_grad()
        label = torch.full((real.size(0),), 1.0)
        errD_real = criterion(netD(real), label)
        errD_real.backward()
        fake = netG(torch.randn(real.size(0), nz, 1, 1))
        label.fill_(0.0)
        errD_fake = criterion(netD(fake.detach()), label)
        errD_fake.backward()
        optimizerD.step()
        netG.zero_grad()
        label.fill_(1.0)
        errG = criterion(netD(fake), label)
        errG.backward()
        optimizerG.step()
        lossesD.append((errD_real + errD_fake).item())
        lossesG.append(errG.item())
        safe_point()
    print(f"epoch {epoch}: loss_D {lossesD[-1]:.4f} loss_G {lossesG[-1]:.4f}", flush=True)
    if args.save_dir:
        started = time.perf_counter()
        path = os.path.join(args.save_dir, f"epoch{epoch}.pt")
        torch.save({"netG": netG.state_dict(), "netD": netD.state_dict(),
                    "optimizerG": optimizerG.state_dict(), "optimizerD": optimizerD.state_dict(),
                    "epoch": epoch}, path)
        safepoint.saved(path, started)
