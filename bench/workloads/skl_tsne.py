"""t-SNE on an image-like data set (the paper's skl_tsne), scaled down: small
grey images drawn from a few smooth prototypes plus noise, embedded once per
perplexity; every embedding is kept."""

import argparse

import numpy as np
from safepoint import safe_point
from sklearn.manifold import TSNE

parser = argparse.ArgumentParser()
parser.add_argument("--samples", type=int, default=2500)
parser.add_argument("--side", type=int, default=16)
parser.add_argument("--perplexities", type=str, default="5,10,20,30,40,50")
args = parser.parse_args()

rng = np.random.default_rng(0)
grid = np.linspace(0, 1, args.side)
prototypes = np.stack([np.outer(np.sin((k + 1) * np.pi * grid), np.cos(k * np.pi * grid))
                       for k in range(10)])
labels = rng.integers(0, 10, args.samples)
images = prototypes[labels] + 0.3 * rng.standard_normal((args.samples, args.side, args.side))
X = images.reshape(args.samples, -1).astype(np.float32)
embeddings, kl = {}, {}
for perplexity in (float(p) for p in args.perplexities.split(",")):
    tsne = TSNE(n_components=2, perplexity=min(perplexity, (args.samples - 1) / 3),
                init="pca", random_state=0)
    embeddings[perplexity] = tsne.fit_transform(X)
    kl[perplexity] = tsne.kl_divergence_
    print(f"perplexity {perplexity:g}: KL {tsne.kl_divergence_:.3f}", flush=True)
    safe_point()
