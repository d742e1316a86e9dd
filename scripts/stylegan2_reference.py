"""An independent PyTorch implementation of StyleGAN2's layers, generator and discriminator.

Written from the formulas of the StyleGAN2-ADA paper and NVIDIA's documented behaviour (no
NVIDIA code). Module, parameter and buffer names follow NVIDIA's state dicts
(mapping.fc0.weight, synthesis.b8.conv0.affine.weight, synthesis.b4.const, ...noise_const,
mapping.w_avg, b4.out.weight, ...), so its state dicts load by name into NVIDIA's networks and
the C++ ones.

It deliberately takes other routes than the C++ code where there is a choice:
  - resampling by default by the generic recipe (zero insertion, padding, FIR filter, then the
    convolution, then FIR filter and decimation), never by transposed or strided convolution;
    `set_resample("fast")` switches to transposed/strided convolutions (the same function,
    reordered; used by the benchmark, never by the fixtures);
  - modulated convolution by default fused (per-sample weights, grouped convolution), while the
    C++ default scales the activations around one shared-weight convolution
    (`fused_modconv=False` selects that route here too);
  - minibatch std with torch.var.

Used by scripts/make_stylegan2_fixtures.py, scripts/make_stylegan2_export_fixture.py,
scripts/export_stylegan2_pkl.py and scripts/bench_pytorch_stylegan2.py. Generator API:
    ws = G.mapping(z, c, psi=1.0, cutoff=None)          # [N, num_ws, w_dim]; truncation
                                                        # w_avg + psi (w - w_avg) on layers
                                                        # [0, cutoff) (all when cutoff is None)
    img = G.synthesis(ws, noise_mode="const")           # "random", "const" or "none"
    img = G(z, c, psi=1.0, cutoff=None, noise_mode="const")
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

NOISE_MODES = ("random", "const", "none")
RESAMPLE = "generic"


def set_resample(kind):
    """"generic" (zero insertion, FIR, convolution: the reference route, the default) or "fast"
    (transposed convolution for up-sampling, strided convolution for down-sampling, the 1x1
    convolutions after the resampling): the same function in another order."""
    global RESAMPLE
    if kind not in ("generic", "fast"):
        raise ValueError(f"resample route '{kind}' (known: generic, fast)")
    RESAMPLE = kind


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
    if RESAMPLE == "fast":
        return _conv_resample_fast(x, w, f, up, down, p0, p1, groups)
    x = upfirdn(x, f if up > 1 else None, up=up, pad=(p0, p1, p0, p1), gain=up * up)
    x = F.conv2d(x, w, groups=groups)
    if down > 1:
        x = upfirdn(x, f, down=down)
    return x


def _conv_resample_fast(x, w, f, up, down, p0, p1, groups):
    """conv_resample's function with the convolution moved next to the resampling (convolution,
    FIR filter and zero insertion commute), w already a correlation kernel, p0/p1 the generic
    recipe's padding of the (up-sampled) input."""
    k = w.shape[-1]
    if up > 1 and k > 1:
        # Zero insertion followed by a correlation with w is a transposed convolution with the
        # flipped kernel ("full" output); the generic padding becomes a crop/pad of that output
        # (the zero-inserted image has up - 1 trailing zeros the transposed convolution lacks).
        cout, cin_g = w.shape[0], w.shape[1]
        wt = w.flip([2, 3]).reshape(groups, cout // groups, cin_g, k, k).transpose(1, 2)
        x = F.conv_transpose2d(x, wt.reshape(groups * cin_g, cout // groups, k, k), stride=up,
                               groups=groups)
        a, b = p0 - (k - 1), p1 + up - 1 - (k - 1)
        x = upfirdn(x, f, pad=(a, b, a, b), gain=up * up)
        return F.conv2d(x, w, groups=groups, stride=down) if down > 1 else x
    if up > 1:  # 1x1: resample first, then the (cheaper) channel mixing
        x = upfirdn(x, f, up=up, pad=(p0, p1, p0, p1), gain=up * up)
        return F.conv2d(x, w, groups=groups)
    if down > 1:
        if k == 1:
            x = upfirdn(x, f, down=down, pad=(p0, p1, p0, p1))
            return F.conv2d(x, w, groups=groups)
        x = upfirdn(x, f, pad=(p0, p1, p0, p1))
        return F.conv2d(x, w, groups=groups, stride=down)
    return F.conv2d(F.pad(x, [p0, p1, p0, p1]), w, groups=groups)


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
                   flip_weight=True, fused=True):
    """fused: per-sample weights and one grouped convolution (the reference route); else the
    activations are scaled around one shared-weight convolution (NVIDIA's training route)."""
    n, cin = styles.shape
    cout, _, kh, kw = weight.shape
    w = weight[None] * styles[:, None, :, None, None]  # [N, O, I, k, k]
    if not fused:
        x = x * styles[:, :, None, None]
        if up > 1:
            y = conv_resample(x, weight, f, up=up, padding=padding, flip_weight=flip_weight)
        else:
            y = F.conv2d(x, weight, padding=padding)
        if demodulate:
            y = y * torch.rsqrt((w * w).sum(dim=[2, 3, 4]) + 1e-8)[:, :, None, None]
        return y
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

    def forward(self, x, w, gain=1.0, noise_mode="const", fused=True):
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode '{noise_mode}' (known: {', '.join(NOISE_MODES)})")
        y = modulated_conv(x, self.weight, self.affine(w), up=self.up, padding=self.pad,
                           f=self.resample_filter, flip_weight=(self.up == 1), fused=fused)
        if noise_mode == "const":
            y = y + self.noise_const * self.noise_strength
        elif noise_mode == "random":
            res = self.noise_const.shape[-1]
            y = y + torch.randn(y.shape[0], 1, res, res, dtype=y.dtype) * self.noise_strength
        return bias_act(y, self.bias, "lrelu", math.sqrt(2.0) * gain,
                        None if self.clamp is None else self.clamp * gain)


class ToRGB(nn.Module):
    def __init__(self, cin, cout, w_dim, clamp=None):
        super().__init__()
        self.affine = FC(w_dim, cin, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(cout, cin, 1, 1))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.clamp, self.g = clamp, 1.0 / math.sqrt(cin)

    def forward(self, x, w, fused=True):
        y = modulated_conv(x, self.weight, self.affine(w) * self.g, demodulate=False, fused=fused)
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

    def forward(self, z, c, psi=1.0, cutoff=None, skip_w_avg_update=False):
        """ws [N, num_ws, w_dim] (or [N, w_dim] where num_ws is None); in training mode w_avg
        tracks the batch mean of w unless skip_w_avg_update. Truncation:
        w_avg + psi (w - w_avg) on layers [0, cutoff), all when cutoff is None."""
        parts = []
        if self.z_dim > 0:
            parts.append(normalize_2nd_moment(z))
        if self.c_dim > 0:
            parts.append(normalize_2nd_moment(self.embed(c)))
        x = torch.cat(parts, dim=1)
        for i in range(self.layers):
            x = getattr(self, f"fc{i}")(x)
        if self.training and self.beta is not None and not skip_w_avg_update:
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

    def forward(self, x, img, ws, noise_mode="const", fused_modconv=True):
        kw = dict(noise_mode=noise_mode, fused=fused_modconv)
        i = 0
        if self.cin == 0:
            x = self.const[None].repeat(ws.shape[0], 1, 1, 1)
            x = self.conv1(x, ws[:, 0], **kw)
            i = 1
        elif self.arch == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0(x, ws[:, 0], **kw)
            x = y + self.conv1(x, ws[:, 1], gain=math.sqrt(0.5), **kw)
            i = 2
        else:
            x = self.conv1(self.conv0(x, ws[:, 0], **kw), ws[:, 1], **kw)
            i = 2
        if img is not None:
            img = upsample(img, self.resample_filter)
        if self.num_torgb:
            y = self.torgb(x, ws[:, i], fused=fused_modconv)
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

    def forward(self, ws, noise_mode="const", fused_modconv=True):
        """Images from ws [N, num_ws, w_dim]; noise_mode "random", "const" or "none"."""
        x = img = None
        i = 0
        for r in self.res_list:
            b = getattr(self, f"b{r}")
            x, img = b(x, img, ws[:, i: i + b.num_conv + b.num_torgb], noise_mode, fused_modconv)
            i += b.num_conv
        return img


class Generator(nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, res, img_ch, base, cmax, map_layers, arch="skip",
                 clamp=None):
        super().__init__()
        self.synthesis = Synthesis(w_dim, res, img_ch, base, cmax, arch, clamp)
        self.mapping = Mapping(z_dim, c_dim, w_dim, self.synthesis.num_ws, map_layers)
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = res, img_ch
        self.num_ws = self.synthesis.num_ws

    def forward(self, z, c, psi=1.0, cutoff=None, noise_mode="const", fused_modconv=True):
        return self.synthesis(self.mapping(z, c, psi, cutoff), noise_mode, fused_modconv)


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
        self.c_dim, self.img_resolution, self.img_channels = c_dim, res, img_ch
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
