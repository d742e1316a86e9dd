#!/usr/bin/python3
"""Writes tests/data/stylegan2_reference.pt (a dict of tensors saved with torch.save; the C++
test reads it with torch::pickle_load): reference outputs for the C++ StyleGAN2 networks.

The networks come from scripts/stylegan2_reference.py, an independent PyTorch implementation of
StyleGAN2's layers, generator and discriminator, written from the formulas of the StyleGAN2-ADA
paper and NVIDIA's documented behaviour (no NVIDIA code), used here on its reference routes
(set_resample("generic"), fused modulated convolution, noise_mode "const"). It deliberately
takes other routes than the C++ code where there is a choice:
  - resampling always by the generic recipe (zero insertion, padding, FIR filter, then the
    convolution, then FIR filter and decimation), never by transposed or strided convolution;
  - modulated convolution always fused (per-sample weights, grouped convolution), while the
    C++ default scales the activations around one shared-weight convolution;
  - minibatch std with torch.var.
Module and parameter names follow NVIDIA's state dicts (mapping.fc0.weight,
synthesis.b8.conv0.affine.weight, b4.out.weight, ...), so the C++ test loads these tensors by
name. It also writes NVIDIA's parameter counts for two configurations, computed by closed-form
formulas and checked against the parameter counts of this implementation and against the
numbers measured with NVIDIA's own code (docs/models.md).

Run with Debian's /usr/bin/python3 (torch 1.13):
    /usr/bin/python3 scripts/make_stylegan2_fixtures.py
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stylegan2_reference import (  # noqa: E402
    FC, Conv, Discriminator, Generator, Mapping, SynthLayer, ToRGB, count_d, count_g, downsample,
    fir_filter, minibatch_std, modulated_conv, normalize_2nd_moment, nparams, randomize,
    set_resample, upsample)

set_resample("generic")  # the reference route (the default), stated for the reader

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "stylegan2_reference.pt")
arrays = {}


def store(prefix, names_to_tensors):
    for name, t in names_to_tensors.items():
        arrays[prefix + name] = t.detach().clone().contiguous()


def store_module(prefix, module):
    for name, t in module.state_dict().items():
        arrays[prefix + name] = t.detach().clone().contiguous()


# ---------------------------------------------------------------------------------------------
COUNT_CONFIGS = [
    # name, resolution, channels, channel_base, channel_max, mapping layers, D architecture,
    # and NVIDIA's counts measured with its own code (docs/models.md).
    ("cifar", 32, 3, 16384, 512, 2, "orig", 19947539, 20720641),
    ("bench32", 32, 1, 8192, 256, 2, "resnet", 6105611, 5379073),
    # train.py --cfg auto at 1024x1024 (FFHQ, MetFaces): NVIDIA's own summary table prints
    # G 28,794,124 and D 29,012,513 (docs/models.md).
    ("auto1024", 1024, 3, 32768, 512, 2, "resnet", 28794124, 29012513),
]
for name, res, ch, base, cmax, maps, arch, g_nv, d_nv in COUNT_CONFIGS:
    g_formula = count_g(res, ch, base, cmax, maps)
    d_formula = count_d(res, ch, base, cmax, arch)
    g_model = nparams(Generator(512, 0, 512, res, ch, base, cmax, maps))
    d_model = nparams(Discriminator(0, res, ch, base, cmax, arch))
    assert g_formula == g_model == g_nv, (name, g_formula, g_model, g_nv)
    assert d_formula == d_model == d_nv, (name, d_formula, d_model, d_nv)
    arrays[f"count.{name}.g"] = torch.tensor(g_formula, dtype=torch.int64)
    arrays[f"count.{name}.d"] = torch.tensor(d_formula, dtype=torch.int64)
    print(f"{name}: G {g_formula:,} D {d_formula:,}")
# Conditional variants (class embedding in G, projection mapping in D), by formula and model.
for arch in ["resnet", "skip"]:
    g_c = count_g(64, 3, 1024, 64, 2, z_dim=32, w_dim=16, c_dim=10, arch="skip")
    assert g_c == nparams(Generator(32, 10, 16, 64, 3, 1024, 64, 2))
    d_c = count_d(64, 3, 1024, 64, arch, c_dim=10, cmap_dim=24, map_layers=3)
    assert d_c == nparams(Discriminator(10, 64, 3, 1024, 64, arch, cmap_dim=24, map_layers=3))
    arrays[f"count.cond64_{arch}.g"] = torch.tensor(g_c, dtype=torch.int64)
    arrays[f"count.cond64_{arch}.d"] = torch.tensor(d_c, dtype=torch.int64)

# ---------------------------------------------------------------------------------------------
torch.manual_seed(0)
f = fir_filter()

# FIR resampling and convolution with resampling.
x = torch.randn(2, 3, 8, 8)
store("fir.", {"x": x, "up": upsample(x, f), "down": downsample(x, f)})
for name, (cin, cout, k, bias, act, up, down, clamp, gain) in {
        "conv_plain": (3, 4, 3, True, "lrelu", 1, 1, None, 1.0),
        "conv_down": (3, 4, 3, True, "lrelu", 1, 2, 0.5, 1.0),
        "conv_skip": (3, 4, 1, False, "linear", 1, 2, None, math.sqrt(0.5)),
        "conv_up": (3, 4, 3, True, "linear", 2, 1, None, 1.0),
        "conv_up1": (3, 4, 1, False, "linear", 2, 1, None, math.sqrt(0.5)),
        "conv_fromrgb": (3, 4, 1, True, "lrelu", 1, 1, None, 1.0)}.items():
    m = Conv(cin, cout, k, bias, act, up, down, clamp)
    randomize(m)
    store_module(name + ".", m)
    store(name + ".", {"x": x, "y": m(x, gain=gain)})

# Equalised-lr fully connected layers.
for name, (fin, fout, act, lr_mul, bias_init) in {
        "fc_lrelu": (6, 5, "lrelu", 0.01, 0.0), "fc_linear": (6, 5, "linear", 1.0, 1.0)}.items():
    m = FC(fin, fout, act=act, lr_mul=lr_mul, bias_init=bias_init)
    with torch.no_grad():
        m.bias.add_(torch.randn_like(m.bias))
    xi = torch.randn(4, fin)
    store_module(name + ".", m)
    store(name + ".", {"x": xi, "y": m(xi)})

# Modulated convolution (raw op): demodulated 3x3, demodulated 3x3 up, not demodulated 1x1.
xm = torch.randn(3, 4, 8, 8)
wm = torch.randn(5, 4, 3, 3)
sm = torch.randn(3, 4) + 1.0
store("modconv.", {
    "x": xm, "weight": wm, "styles": sm,
    "demod": modulated_conv(xm, wm, sm, padding=1),
    "demod_up": modulated_conv(xm, wm, sm, up=2, padding=1, f=f, flip_weight=False),
    "nodemod_1x1": modulated_conv(xm, wm[:, :, 1:2, 1:2], sm, demodulate=False)})

# Synthesis layers (noise const) and ToRGB.
wv = torch.randn(3, 6)
for name, up, clamp in [("synth", 1, None), ("synth_up", 2, 0.7)]:
    m = SynthLayer(4, 5, 6, 8 * up if up > 1 else 8, up=up, clamp=clamp)
    randomize(m)
    store_module(name + ".", m)
    store(name + ".", {"x": xm, "w": wv, "y": m(xm, wv)})
m = ToRGB(4, 3, 6)
randomize(m)
store_module("torgb.", m)
store("torgb.", {"x": xm, "w": wv, "y": m(xm, wv)})

# Minibatch standard deviation.
xs = torch.randn(8, 6, 4, 4)
store("mbstd.", {"x": xs, "g4": minibatch_std(xs, 4, 1), "g2c2": minibatch_std(xs, 2, 2),
                 "all": minibatch_std(xs, None, 1)})

# Mapping network: normalisation, class embedding, w_avg tracking, truncation.
zz = torch.randn(4, 8) * 3.0
cc = F.one_hot(torch.tensor([0, 2, 1, 2]), 3).float()
m = Mapping(8, 3, 6, 5, 2)
randomize(m)
with torch.no_grad():
    m.w_avg.copy_(torch.randn(6))
store_module("mapping.", m)
m.eval()
ws = m(zz, cc)
ws_trunc = m(zz, cc, psi=0.7, cutoff=3)
ws_trunc_all = m(zz, cc, psi=0.5)
m.train()
m(zz, cc)
store("mapping.", {"z": zz, "c": cc, "z_normalized": normalize_2nd_moment(zz), "ws": ws,
                   "ws_trunc": ws_trunc, "ws_trunc_all": ws_trunc_all,
                   "w_avg_after": m.w_avg.clone()})

# Whole tiny generators (noise const) and discriminators.
labels = torch.tensor([1, 0, 2, 1])
c3 = F.one_hot(labels, 3).float()
for name, res, arch, c_dim in [("g32", 32, "skip", 3), ("g16r", 16, "resnet", 0),
                               ("g16o", 16, "orig", 0)]:
    g = Generator(8, c_dim, 8, res, 3, 4 * res, 16, 2, arch)
    randomize(g, 0.3)
    g.eval()
    store_module(name + ".", g)
    z = torch.randn(4, 8)
    img = g(z, c3 if c_dim else None)
    store(name + ".", {"z": z, "labels": labels, "img": img,
                       "img_trunc": g(z, c3 if c_dim else None, psi=0.6, cutoff=2)})
for name, res, arch, c_dim, group in [("d32", 32, "resnet", 3, 2), ("d16o", 16, "orig", 0, 4),
                                      ("d16s", 16, "skip", 3, 4)]:
    d = Discriminator(c_dim, res, 3, 4 * res, 16, arch, group=group, cmap_dim=5,
                      map_layers=2, clamp=None if arch != "orig" else 0.8)
    randomize(d, 0.3)
    store_module(name + ".", d)
    img = torch.randn(4, 3, res, res)
    store(name + ".", {"img": img, "labels": labels, "logits": d(img, c3).reshape(-1)})

torch.save(arrays, OUT)
print(f"wrote {len(arrays)} arrays to {os.path.normpath(OUT)}")
