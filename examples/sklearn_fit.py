"""scikit-learn: scale, fit an SGD classifier epoch by epoch with partial_fit,
then a random forest, on synthetic data.

    python -m snapline run examples/sklearn_fit.py --epochs 10
"""

import argparse

import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--samples", type=int, default=5000)
args = parser.parse_args()

X, y = make_classification(n_samples=args.samples, n_features=20, n_informative=10,
                           n_classes=3, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

model = SGDClassifier(loss="log_loss", random_state=0)
classes = np.unique(y)
rng = np.random.RandomState(0)
for epoch in range(args.epochs):
    order = rng.permutation(len(X_train))
    model.partial_fit(X_train[order], y_train[order], classes=classes)
    accuracy = model.score(X_test, y_test)
    print(f"epoch {epoch:2d}  test accuracy {accuracy:.4f}")

forest = RandomForestClassifier(n_estimators=30, max_depth=8, random_state=0, n_jobs=1)
forest.fit(X_train, y_train)
forest_accuracy = forest.score(X_test, y_test)
print(f"random forest test accuracy {forest_accuracy:.4f}")
