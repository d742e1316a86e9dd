#!/usr/bin/python3
"""Writes the fixtures of the C++ loader of NVIDIA StyleGAN2 exports:

tests/data/stylegan2_export.pt: an export (scripts/export_stylegan2_pkl.py's format, written by
    its export_networks()) of the networks of scripts/stylegan2_reference.py, given NVIDIA's
    nested init_kwargs: z_dim 32, w_dim 32, c_dim 3, 32x32x3, 2 mapping layers, channel_base
    512, channel_max 64, G skip, D resnet (2 label-mapping layers), no conv_clamp; G_ema, G
    (other weights) and D, every parameter and buffer random (noise_const, w_avg non-zero).
tests/data/stylegan2_export_reference.pt: a dict of tensors the C++ side must reproduce from that
    export, all fp32 images in [-1, 1] scale, not clamped:
    z [4, 32]           seeds 0..3: torch.randn(32, generator=torch.Generator().manual_seed(seed))
                        (the C++ latent_for_seed)
    labels [4] int64    the class of sample i is i % 3 (one-hot c)
    img.psi1            G_ema, psi 1, noise const
    img.psi05           psi 0.5 on all layers, noise const
    img.psi07_cut2      psi 0.7 on layers [0, 2), noise const
    img.none            psi 1, noise_mode none
    ws.psi1             the ws of img.psi1 [4, num_ws, 32]
    mix.images [2,2,C,H,W]  style mixing: rows seeds [0, 1], columns seeds [2, 3]; tile
                        (r, c) maps both latents with row r's class (seed mod 3); image (r, c) = synthesis of ws_row[r] with
                        layers [2, num_ws) taken from ws_col[c]; psi 1, noise const
    interp.images [5,C,H,W] w of seed 0 to w of seed 1 (both class 0), lerped in w at
                        t = 0, 0.25, 0.5, 0.75, 1; psi 1, noise const
    img_g.psi1          G (not G_ema), psi 1, noise const
    (and mix.row_seeds, mix.col_seeds, mix.layer, interp.t, interp.seeds describing them)

tests/data/stylegan2_export_512.pt and stylegan2_export_512_reference.pt: the same at 512x512x3
    with the layout of NVIDIA's FFHQ-class networks (unconditional, 8 mapping layers, skip G,
    resnet D, conv_clamp 256) at the smallest widths (channel_base 512, channel_max 8: one
    channel at 512 px; z_dim = w_dim = 8), G_ema and D. Full 512-px images would be 3 MB each, so
    the reference holds, for seeds 0 and 1 (psi 1, noise const):
    z [2, 8]            latent_for_seed(0..1)
    pool8 [2,3,64,64]   the images average-pooled 8x8
    crop_corner, crop_centre [2,3,32,32]  pixels [0, 32) and [240, 272) in both axes
    d_logits [2, 1]     D's logits of those two images

Run with Debian's /usr/bin/python3 (torch 1.13):
    /usr/bin/python3 scripts/make_stylegan2_export_fixture.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import stylegan2_reference as ref  # noqa: E402
from export_stylegan2_pkl import export_networks  # noqa: E402

DATA = os.path.join(HERE, "..", "tests", "data")
EXPORT = os.path.join(DATA, "stylegan2_export.pt")
REFERENCE = os.path.join(DATA, "stylegan2_export_reference.pt")
EXPORT_512 = os.path.join(DATA, "stylegan2_export_512.pt")
REFERENCE_512 = os.path.join(DATA, "stylegan2_export_512_reference.pt")

Z_DIM, W_DIM, C_DIM, RES, CH = 32, 32, 3, 32, 3
MAP_LAYERS, BASE, CMAX = 2, 512, 64
D_MAP_LAYERS = 2  # keeps the file small; exercises D_kwargs.mapping_layers != 8
SEEDS = [0, 1, 2, 3]
MIX_ROWS, MIX_COLS, MIX_LAYER = [0, 1], [2, 3], 2
INTERP_T = [0.0, 0.25, 0.5, 0.75, 1.0]

G_INIT_KWARGS = dict(z_dim=Z_DIM, c_dim=C_DIM, w_dim=W_DIM, img_resolution=RES, img_channels=CH,
                     mapping_kwargs=dict(num_layers=MAP_LAYERS),
                     synthesis_kwargs=dict(channel_base=BASE, channel_max=CMAX,
                                           architecture="skip", conv_clamp=None))
D_INIT_KWARGS = dict(c_dim=C_DIM, img_resolution=RES, img_channels=CH, architecture="resnet",
                     channel_base=BASE, channel_max=CMAX, conv_clamp=None,
                     mapping_kwargs=dict(num_layers=D_MAP_LAYERS),
                     epilogue_kwargs=dict(mbstd_group_size=4))


def randomise(module):
    """NVIDIA's initialisation (unit-variance weights, scaled by 1/lr_multiplier in the mapping)
    is kept; what it leaves at zero or one is drawn: biases, noise strengths, the styles' bias
    around 1, w_avg. Images stay O(1) and every tensor matters."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "bias":
                if ".affine." in name:
                    p.add_(torch.randn_like(p) * 0.3)  # around NVIDIA's bias_init 1
                elif name.startswith("mapping.fc"):
                    p.copy_(torch.randn_like(p) * 10.0)  # x lr_multiplier 0.01 = N(0, 0.1^2)
                else:
                    p.copy_(torch.randn_like(p) * 0.1)
            elif leaf == "noise_strength":
                p.copy_(torch.randn_like(p) * 0.3)
            else:
                p.mul_(1.0 + 0.1 * torch.randn_like(p))  # weights, const: perturbed N(0, 1)
        for name, b in module.named_buffers():
            if name.endswith("noise_const"):
                b.copy_(torch.randn_like(b))
            elif name.endswith("w_avg"):
                b.copy_(torch.randn_like(b) * 0.3)


