"""Coverage cases: scipy (declare, change in place)."""
import numpy as np
from scipy import interpolate, optimize, sparse, spatial, stats

rng = np.random.default_rng(1)
csr = sparse.random(6, 5, density=0.4, format="csr", random_state=2)
csr.data[0] = 9.0
coo = sparse.coo_matrix(([1.0, 2.0], ([0, 2], [1, 0])), shape=(3, 3))
lil = sparse.lil_matrix((4, 4))
lil[1, 2] = 3.0
csr_array = sparse.csr_array(np.eye(3))
csr_array[0, 2] = 4.0
result = optimize.minimize(lambda x: ((x - 2) ** 2).sum(), np.zeros(2), method="Nelder-Mead")
least = optimize.least_squares(lambda p: p - np.array([1.0, 3.0]), np.zeros(2))
frozen = stats.norm(loc=1.0, scale=2.0)
sample = frozen.rvs(size=5, random_state=3)
test_result = stats.ttest_ind(rng.normal(size=10), rng.normal(size=10))
spline = interpolate.CubicSpline(np.arange(5.0), np.arange(5.0) ** 2)
interp = interpolate.interp1d(np.arange(4.0), np.array([0.0, 1.0, 4.0, 9.0]))
tree = spatial.cKDTree(rng.normal(size=(20, 2)))
hull = spatial.ConvexHull(rng.normal(size=(12, 2)))
rotation = spatial.transform.Rotation.from_euler("z", 45, degrees=True)
kde = stats.gaussian_kde(rng.normal(size=30))

CASES = {
    "csr_matrix": ("csr", "[sig(csr.toarray()), csr.nnz, csr.format]"),
    "coo_matrix": ("coo", "[sig(coo.toarray()), coo.format]"),
    "lil_matrix": ("lil", "[sig(lil.toarray()), lil.format]"),
    "csr_array": ("csr_array", "[sig(csr_array.toarray()), type(csr_array).__name__]"),
    "optimize_result": ("result", ("[result.x.round(6).tolist(), bool(result.success), "
                                   "np.shares_memory(result.x, result.final_simplex[0])]")),
    "least_squares": ("least", "[least.x.round(6).tolist(), least.status]"),
    "frozen_distribution": ("frozen", "[frozen.mean(), frozen.std(), frozen.cdf(1.0)]"),
    "rvs_sample": ("sample", "sig(sample)"),
    "ttest_result": ("test_result", "[float(test_result.statistic), float(test_result.pvalue)]"),
    "cubic_spline": ("spline", "[float(spline(2.5)), sig(spline.c)]"),
    "interp1d": ("interp", "[float(interp(1.5))]"),
    "kdtree": ("tree", "[tree.query([0.0, 0.0])[1], tree.n]"),
    "convex_hull": ("hull", "[sorted(hull.vertices.tolist()), round(hull.volume, 9)]"),
    "rotation": ("rotation", "[rotation.as_quat().round(9).tolist()]"),
    "gaussian_kde": ("kde", "[float(kde(0.0)[0])]"),
}
