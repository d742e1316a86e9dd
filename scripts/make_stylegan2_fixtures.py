#!/usr/bin/python3
"""Writes tests/data/stylegan2_reference.pt (a dict of tensors saved with torch.save; the C++
test reads it with torch::pickle_load): reference outputs for the C++ StyleGAN2 networks.

An independent PyTorch implementation of StyleGAN2's layers, generator and discriminator,
written from the formulas of the StyleGAN2-ADA paper and NVIDIA's documented behaviour (no
NVIDIA code). It deliberately takes other routes than the C++ code where there is a choice:
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

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "stylegan2_reference.pt")
arrays = {}


def store(prefix, names_to_tensors):
    for name, t in names_to_tensors.items():
        arrays[prefix + name] = t.detach().clone().contiguous()


def store_module(prefix, module):
    for name, t in module.state_dict().items():
        arrays[prefix + name] = t.detach().clone().contiguous()


# ---------------------------------------------------------------------------------------------
# Resampling. The [1,3,3,1] filter as a normalised 2-D kernel.
def fir_filter(taps=(1.0, 3.0, 3.0, 1.0)):
    k = torch.tensor(taps, dtype=torch.float32)
    k2 = k[:, None] * k[None, :]
    return k2 / k2.sum()


def upfirdn(x, f, up=1, down=1, pad=(0, 0, 0, 0), gain=1.0):
    """Zero insertion by `up`, padding [x0, x1, y0, y1] (negative crops), FIR filter (true
    convolution), decimation by `down`."""
    n, c, h, w = x.shape
    if up > 1:
        z = torch.zeros(n, c, h * up, w * up, dtype=x.dtype)
        z[:, :, ::up, ::up] = x
        x = z
    x0, x1, y0, y1 = pad
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    x = x[:, :, max(-y0, 0): x.shape[2] - max(-y1, 0), max(-x0, 0): x.shape[3] - max(-x1, 0)]
    if f is not None:
        k = (f * gain).flip([0, 1])[None, None].repeat(c, 1, 1, 1)
        x = F.conv2d(x, k, groups=c)
    return x[:, :, ::down, ::down]


def upsample(x, f, up=2):
    fw = f.shape[-1]
    p0, p1 = (fw + up - 1) // 2, (fw - up) // 2
    return upfirdn(x, f, up=up, pad=(p0, p1, p0, p1), gain=up * up)


def downsample(x, f, down=2):
    fw = f.shape[-1]
    p0, p1 = (fw - down + 1) // 2, (fw - down) // 2
    return upfirdn(x, f, down=down, pad=(p0, p1, p0, p1))


def conv_resample(x, w, f, up=1, down=1, padding=0, groups=1, flip_weight=True):
    """Convolution with optional up/down-sampling: padding is relative to the up-sampled image;
    flip_weight False means a true convolution."""
    fw = f.shape[-1]
    p0 = p1 = padding
    if up > 1:
        p0 += (fw + up - 1) // 2
        p1 += (fw - up) // 2
    if down > 1:
        p0 += (fw - down + 1) // 2
        p1 += (fw - down) // 2
    if not flip_weight:
        w = w.flip([2, 3])
    x = upfirdn(x, f if up > 1 else None, up=up, pad=(p0, p1, p0, p1), gain=up * up)
    x = F.conv2d(x, w, groups=groups)
    if down > 1:
        x = upfirdn(x, f, down=down)
    return x


def bias_act(x, b, act="linear", gain=None, clamp=None):
    if b is not None:
        x = x + b.reshape([1, -1] + [1] * (x.dim() - 2))
    if act == "lrelu":
        x = F.leaky_relu(x, 0.2)
        gain = math.sqrt(2.0) if gain is None else gain
    else:
        gain = 1.0 if gain is None else gain
    x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x, eps=1e-8):
    return x / torch.sqrt((x * x).mean(dim=1, keepdim=True) + eps)


def modulated_conv(x, weight, styles, up=1, padding=0, f=None, demodulate=True,
                   flip_weight=True):
    n, cin = styles.shape
    cout, _, kh, kw = weight.shape
    w = weight[None] * styles[:, None, :, None, None]  # [N, O, I, k, k]
    if demodulate:
        w = w / torch.sqrt((w * w).sum(dim=[2, 3, 4], keepdim=True) + 1e-8)
    x = x.reshape(1, n * cin, x.shape[2], x.shape[3])
    w = w.reshape(n * cout, cin, kh, kw)
    if up > 1:
        y = conv_resample(x, w, f, up=up, padding=padding, groups=n, flip_weight=flip_weight)
    else:
        y = F.conv2d(x, w, padding=padding, groups=n)
    return y.reshape(n, cout, y.shape[2], y.shape[3])


def minibatch_std(x, group_size, num_channels=1):
    n, c, h, w = x.shape
    g = min(group_size, n) if group_size else n
    y = x.reshape(g, n // g, num_channels, c // num_channels, h, w)
    s = torch.sqrt(torch.var(y, dim=0, unbiased=False) + 1e-8)  # [n/g, F, c, H, W]
    s = s.mean(dim=[2, 3, 4])  # [n/g, F]
    s = s[None, :, :, None, None].expand(g, n // g, num_channels, h, w)
    return torch.cat([x, s.reshape(n, num_channels, h, w)], dim=1)


# ---------------------------------------------------------------------------------------------
class FC(nn.Module):
    def __init__(self, fin, fout, bias=True, act="linear", lr_mul=1.0, bias_init=0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(fout, fin) / lr_mul)
        self.bias = nn.Parameter(torch.full([fout], float(bias_init))) if bias else None
        self.act, self.wg, self.bg = act, lr_mul / math.sqrt(fin), lr_mul

    def forward(self, x):
        b = self.bias * self.bg if self.bias is not None else None
        return bias_act(x @ (self.weight * self.wg).t(), b, self.act)


class Conv(nn.Module):
    def __init__(self, cin, cout, k, bias=True, act="linear", up=1, down=1, clamp=None):
        super().__init__()
        self.register_buffer("resample_filter", fir_filter())
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.act, self.up, self.down, self.clamp = act, up, down, clamp
        self.pad, self.wg = k // 2, 1.0 / math.sqrt(cin * k * k)

    def forward(self, x, gain=1.0):
        x = conv_resample(x, self.weight * self.wg, self.resample_filter, self.up, self.down,
                          self.pad, flip_weight=(self.up == 1))
        g = (math.sqrt(2.0) if self.act == "lrelu" else 1.0) * gain
        return bias_act(x, self.bias, self.act, g, None if self.clamp is None else self.clamp * gain)


class SynthLayer(nn.Module):
    def __init__(self, cin, cout, w_dim, res, k=3, up=1, clamp=None):
        super().__init__()
        self.register_buffer("resample_filter", fir_filter())
        self.affine = FC(w_dim, cin, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.register_buffer("noise_const", torch.randn(res, res))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.up, self.pad, self.clamp = up, k // 2, clamp

    def forward(self, x, w, gain=1.0):  # noise_mode const
        y = modulated_conv(x, self.weight, self.affine(w), up=self.up, padding=self.pad,
                           f=self.resample_filter, flip_weight=(self.up == 1))
        y = y + self.noise_const * self.noise_strength
        return bias_act(y, self.bias, "lrelu", math.sqrt(2.0) * gain,
                        None if self.clamp is None else self.clamp * gain)


class ToRGB(nn.Module):
    def __init__(self, cin, cout, w_dim, clamp=None):
        super().__init__()
        self.affine = FC(w_dim, cin, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(cout, cin, 1, 1))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.clamp, self.g = clamp, 1.0 / math.sqrt(cin)

    def forward(self, x, w):
        y = modulated_conv(x, self.weight, self.affine(w) * self.g, demodulate=False)
        return bias_act(y, self.bias, clamp=self.clamp)


class Mapping(nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, num_ws, layers, lr_mul=0.01, beta=0.995):
        super().__init__()
        self.z_dim, self.c_dim, self.num_ws, self.layers, self.beta = z_dim, c_dim, num_ws, layers, beta
        emb = w_dim if c_dim > 0 else 0
        if c_dim > 0:
            self.embed = FC(c_dim, emb)
        feats = [z_dim + emb] + [w_dim] * layers
        for i in range(layers):
            setattr(self, f"fc{i}", FC(feats[i], feats[i + 1], act="lrelu", lr_mul=lr_mul))
        if num_ws is not None and beta is not None:
            self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z, c, psi=1.0, cutoff=None):
        parts = []
        if self.z_dim > 0:
            parts.append(normalize_2nd_moment(z))
        if self.c_dim > 0:
            parts.append(normalize_2nd_moment(self.embed(c)))
        x = torch.cat(parts, dim=1)
        for i in range(self.layers):
            x = getattr(self, f"fc{i}")(x)
        if self.training and self.beta is not None:
            with torch.no_grad():
                self.w_avg.copy_(self.w_avg + (x.mean(0) - self.w_avg) * (1.0 - self.beta))
        if self.num_ws is None:
            return x
        x = x[:, None, :].repeat(1, self.num_ws, 1)
        if psi != 1.0:
            cut = self.num_ws if cutoff is None else cutoff
            t = self.w_avg + (x[:, :cut] - self.w_avg) * psi
            x = torch.cat([t, x[:, cut:]], dim=1)
        return x


def channels_of(res, base, cmax):
    return min(base // res, cmax)


class SynthBlock(nn.Module):
    def __init__(self, cin, cout, w_dim, res, img_ch, is_last, arch, clamp):
        super().__init__()
        self.register_buffer("resample_filter", fir_filter())
        self.cin, self.arch, self.is_last = cin, arch, is_last
        if cin == 0:
            self.const = nn.Parameter(torch.randn(cout, res, res))
        else:
            self.conv0 = SynthLayer(cin, cout, w_dim, res, up=2, clamp=clamp)
        self.conv1 = SynthLayer(cout, cout, w_dim, res, clamp=clamp)
        self.num_conv = 1 if cin == 0 else 2
        self.num_torgb = 1 if (is_last or arch == "skip") else 0
        if self.num_torgb:
            self.torgb = ToRGB(cout, img_ch, w_dim, clamp=clamp)
        if cin != 0 and arch == "resnet":
            self.skip = Conv(cin, cout, 1, bias=False, up=2)

    def forward(self, x, img, ws):
        i = 0
        if self.cin == 0:
            x = self.const[None].repeat(ws.shape[0], 1, 1, 1)
            x = self.conv1(x, ws[:, 0])
            i = 1
        elif self.arch == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0(x, ws[:, 0])
            x = y + self.conv1(x, ws[:, 1], gain=math.sqrt(0.5))
            i = 2
        else:
            x = self.conv1(self.conv0(x, ws[:, 0]), ws[:, 1])
            i = 2
        if img is not None:
            img = upsample(img, self.resample_filter)
        if self.num_torgb:
            y = self.torgb(x, ws[:, i])
            img = y if img is None else img + y
        return x, img


class Synthesis(nn.Module):
    def __init__(self, w_dim, res, img_ch, base, cmax, arch="skip", clamp=None):
        super().__init__()
        self.res_list = [2 ** i for i in range(2, int(math.log2(res)) + 1)]
        self.num_ws = 0
        for r in self.res_list:
            cin = channels_of(r // 2, base, cmax) if r > 4 else 0
            b = SynthBlock(cin, channels_of(r, base, cmax), w_dim, r, img_ch, r == res, arch, clamp)
            self.num_ws += b.num_conv + (b.num_torgb if r == res else 0)
            setattr(self, f"b{r}", b)

    def forward(self, ws):
        x = img = None
        i = 0
        for r in self.res_list:
            b = getattr(self, f"b{r}")
            x, img = b(x, img, ws[:, i: i + b.num_conv + b.num_torgb])
            i += b.num_conv
        return img


class Generator(nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, res, img_ch, base, cmax, map_layers, arch="skip",
                 clamp=None):
        super().__init__()
        self.synthesis = Synthesis(w_dim, res, img_ch, base, cmax, arch, clamp)
        self.mapping = Mapping(z_dim, c_dim, w_dim, self.synthesis.num_ws, map_layers)

    def forward(self, z, c, psi=1.0, cutoff=None):
        return self.synthesis(self.mapping(z, c, psi, cutoff))


class DBlock(nn.Module):
    def __init__(self, cin, tmp, cout, img_ch, arch, clamp):
        super().__init__()
        self.register_buffer("resample_filter", fir_filter())
        self.cin, self.arch = cin, arch
        if cin == 0 or arch == "skip":
            self.fromrgb = Conv(img_ch, tmp, 1, act="lrelu", clamp=clamp)
        self.conv0 = Conv(tmp, tmp, 3, act="lrelu", clamp=clamp)
        self.conv1 = Conv(tmp, cout, 3, act="lrelu", down=2, clamp=clamp)
        if arch == "resnet":
            self.skip = Conv(tmp, cout, 1, bias=False, down=2)

    def forward(self, x, img):
        if self.cin == 0 or self.arch == "skip":
            y = self.fromrgb(img)
            x = y if x is None else x + y
            img = downsample(img, self.resample_filter) if self.arch == "skip" else None
        if self.arch == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            x = y + self.conv1(self.conv0(x), gain=math.sqrt(0.5))
        else:
            x = self.conv1(self.conv0(x))
        return x, img


class MbStd(nn.Module):
    def __init__(self, group, channels):
        super().__init__()
        self.group, self.channels = group, channels

    def forward(self, x):
        return minibatch_std(x, self.group, self.channels)


class Epilogue(nn.Module):
    def __init__(self, cin, cmap_dim, img_ch, arch, group, mbstd_ch, clamp):
        super().__init__()
        self.arch, self.cmap_dim = arch, cmap_dim
        if arch == "skip":
            self.fromrgb = Conv(img_ch, cin, 1, act="lrelu")
        self.mbstd = MbStd(group, mbstd_ch) if mbstd_ch > 0 else None
        self.conv = Conv(cin + mbstd_ch, cin, 3, act="lrelu", clamp=clamp)
        self.fc = FC(cin * 16, cin, act="lrelu")
        self.out = FC(cin, 1 if cmap_dim == 0 else cmap_dim)

    def forward(self, x, img, cmap):
        if self.arch == "skip":
            x = x + self.fromrgb(img)
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.out(self.fc(self.conv(x).flatten(1)))
        if self.cmap_dim > 0:
            x = (x * cmap).sum(dim=1, keepdim=True) / math.sqrt(self.cmap_dim)
        return x


class Discriminator(nn.Module):
    def __init__(self, c_dim, res, img_ch, base, cmax, arch="resnet", group=4, mbstd_ch=1,
                 cmap_dim=None, map_layers=8, clamp=None):
        super().__init__()
        self.c_dim = c_dim
        self.res_list = [2 ** i for i in range(int(math.log2(res)), 2, -1)]
        for r in self.res_list:
            cin = channels_of(r, base, cmax) if r < res else 0
            setattr(self, f"b{r}", DBlock(cin, channels_of(r, base, cmax),
                                          channels_of(r // 2, base, cmax), img_ch, arch, clamp))
        c4 = channels_of(4, base, cmax)
        cmap_dim = (c4 if cmap_dim is None else cmap_dim) if c_dim > 0 else 0
        if c_dim > 0:
            self.mapping = Mapping(0, c_dim, cmap_dim, None, map_layers, beta=None)
        self.b4 = Epilogue(c4, cmap_dim, img_ch, arch, group, mbstd_ch, clamp)

    def forward(self, img, c):
        x = None
        for r in self.res_list:
            x, img = getattr(self, f"b{r}")(x, img)
        cmap = self.mapping(None, c) if self.c_dim > 0 else None
        return self.b4(x, img, cmap)


def randomize(module, scale=0.5):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * scale + (p.mean() if p.numel() > 1 else 0.0))
        for name, b in module.named_buffers():
            if name.endswith("noise_const") or name.endswith("w_avg"):
                b.copy_(torch.randn_like(b))


# ---------------------------------------------------------------------------------------------
# Parameter counts by closed form (NVIDIA's layer shapes), cross-checked below.
def count_fc(fin, fout, bias=True):
    return fin * fout + (fout if bias else 0)


def count_g(res, img_ch, base, cmax, map_layers, z_dim=512, w_dim=512, c_dim=0, arch="skip"):
    emb = w_dim if c_dim > 0 else 0
    n = count_fc(c_dim, emb) if c_dim > 0 else 0
    feats = [z_dim + emb] + [w_dim] * map_layers
    n += sum(count_fc(feats[i], feats[i + 1]) for i in range(map_layers))

    def layer(cin, cout, k=3):  # affine, weight, noise strength, bias
        return count_fc(w_dim, cin) + cout * cin * k * k + 1 + cout

    def torgb(cin):
        return count_fc(w_dim, cin) + img_ch * cin + img_ch

    r = 4
    while r <= res:
        cout = channels_of(r, base, cmax)
        if r == 4:
            n += cout * 16 + layer(cout, cout)
        else:
            cin = channels_of(r // 2, base, cmax)
            n += layer(cin, cout) + layer(cout, cout)
            if arch == "resnet":
                n += cin * cout
        if arch == "skip" or r == res:
            n += torgb(cout)
        r *= 2
    return n


def count_d(res, img_ch, base, cmax, arch="resnet", mbstd_ch=1, c_dim=0, cmap_dim=None,
            map_layers=8):
    n = 0
    r = res
    while r > 4:
        tmp, out = channels_of(r, base, cmax), channels_of(r // 2, base, cmax)
        if r == res or arch == "skip":
            n += img_ch * tmp + tmp
        n += tmp * tmp * 9 + tmp + tmp * out * 9 + out
        if arch == "resnet":
            n += tmp * out
        r //= 2
    c4 = channels_of(4, base, cmax)
    cmap = (c4 if cmap_dim is None else cmap_dim) if c_dim > 0 else 0
    if c_dim > 0:
        n += count_fc(c_dim, cmap) + map_layers * count_fc(cmap, cmap)
    if arch == "skip":
        n += img_ch * c4 + c4
    n += (c4 + mbstd_ch) * c4 * 9 + c4 + count_fc(c4 * 16, c4) + count_fc(c4, max(cmap, 1))
    return n


def nparams(m):
    return sum(p.numel() for p in m.parameters())


COUNT_CONFIGS = [
    # name, resolution, channels, channel_base, channel_max, mapping layers, D architecture,
    # and NVIDIA's counts measured with its own code (docs/models.md).
    ("cifar", 32, 3, 16384, 512, 2, "orig", 19947539, 20720641),
    ("bench32", 32, 1, 8192, 256, 2, "resnet", 6105611, 5379073),
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
