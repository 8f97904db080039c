"""Coverage cases: scikit-learn (declare, fit, change in place)."""
import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

rng = np.random.default_rng(0)
X = rng.normal(size=(60, 4))
y = (X[:, 0] + X[:, 1] > 0).astype(int)
scaler = StandardScaler().fit(X)
logreg = LogisticRegression(max_iter=200).fit(X, y)
logreg.coef_[0, 0] += 0.5
pipeline = Pipeline([("scale", scaler), ("clf", LogisticRegression(max_iter=200))]).fit(X, y)
forest = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, y)
boosting = GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0).fit(X, y)
tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
kmeans = KMeans(n_clusters=3, n_init=2, random_state=0).fit(X)
pca = PCA(n_components=2).fit(X)
sgd = SGDClassifier(random_state=0)
sgd.partial_fit(X[:30], y[:30], classes=[0, 1])
sgd.partial_fit(X[30:], y[30:])
knn = KNeighborsClassifier(n_neighbors=3).fit(X, y)
labels = LabelEncoder().fit(["cat", "dog", "cat", "bird"])
onehot = OneHotEncoder(handle_unknown="ignore").fit([["a"], ["b"], ["c"]])
unfitted = LogisticRegression(C=0.5)
X_test = X[:5]

CASES = {
    "scaler": ("scaler", "[scaler.transform(X_test).round(9).tolist()]"),
    "logreg_modified": ("logreg", "[logreg.predict_proba(X_test).round(9).tolist()]"),
    "pipeline_shares_step": ("pipeline scaler",
                             "[pipeline.steps[0][1] is scaler, pipeline.predict(X_test).tolist()]"),
    "random_forest": ("forest", "[forest.predict_proba(X_test).round(9).tolist()]"),
    "gradient_boosting": ("boosting", "[boosting.predict_proba(X_test).round(9).tolist()]"),
    "decision_tree": ("tree", "[tree.predict(X_test).tolist(), tree.tree_.node_count]"),
    "kmeans": ("kmeans", "[kmeans.predict(X_test).tolist(), round(float(kmeans.inertia_), 6)]"),
    "pca": ("pca", "[pca.transform(X_test).round(9).tolist()]"),
    "sgd_partial_fit": ("sgd", "[sgd.coef_.round(9).tolist(), sgd.t_]"),
    "knn": ("knn", "[knn.predict(X_test).tolist()]"),
    "label_encoder": ("labels", "[labels.transform(['dog']).tolist(), list(labels.classes_)]"),
    "onehot": ("onehot", "[onehot.transform([['b']]).toarray().tolist()]"),
    "unfitted": ("unfitted", "[unfitted.get_params()['C'], hasattr(unfitted, 'coef_')]"),
}
