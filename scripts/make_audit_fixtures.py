#!/usr/bin/python3
"""Reference values for the audit statistics (tests/test_metrics_nearest_neighbors.cpp,
test_metrics_copy_detection.cpp, test_metrics_class_balance.cpp), from NumPy/SciPy.

Run with Debian's interpreter:  /usr/bin/python3 scripts/make_audit_fixtures.py
Writes tests/data/audit_reference.npz. Written independently of the C++ code: brute-force
distance matrices, np.percentile, scipy.stats.mannwhitneyu, scipy.linalg.sqrtm.
"""
import os
import numpy as np
import scipy.linalg
import scipy.stats

rng = np.random.default_rng(20261207)
out = {}


def dist(a, b):
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


# --- exact 1-NN, and 1-NN within a set excluding each point itself ------------------------
q = rng.normal(size=(50, 7))
r = rng.normal(size=(80, 7)) * 1.1
r[17] = r[3]  # a duplicate: its own nearest neighbour is at distance 0
q[5] = r[40]  # an exact copy in the query set
d = dist(q, r)
out.update(nn_query=q, nn_ref=r, nn_dist=d.min(1), nn_index=d.argmin(1).astype(np.int64))
dr = dist(r, r)
np.fill_diagonal(dr, np.inf)
out.update(self_dist=dr.min(1), self_index=dr.argmin(1).astype(np.int64))

# --- percentile, copy rate, authenticity ----------------------------------------------------
v = rng.gamma(2.0, size=101)
out.update(pct_values=v, pct_1=np.percentile(v, 1), pct_37_5=np.percentile(v, 37.5))
fake_d = rng.gamma(2.0, size=64) * 0.8
held_d = rng.gamma(2.0, size=90)
thr = np.percentile(held_d, 1)
out.update(cr_fake=fake_d, cr_held=held_d, cr_threshold=thr, cr_rate=np.mean(fake_d < thr))
# Authenticity of q against r: authentic iff farther than the neighbour's own NN distance.
auth = d.min(1) > out["self_dist"][d.argmin(1)]
out.update(auth_mask=auth, authenticity=np.mean(auth))

# --- Mann-Whitney U with ties ----------------------------------------------------------------
x = np.round(rng.normal(size=40), 1)
y = np.round(rng.normal(size=55) + 0.3, 1)
u = scipy.stats.mannwhitneyu(x, y, alternative="two-sided").statistic
m, n = len(x), len(y)
out.update(mw_x=x, mw_y=y, mw_u=np.float64(u),
           mw_z=np.float64((u - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12)))

# --- C_T with given centroids (Meehan et al. 2020) -------------------------------------------
train = rng.normal(size=(300, 4))
held = rng.normal(size=(120, 4))
# Fakes: half near-copies of training points (small noise), half fresh draws.
fake = np.concatenate([train[rng.choice(300, 75, replace=False)] + rng.normal(size=(75, 4)) * 0.05,
                       rng.normal(size=(75, 4))])
cent = rng.normal(size=(5, 4)) * 1.2
cells = lambda a: dist(a, cent).argmin(1).astype(np.int64)
tc, hc, fc = cells(train), cells(held), cells(fake)
min_fakes = 10
num, den, used = 0.0, 0.0, []
zs = []
for c in range(len(cent)):
    t, h, f = train[tc == c], held[hc == c], fake[fc == c]
    ok = len(t) > 0 and len(h) > 0 and len(f) >= min_fakes
    used.append(ok)
    if not ok:
        zs.append(0.0)
        continue
    lq, lp = dist(f, t).min(1), dist(h, t).min(1)
    uu = scipy.stats.mannwhitneyu(lq, lp, alternative="two-sided").statistic
    mm, nn = len(lq), len(lp)
    z = (uu - mm * nn / 2) / np.sqrt(mm * nn * (mm + nn + 1) / 12)
    zs.append(z)
    w = len(h) / len(held)
    num += w * z
    den += w
out.update(ct_train=train, ct_held=held, ct_fake=fake, ct_centroids=cent, ct_train_cells=tc,
           ct_held_cells=hc, ct_fake_cells=fc, ct_min_fakes=np.int64(min_fakes),
           ct_z=np.array(zs), ct_used=np.array(used), ct_expected=np.float64(num / den))

# --- class balance ---------------------------------------------------------------------------
fc_ = rng.choice(6, size=500, p=[0.3, 0.1, 0.2, 0.25, 0.15, 0.0]).astype(np.int64)
rc_ = rng.integers(0, 6, size=700).astype(np.int64)
p = np.bincount(fc_, minlength=6) / len(fc_)
qq = np.bincount(rc_, minlength=6) / len(rc_)
nz = p > 0
out.update(cb_fake=fc_, cb_real=rc_, cb_kl=np.float64((p[nz] * np.log(p[nz] / qq[nz])).sum()),
           cb_tv=np.float64(0.5 * np.abs(p - qq).sum()),
           cb_over=np.int64(np.argmax(p - qq)), cb_under=np.int64(np.argmax(qq - p)))

# --- intra-class FID (scipy sqrtm per class) -------------------------------------------------
rf = rng.normal(size=(240, 5))
rl = rng.integers(0, 3, size=240).astype(np.int64)
ff = rng.normal(size=(210, 5)) * 1.3 + 0.2
fl = rng.integers(0, 3, size=210).astype(np.int64)
fids = []
for c in range(3):
    a, b = rf[rl == c], ff[fl == c]
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    cm, _ = scipy.linalg.sqrtm(s1 @ s2, disp=False)
    fids.append(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s1) + np.trace(s2) -
                2 * np.trace(cm.real))
out.update(ic_real=rf, ic_real_labels=rl, ic_fake=ff, ic_fake_labels=fl, ic_fid=np.array(fids))

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                    "audit_reference.npz")
np.savez(path, **out)
print("wrote", path, "C_T", out["ct_expected"], "cells used", used)
