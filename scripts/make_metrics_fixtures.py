#!/usr/bin/python3
"""Reference values for the metric tests (tests/test_metrics_math.cpp), from NumPy/SciPy.

Run with Debian's interpreter:  /usr/bin/python3 scripts/make_metrics_fixtures.py
Writes tests/data/metrics_reference.npz (inputs and expected numbers, ~0.2 MB).
The formulas here are written independently of the C++ code: scipy.linalg.sqrtm for FID,
an explicit SVD of the cross product for the rank-deficient case, and brute-force loops
for the k-NN metrics.
"""
import os
import numpy as np
import scipy.linalg

rng = np.random.default_rng(20261130)
out = {}

# --- FID, full rank: 400 samples in 16 dimensions, correlated, shifted -------------------
d = 16
mix_a = rng.normal(size=(d, d))
mix_b = rng.normal(size=(d, d)) * 0.7 + np.eye(d)
real = rng.normal(size=(400, d)) @ mix_a + 0.5
fake = rng.normal(size=(350, d)) @ mix_b - 0.25
mu1, mu2 = real.mean(0), fake.mean(0)
s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
covmean, _ = scipy.linalg.sqrtm(s1.dot(s2), disp=False)
fid = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean.real)
out.update(fid_real=real, fid_fake=fake, fid_mu1=mu1, fid_sigma1=s1, fid_mu2=mu2,
           fid_sigma2=s2, fid_expected=np.float64(fid))

# --- FID, rank deficient: 20 and 25 samples in 64 dimensions ------------------------------
ra = rng.normal(size=(20, 64)) * np.linspace(0.1, 3, 64)
fa = rng.normal(size=(25, 64)) + 0.3
a1, a2 = ra - ra.mean(0), fa - fa.mean(0)
nuc = np.linalg.svd(a1 @ a2.T, compute_uv=False).sum() / np.sqrt((20 - 1) * (25 - 1))
fid_rd = (((ra.mean(0) - fa.mean(0)) ** 2).sum() + np.trace(np.cov(ra, rowvar=False)) +
          np.trace(np.cov(fa, rowvar=False)) - 2 * nuc)
# What the usual sqrtm route reports for identical rank-deficient sets (should be 0).
sd = np.cov(ra, rowvar=False)
cm, _ = scipy.linalg.sqrtm(sd.dot(sd), disp=False)
out.update(rd_real=ra, rd_fake=fa, rd_expected=np.float64(fid_rd),
           rd_sqrtm_identical=np.float64(2 * np.trace(sd) - 2 * np.trace(cm.real)))

# --- KID: unbiased MMD^2 with the cubic kernel over whole sets ----------------------------
kx = rng.normal(size=(120, 8))
ky = rng.normal(size=(90, 8)) * 1.2 + 0.2


def mmd2(x, y):
    dd = x.shape[1]
    kxx = (x @ x.T / dd + 1) ** 3
    kyy = (y @ y.T / dd + 1) ** 3
    kxy = (x @ y.T / dd + 1) ** 3
    m, n = len(x), len(y)
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
            - 2 * kxy.mean())


out.update(kid_x=kx, kid_y=ky, kid_expected=np.float64(mmd2(kx, ky)))

# --- IS: Dirichlet probabilities, 10 splits -----------------------------------------------
p = rng.dirichlet(np.full(12, 0.3), size=205)
scores = []
part = len(p) // 10
for k in range(10):
    pk = p[k * part:(k + 1) * part]
    py = pk.mean(0, keepdims=True)
    kl = pk * (np.log(pk) - np.log(py))
    scores.append(np.exp(kl.sum(1).mean()))
out.update(is_probs=p, is_mean=np.float64(np.mean(scores)), is_std=np.float64(np.std(scores)))

# --- precision/recall (k=3, <=) and density/coverage (k=5, <), brute force ----------------
pr_real = rng.normal(size=(150, 6))
pr_fake = rng.normal(size=(130, 6)) * 1.3 + 0.4


def sqd(a, b):
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)


def radii(x, k):
    dist = sqd(x, x)
    return np.sort(dist, axis=1)[:, k]  # column 0 is the point itself


r3, f3 = radii(pr_real, 3), radii(pr_fake, 3)
d_fr = sqd(pr_fake, pr_real)
precision = np.mean([(d_fr[j] <= r3).any() for j in range(len(pr_fake))])
recall = np.mean([(d_fr[:, i] <= f3).any() for i in range(len(pr_real))])
r5 = radii(pr_real, 5)
density = (d_fr < r5[None, :]).sum() / (5.0 * len(pr_fake))
coverage = (d_fr.min(0) < r5).mean()
out.update(pr_real=pr_real, pr_fake=pr_fake, pr_precision=np.float64(precision),
           pr_recall=np.float64(recall), dc_density=np.float64(density),
           dc_coverage=np.float64(coverage))

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                    "metrics_reference.npz")
np.savez(path, **out)
# A deflated copy exercises the .npz reader's inflate path (clean-fid writes compressed files).
np.savez_compressed(path.replace(".npz", "_compressed.npz"), mu=mu1, sigma=s1,
                    labels=np.arange(7, dtype=np.int64), flags=np.array([True, False]),
                    fortran=np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)))
print("wrote", path, "fid", fid, "rank-deficient fid", fid_rd, "sqrtm on identical",
      out["rd_sqrtm_identical"])
