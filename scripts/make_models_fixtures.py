#!/usr/bin/python3
"""Writes tests/data/models_reference.pt (a dict of tensors saved with torch.save;
the C++ test reads it with torch::pickle_load): PyTorch reference outputs for the C++ networks.

Independent PyTorch implementations of the DCGAN G/D (16x16, z 8, width 4, 3 channels), the
SNGAN-style ResNet G/D (32x32, z 8, width 1) and torch.nn.utils.spectral_norm. Weights are
stored under the C++ parameter names ("g.<name>", "d.<name>", ...) so the test can load them
into the C++ modules and compare outputs. Run with Debian's /usr/bin/python3 (torch 1.13):
    /usr/bin/python3 scripts/make_models_fixtures.py
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "models_reference.pt")
arrays = {}


def store(prefix, names_to_tensors):
    for name, t in names_to_tensors.items():
        arrays[prefix + name] = t.detach().clone().float().contiguous()


def randomize(module):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d) and m.weight is not None:
                m.weight.copy_(1.0 + 0.2 * torch.randn_like(m.weight))


torch.manual_seed(0)

# ---- DCGAN 16x16: 2 stages, 4x4 channels 2w = 8.
nz, w, c = 8, 4, 3
g = nn.Sequential(
    nn.ConvTranspose2d(nz, 2 * w, 4, 1, 0, bias=False), nn.BatchNorm2d(2 * w), nn.ReLU(),
    nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
    nn.ConvTranspose2d(w, c, 4, 2, 1, bias=False), nn.Tanh())
d = nn.Sequential(
    nn.Conv2d(c, w, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
    nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2),
    nn.Conv2d(2 * w, 1, 4, 1, 0, bias=False))
randomize(g)
randomize(d)
z = torch.randn(4, nz)
images = g(z.view(4, nz, 1, 1))  # training mode: batch statistics
logits = d(images).view(-1)
store("dcgan.g.", {
    "input.deconv.weight": g[0].weight, "norm0.bn.weight": g[1].weight,
    "norm0.bn.bias": g[1].bias, "up0.deconv.deconv.weight": g[3].weight,
    "norm1.bn.weight": g[4].weight, "norm1.bn.bias": g[4].bias,
    "up1.deconv.deconv.weight": g[6].weight})
store("dcgan.d.", {
    "down0.conv.weight": d[0].weight, "down1.conv.weight": d[2].weight,
    "bn1.weight": d[3].weight, "bn1.bias": d[3].bias, "output.conv.weight": d[5].weight})
store("dcgan.", {"z": z, "images": images, "logits": logits})


# ---- ResNet 32x32, width 1: G channels 4 throughout, D channels 2.
class GBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.b1, self.c1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, 1, 1)
        self.b2, self.c2 = nn.BatchNorm2d(cout), nn.Conv2d(cout, cout, 3, 1, 1)
        self.sc = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        h = self.c1(F.interpolate(F.relu(self.b1(x)), scale_factor=2))
        h = self.c2(F.relu(self.b2(h)))
        return h + self.sc(F.interpolate(x, scale_factor=2))

    def names(self, p):
        return {p + "norm1.bn.weight": self.b1.weight, p + "norm1.bn.bias": self.b1.bias,
                p + "conv1.conv.weight": self.c1.weight, p + "conv1.conv.bias": self.c1.bias,
                p + "norm2.bn.weight": self.b2.weight, p + "norm2.bn.bias": self.b2.bias,
                p + "conv2.conv.weight": self.c2.weight, p + "conv2.conv.bias": self.c2.bias,
                p + "shortcut.conv.weight": self.sc.weight, p + "shortcut.conv.bias": self.sc.bias}


class DBlock(nn.Module):
    def __init__(self, cin, cout, down, first):
        super().__init__()
        self.down, self.first = down, first
        self.c1, self.c2 = nn.Conv2d(cin, cout, 3, 1, 1), nn.Conv2d(cout, cout, 3, 1, 1)
        self.sc = nn.Conv2d(cin, cout, 1) if (cin != cout or down or first) else None

    def forward(self, x):
        h = self.c1(x) if self.first else self.c1(F.relu(x))
        h = self.c2(F.relu(h))
        if self.down:
            h = F.avg_pool2d(h, 2)
        if self.first:
            s = self.sc(F.avg_pool2d(x, 2))
        else:
            s = self.sc(x) if self.sc is not None else x
            if self.down:
                s = F.avg_pool2d(s, 2)
        return h + s

    def names(self, p):
        out = {p + "conv1.conv.weight": self.c1.weight, p + "conv1.conv.bias": self.c1.bias,
               p + "conv2.conv.weight": self.c2.weight, p + "conv2.conv.bias": self.c2.bias}
        if self.sc is not None:
            out[p + "shortcut.conv.weight"] = self.sc.weight
            out[p + "shortcut.conv.bias"] = self.sc.bias
        return out


ch = 4
lin = nn.Linear(nz, 16 * ch)
gblocks = nn.ModuleList([GBlock(ch, ch) for _ in range(3)])
gbn, gout = nn.BatchNorm2d(ch), nn.Conv2d(ch, c, 3, 1, 1)
dblocks = nn.ModuleList([DBlock(c, 2, True, True), DBlock(2, 2, True, False),
                         DBlock(2, 2, False, False), DBlock(2, 2, False, False)])
dlin = nn.Linear(2, 1)
for m in [lin, gblocks, gbn, gout, dblocks, dlin]:
    randomize(m)
z = torch.randn(3, nz)
h = lin(z).view(3, ch, 4, 4)
for b in gblocks:
    h = b(h)
images = torch.tanh(gout(F.relu(gbn(h))))
h = images
for b in dblocks:
    h = b(h)
logits = dlin(F.relu(h).sum(dim=(2, 3))).view(-1)
gnames = {"input.linear.weight": lin.weight, "input.linear.bias": lin.bias,
          "norm.bn.weight": gbn.weight, "norm.bn.bias": gbn.bias,
          "output.conv.weight": gout.weight, "output.conv.bias": gout.bias}
for i, b in enumerate(gblocks):
    gnames.update(b.names("block%d." % i))
dnames = {"output.linear.weight": dlin.weight, "output.linear.bias": dlin.bias}
for i, b in enumerate(dblocks):
    dnames.update(b.names("block%d." % i))
store("resnet.g.", gnames)
store("resnet.d.", dnames)
store("resnet.", {"z": z, "images": images, "logits": logits})

# ---- torch.nn.utils.spectral_norm, one training-mode forward from a known u.
lin = nn.Linear(7, 5)
with torch.no_grad():
    lin.weight.copy_(torch.randn(5, 7))
weight = lin.weight.detach().clone()
lin = nn.utils.spectral_norm(lin)
u0 = lin.weight_u.detach().clone()
x = torch.randn(2, 7)
y = lin(x)  # training mode: one power iteration, updates u
store("sn.", {"weight": weight, "bias": lin.bias, "u0": u0, "u1": lin.weight_u, "x": x, "y": y,
              "normalized": lin.weight})

torch.save(arrays, OUT)
print("wrote", os.path.normpath(OUT), len(arrays), "arrays")