def make_generator():
    g = ref.Generator(Z_DIM, C_DIM, W_DIM, RES, CH, BASE, CMAX, MAP_LAYERS, "skip", None)
    randomise(g)
    g.init_kwargs = G_INIT_KWARGS
    return g.eval()


def main_512():
    """A 512-px export in the layout of NVIDIA's FFHQ-class networks, at the smallest widths."""
    z_dim = w_dim = 8
    res, base, cmax, clamp = 512, 512, 8, 256
    torch.manual_seed(512)
    g = ref.Generator(z_dim, 0, w_dim, res, 3, base, cmax, 8, "skip", clamp)
    randomise(g)
    g.init_kwargs = dict(z_dim=z_dim, c_dim=0, w_dim=w_dim, img_resolution=res, img_channels=3,
                         mapping_kwargs=dict(num_layers=8),
                         synthesis_kwargs=dict(channel_base=base, channel_max=cmax,
                                               architecture="skip", conv_clamp=clamp))
    g.eval()
    d = ref.Discriminator(0, res, 3, base, cmax, "resnet", group=4, mbstd_ch=1, clamp=clamp)
    randomise(d)
    d.init_kwargs = dict(c_dim=0, img_resolution=res, img_channels=3, architecture="resnet",
                         channel_base=base, channel_max=cmax, conv_clamp=clamp,
                         epilogue_kwargs=dict(mbstd_group_size=4))
    export_networks(g, None, d, EXPORT_512)
    z = torch.stack([torch.randn(z_dim, generator=torch.Generator().manual_seed(s))
                     for s in (0, 1)])
    c = torch.zeros(2, 0)
    with torch.no_grad():
        img = g(z, c, psi=1.0, noise_mode="const")
        out = {"z": z, "pool8": F.avg_pool2d(img, 8),
               "crop_corner": img[:, :, 0:32, 0:32], "crop_centre": img[:, :, 240:272, 240:272],
               "d_logits": d(img, c)}
    out = {k: v.contiguous() for k, v in out.items()}
    assert all(torch.isfinite(v).all() for v in out.values())
    torch.save(out, REFERENCE_512)
    print(f"wrote {os.path.normpath(EXPORT_512)} ({os.path.getsize(EXPORT_512):,} bytes, "
          f"num_ws {g.num_ws}) and {os.path.normpath(REFERENCE_512)} "
          f"({os.path.getsize(REFERENCE_512):,} bytes); images mean {img.mean():.3f} std "
          f"{img.std():.3f}, range [{img.min():.2f}, {img.max():.2f}]; "
          f"D logits {out['d_logits'].flatten().tolist()}")


