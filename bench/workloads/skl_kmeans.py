"""KMeans on Gaussian blobs (the paper's skl_kmeans: 1M samples, 1000 blobs,
20 features), scaled down. Each epoch is one restart of KMeans (k-means++
initialisation, a few Lloyd iterations); the best model so far is kept."""

import argparse

import numpy as np
from safepoint import safe_point
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

parser = argparse.ArgumentParser()
parser.add_argument("--samples", type=int, default=200_000)
parser.add_argument("--blobs", type=int, default=200)
parser.add_argument("--epochs", type=int, default=8)
parser.add_argument("--iters", type=int, default=10)
args = parser.parse_args()

X, y = make_blobs(n_samples=args.samples, centers=args.blobs, n_features=20, random_state=0)
best, best_inertia, inertias = None, np.inf, []
for epoch in range(args.epochs):
    km = KMeans(n_clusters=args.blobs, n_init=1, max_iter=args.iters, tol=0.0,
                random_state=epoch).fit(X)
    inertias.append(km.inertia_)
    if km.inertia_ < best_inertia:
        best, best_inertia = km, km.inertia_
    print(f"epoch {epoch}: inertia {km.inertia_:.4g} (best {best_inertia:.4g})", flush=True)
    safe_point()
labels = best.predict(X)
print(f"clusters used: {len(np.unique(labels))}")
