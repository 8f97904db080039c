# ruff: noqa: B018 - a cell ending in an expression shows it, as in Jupyter
# Notebook workload, one cell per "# %%" (percent format): load a data set,
# clean a DataFrame, fit models cell by cell. The harness runs the cells in a
# real Jupyter kernel (jupyter_client), one execute request per cell.
# SAMPLES is set by the harness's first cell (it scales the run).

# %%
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

# %%
X, y = make_classification(n_samples=SAMPLES, n_features=24, n_informative=12,  # noqa: F821
                           random_state=0)
raw = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
raw["label"] = y
rng = np.random.default_rng(0)
raw["city"] = rng.choice(["paris", "lyon", "nice", None], len(raw))
raw.loc[rng.random(len(raw)) < 0.03, "f3"] = np.nan
raw.loc[rng.random(len(raw)) < 0.01, "f7"] = 1e6
raw.shape

# %%
df = raw.dropna(subset=["city"]).copy()
df["f3"] = df["f3"].fillna(df["f3"].median())
df["f7"] = df["f7"].clip(upper=df["f7"].quantile(0.99))
df = pd.get_dummies(df, columns=["city"], dtype=np.float64)
df.describe().T.head()

# %%
df["f0_x_f1"] = df["f0"] * df["f1"]
df["f2_sq"] = df["f2"] ** 2
features = [c for c in df.columns if c != "label"]
X_train, X_test, y_train, y_test = train_test_split(df[features].to_numpy(), df["label"].to_numpy(),
                                                    test_size=0.25, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train_s, X_test_s = scaler.transform(X_train), scaler.transform(X_test)

# %%
logreg = LogisticRegression(max_iter=500).fit(X_train_s, y_train)
scores = {"logreg": accuracy_score(y_test, logreg.predict(X_test_s))}
scores

# %%
forest = RandomForestClassifier(n_estimators=60, max_depth=12, random_state=0, n_jobs=1)
forest.fit(X_train, y_train)
scores["forest"] = accuracy_score(y_test, forest.predict(X_test))
scores

# %%
boost = HistGradientBoostingClassifier(max_iter=150, random_state=0).fit(X_train, y_train)
scores["boost"] = accuracy_score(y_test, boost.predict(X_test))
scores

# %%
importance = pd.Series(forest.feature_importances_, index=features).sort_values(ascending=False)
summary = pd.DataFrame({"accuracy": scores}).sort_values("accuracy", ascending=False)
summary