def main():
    torch.set_num_threads(1)
    ref.set_resample("generic")
    torch.manual_seed(20240611)
    g_ema = make_generator()
    g = make_generator()  # the trained G: other random weights than G_ema
    d = ref.Discriminator(C_DIM, RES, CH, BASE, CMAX, "resnet", group=4, mbstd_ch=1,
                          cmap_dim=None, map_layers=D_MAP_LAYERS, clamp=None)
    randomise(d)
    d.init_kwargs = D_INIT_KWARGS
    exported = export_networks(g_ema, g, d, EXPORT)

    # The export must round-trip into the reference networks.
    loaded = torch.load(EXPORT)
    for prefix, net in (("G_ema", g_ema), ("G", g), ("D", d)):
        sd = {k[len(prefix) + 1:]: v for k, v in loaded.items() if k.startswith(prefix + ".")}
        assert set(sd) == set(net.state_dict()), prefix
        assert all(torch.equal(sd[k], v) for k, v in net.state_dict().items()), prefix

    out = {}
    z = torch.stack([torch.randn(Z_DIM, generator=torch.Generator().manual_seed(s))
                     for s in SEEDS])
    labels = torch.tensor([i % C_DIM for i in range(len(SEEDS))], dtype=torch.int64)
    c = F.one_hot(labels, C_DIM).float()
    out["z"], out["labels"] = z, labels

    def onehot(classes):
        return F.one_hot(torch.tensor(classes, dtype=torch.int64), C_DIM).float()

    with torch.no_grad():
        ws = g_ema.mapping(z, c)
        out["ws.psi1"] = ws
        out["img.psi1"] = g_ema.synthesis(ws, noise_mode="const")
        out["img.psi05"] = g_ema(z, c, psi=0.5, cutoff=None, noise_mode="const")
        out["img.psi07_cut2"] = g_ema(z, c, psi=0.7, cutoff=2, noise_mode="const")
        out["img.none"] = g_ema(z, c, psi=1.0, noise_mode="none")

        # Style mixing: a tile takes the row seed's class, for its own latent and the column
        # seed's alike (gan generate's rule: the class conditions the tile).
        z_rows, z_cols = z[MIX_ROWS], z[MIX_COLS]
        rows = []
        for r in range(len(MIX_ROWS)):
            cls = onehot([MIX_ROWS[r] % C_DIM])
            ws_row = g_ema.mapping(z_rows[r: r + 1], cls)
            ws_cols = g_ema.mapping(z_cols, cls.repeat(len(MIX_COLS), 1))
            row = []
            for col in range(len(MIX_COLS)):
                w = ws_row.clone()
                w[:, MIX_LAYER:] = ws_cols[col: col + 1, MIX_LAYER:]
                row.append(g_ema.synthesis(w, noise_mode="const")[0])
            rows.append(torch.stack(row))
        out["mix.images"] = torch.stack(rows)
        out["mix.row_seeds"] = torch.tensor(MIX_ROWS, dtype=torch.int64)
        out["mix.col_seeds"] = torch.tensor(MIX_COLS, dtype=torch.int64)
        out["mix.layer"] = torch.tensor(MIX_LAYER, dtype=torch.int64)

        # W interpolation between seeds 0 and 1, both class 0.
        w_ab = g_ema.mapping(z[[0, 1]], onehot([0, 0]))
        t = torch.tensor(INTERP_T, dtype=torch.float32)
        w_t = w_ab[0:1] + (w_ab[1:2] - w_ab[0:1]) * t[:, None, None]
        out["interp.images"] = g_ema.synthesis(w_t, noise_mode="const")
        out["interp.t"] = t
        out["interp.seeds"] = torch.tensor([0, 1], dtype=torch.int64)

        out["img_g.psi1"] = g(z, c, psi=1.0, noise_mode="const")

    for k, v in out.items():
        assert v.dtype in (torch.float32, torch.int64), (k, v.dtype)
        assert torch.isfinite(v.float()).all(), k
        out[k] = v.contiguous()
    torch.save(out, REFERENCE)

    gk = json.loads(exported["G_kwargs"])
    n_t = sum(1 for k in exported if "." in k)
    print(f"wrote {os.path.normpath(EXPORT)} ({os.path.getsize(EXPORT):,} bytes, {n_t} tensors, "
          f"num_ws {g_ema.num_ws})")
    print(f"  G_kwargs {exported['G_kwargs']}")
    print(f"  D_kwargs {exported['D_kwargs']}")
    print(f"wrote {os.path.normpath(REFERENCE)} ({os.path.getsize(REFERENCE):,} bytes): "
          + ", ".join(f"{k} {list(v.shape)}" for k, v in out.items()))
    img = out["img.psi1"]
    print(f"  img.psi1 mean {img.mean():.3f} std {img.std():.3f} range [{img.min():.2f}, "
          f"{img.max():.2f}]; |psi1 - psi05| {(img - out['img.psi05']).abs().mean():.3f}; "
          f"|G_ema - G| {(img - out['img_g.psi1']).abs().mean():.3f}; "
          f"|const - none| {(img - out['img.none']).abs().mean():.3f}")
    assert gk["z_dim"] == Z_DIM
    main_512()


if __name__ == "__main__":
    main()
