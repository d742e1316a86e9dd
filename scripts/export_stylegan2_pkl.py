#!/usr/bin/env python3
"""Exports the networks of an NVIDIA stylegan2-ada-pytorch pickle for the C++ StyleGAN2 loader.

Usage (where NVIDIA's stylegan2-ada-pytorch is installed: its dnnlib, torch_utils and legacy.py
must be importable to unpickle the networks):
    python export_stylegan2_pkl.py network.pkl out.pt [--no-g] [--no-d] [--nvidia-repo DIR]

Writes, with torch.save, one dict (read in C++ with torch::pickle_load):
    "format":   "gan-stylegan2-export" (str)
    "version":  1 (int)
    "G_kwargs": JSON string, a flat object: z_dim, w_dim, c_dim, img_resolution, img_channels,
                mapping_layers, mapping_lr_multiplier, w_avg_beta, channel_base, channel_max,
                conv_clamp (number or null), architecture
    "D_kwargs": JSON string (only when D is exported): c_dim, img_resolution, img_channels,
                architecture, channel_base, channel_max, conv_clamp (number or null),
                mbstd_group_size (null = the whole minibatch), mbstd_num_channels,
                cmap_dim (null = NVIDIA's default, the channels at 4x4), mapping_layers
    "G_ema.<name>", "G.<name>", "D.<name>": one float32 contiguous CPU tensor per state-dict
                entry (parameters and buffers) of G_ema (always), G and D (when present and not
                excluded).
Defaults are those of NVIDIA's constructors (training/networks.py). Configurations the C++
networks cannot represent are refused with a message naming the option (label embedding or
mapping widths other than w_dim, activations other than lrelu, another resampling filter, no
noise inputs, unknown architectures or options). FP16 layers are fine: their weights are stored
in fp32 and num_fp16_res is ignored. As a last check, every state dict must have exactly the
names and shapes of scripts/stylegan2_reference.py's networks built from the exported kwargs.

export_networks(g_ema, g, d, path) does the conversion for any nn.Modules carrying NVIDIA's
`init_kwargs` dict (as NVIDIA's torch_utils.persistence gives them); scripts/
make_stylegan2_export_fixture.py calls it with the reference implementation's modules.
"""
import argparse
import json
import numbers
import os
import pickle
import sys

FORMAT = "gan-stylegan2-export"
VERSION = 1
FIR_TAPS = [1, 3, 3, 1]
ARCHITECTURES = ("orig", "skip", "resnet")

# NVIDIA's constructor defaults (training/networks.py).
G_MAPPING_DEFAULTS = dict(num_layers=8, embed_features=None, layer_features=None,
                          activation="lrelu", lr_multiplier=0.01, w_avg_beta=0.995)
G_SYNTHESIS_DEFAULTS = dict(channel_base=32768, channel_max=512, num_fp16_res=0, conv_clamp=None,
                            architecture="skip", resample_filter=FIR_TAPS, use_noise=True,
                            activation="lrelu", kernel_size=3, fp16_channels_last=False,
                            fused_modconv_default=None)
D_DEFAULTS = dict(architecture="resnet", channel_base=32768, channel_max=512, num_fp16_res=0,
                  conv_clamp=None, cmap_dim=None)
D_BLOCK_DEFAULTS = dict(activation="lrelu", resample_filter=FIR_TAPS, fp16_channels_last=False,
                        freeze_layers=0)
D_MAPPING_DEFAULTS = dict(num_layers=8, embed_features=None, layer_features=None,
                          activation="lrelu", lr_multiplier=0.01)
D_EPILOGUE_DEFAULTS = dict(mbstd_group_size=4, mbstd_num_channels=1, activation="lrelu")
# Options without effect on the stored weights or the computed function (fp16 and memory-format
# choices, which layers were frozen in training, the fused/non-fused modconv route).
IGNORED = {"num_fp16_res", "fp16_channels_last", "freeze_layers", "fused_modconv_default"}


class ExportError(ValueError):
    """A configuration the C++ StyleGAN2 networks cannot represent."""


class _Options:
    allow_unknown = False


def _plain(v):
    """Python scalars (numpy scalars and EasyDicts come out of NVIDIA's pickles)."""
    if hasattr(v, "item") and not isinstance(v, (list, tuple, dict)):
        try:
            return v.item()
        except (TypeError, ValueError):
            return v
    return v


def _number(v, name, integer=False, positive=True, allow_none=False):
    v = _plain(v)
    if v is None and allow_none:
        return None
    ok = isinstance(v, numbers.Real) and not isinstance(v, bool)
    if ok and integer:
        ok = float(v) == int(v)
    if ok and positive:
        ok = v > 0
    if not ok:
        kind = "a positive integer" if integer and positive else "an integer" if integer else \
            "a positive number" if positive else "a number"
        raise ExportError(f"{name} = {v!r}: expected {kind}{' or None' if allow_none else ''}")
    return int(v) if integer else float(v)


def _section(given, defaults, where):
    """The dict `given` (maybe None) merged over the defaults; unknown keys refused."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        msg = (f"{where}: unknown option(s) {', '.join(unknown)} (the C++ networks know only "
               f"{', '.join(sorted(defaults))})")
        if not _Options.allow_unknown:
            raise ExportError(msg + "; pass --allow-unknown to export anyway")
        print(f"warning: {msg}; ignored (--allow-unknown)", file=sys.stderr)
    out = dict(defaults)
    out.update({k: _plain(v) for k, v in given.items() if k in defaults})
    return out



def _check_mapping_layers(m, features, feature_name, network, what):
    """A mapping network's widths and activation must be the ones the C++ side builds."""
    for key in ("embed_features", "layer_features"):
        if m[key] is not None and _plain(m[key]) != features:
            raise ExportError(f"{what} mapping_kwargs.{key} = {m[key]!r} is not supported: the "
                              f"C++ {network} uses {feature_name} ({features}) features (None)")
    _require(m["activation"], "lrelu", f"{what} mapping_kwargs.activation",
             f"the C++ {network} uses leaky ReLU")

def _require(value, expected, name, why):
    if isinstance(expected, list):
        value = [_plain(x) for x in value] if isinstance(value, (list, tuple)) else value
    if value != expected:
        raise ExportError(f"{name} = {value!r} is not supported: {why} (expected {expected!r})")


def _init_kwargs(module, what):
    kw = getattr(module, "init_kwargs", None)
    if kw is None:
        raise ExportError(f"{what} has no init_kwargs: not a network of NVIDIA's persistence "
                          f"(stylegan2-ada-pytorch pickle)")
    args = getattr(module, "init_args", ())
    if args:
        raise ExportError(f"{what} was constructed with positional arguments {args!r}; "
                          f"only keyword construction (as NVIDIA's training does) is understood")
    if type(module).__module__.endswith("networks_stylegan3"):
        raise ExportError(f"{what} is a {type(module).__module__}.{type(module).__name__}: "
                          f"StyleGAN3 networks are not StyleGAN2")
    return dict(kw)


def _top(kw, module, key, what):
    v = kw.get(key, getattr(module, key, None))
    if v is None:
        raise ExportError(f"{what}: {key} missing from init_kwargs")
    return v


def generator_kwargs(module, what="G_ema"):
    """The flat G_kwargs object of a generator's NVIDIA init_kwargs (validated)."""
    kw = _init_kwargs(module, what)
    core = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs",
            "synthesis_kwargs")
    # stylegan2-ada-pytorch nests the synthesis options in synthesis_kwargs; the stylegan3
    # repository's networks_stylegan2.Generator takes them flat, beside z_dim.
    synthesis = dict(kw.get("synthesis_kwargs") or {})
    synthesis.update({k: v for k, v in kw.items() if k not in core})
    z_dim = _number(_top(kw, module, "z_dim", what), f"{what} z_dim", integer=True)
    c_dim = _number(_top(kw, module, "c_dim", what), f"{what} c_dim", integer=True,
                    positive=False)
    w_dim = _number(_top(kw, module, "w_dim", what), f"{what} w_dim", integer=True)
    res = _number(_top(kw, module, "img_resolution", what), f"{what} img_resolution",
                  integer=True)
    ch = _number(_top(kw, module, "img_channels", what), f"{what} img_channels", integer=True)
    if c_dim < 0:
        raise ExportError(f"{what} c_dim = {c_dim}: expected >= 0")
    if res < 4 or res & (res - 1):
        raise ExportError(f"{what} img_resolution = {res}: expected a power of two >= 4")

    m = _section(kw.get("mapping_kwargs"), G_MAPPING_DEFAULTS, f"{what} mapping_kwargs")
    _check_mapping_layers(m, w_dim, "w_dim", "mapping network", what)
    if m["w_avg_beta"] is None:
        raise ExportError(f"{what} mapping_kwargs.w_avg_beta = None is not supported: the C++ "
                          f"generator tracks w_avg (truncation needs it)")
    s = _section(synthesis, G_SYNTHESIS_DEFAULTS, f"{what} synthesis_kwargs")
    if s["architecture"] not in ARCHITECTURES:
        raise ExportError(f"{what} synthesis_kwargs.architecture = {s['architecture']!r}: "
                          f"unknown (the C++ generator has {', '.join(ARCHITECTURES)})")
    _require(s["activation"], "lrelu", f"{what} synthesis_kwargs.activation",
             "the C++ synthesis layers use leaky ReLU")
    _require(list(s["resample_filter"]), FIR_TAPS, f"{what} synthesis_kwargs.resample_filter",
             "the C++ resampling uses the [1,3,3,1] filter")
    _require(s["use_noise"], True, f"{what} synthesis_kwargs.use_noise",
             "the C++ synthesis layers always have noise inputs")
    _require(s["kernel_size"], 3, f"{what} synthesis_kwargs.kernel_size",
             "the C++ synthesis layers are 3x3")
    return {
        "z_dim": z_dim, "w_dim": w_dim, "c_dim": c_dim, "img_resolution": res,
        "img_channels": ch,
        "mapping_layers": _number(m["num_layers"], f"{what} mapping_kwargs.num_layers",
                                  integer=True),
        "mapping_lr_multiplier": _number(m["lr_multiplier"],
                                         f"{what} mapping_kwargs.lr_multiplier"),
        "w_avg_beta": _number(m["w_avg_beta"], f"{what} mapping_kwargs.w_avg_beta",
                              positive=False),
        "channel_base": _number(s["channel_base"], f"{what} synthesis_kwargs.channel_base",
                                integer=True),
        "channel_max": _number(s["channel_max"], f"{what} synthesis_kwargs.channel_max",
                               integer=True),
        "conv_clamp": _number(s["conv_clamp"], f"{what} synthesis_kwargs.conv_clamp",
                              allow_none=True),
        "architecture": s["architecture"],
    }


def discriminator_kwargs(module, what="D"):
    """The flat D_kwargs object of a discriminator's NVIDIA init_kwargs (validated)."""
    kw = _init_kwargs(module, what)
    top = dict(D_DEFAULTS, c_dim=None, img_resolution=None, img_channels=None,
               block_kwargs=None, mapping_kwargs=None, epilogue_kwargs=None)
    t = _section(kw, top, f"{what} init_kwargs")
    c_dim = _number(_top(kw, module, "c_dim", what), f"{what} c_dim", integer=True,
                    positive=False)
    res = _number(_top(kw, module, "img_resolution", what), f"{what} img_resolution",
                  integer=True)
    ch = _number(_top(kw, module, "img_channels", what), f"{what} img_channels", integer=True)
    if res < 8 or res & (res - 1):
        raise ExportError(f"{what} img_resolution = {res}: expected a power of two >= 8")
    if t["architecture"] not in ARCHITECTURES:
        raise ExportError(f"{what} architecture = {t['architecture']!r}: unknown (the C++ "
                          f"discriminator has {', '.join(ARCHITECTURES)})")
    base = _number(t["channel_base"], f"{what} channel_base", integer=True)
    cmax = _number(t["channel_max"], f"{what} channel_max", integer=True)
    cmap_dim = _number(t["cmap_dim"], f"{what} cmap_dim", integer=True, allow_none=True)
    b = _section(kw.get("block_kwargs"), D_BLOCK_DEFAULTS, f"{what} block_kwargs")
    _require(b["activation"], "lrelu", f"{what} block_kwargs.activation",
             "the C++ discriminator blocks use leaky ReLU")
    _require(list(b["resample_filter"]), FIR_TAPS, f"{what} block_kwargs.resample_filter",
             "the C++ resampling uses the [1,3,3,1] filter")
    m = _section(kw.get("mapping_kwargs"), D_MAPPING_DEFAULTS, f"{what} mapping_kwargs")
    eff_cmap = min(base // 4, cmax) if cmap_dim is None else cmap_dim
    _check_mapping_layers(m, eff_cmap, "cmap_dim", "label mapping", what)
    _require(_plain(m["lr_multiplier"]), 0.01, f"{what} mapping_kwargs.lr_multiplier",
             "the C++ label mapping has NVIDIA's default learning-rate multiplier")
    e = _section(kw.get("epilogue_kwargs"), D_EPILOGUE_DEFAULTS, f"{what} epilogue_kwargs")
    _require(e["activation"], "lrelu", f"{what} epilogue_kwargs.activation",
             "the C++ epilogue uses leaky ReLU")
    return {
        "c_dim": c_dim, "img_resolution": res, "img_channels": ch,
        "architecture": t["architecture"], "channel_base": base, "channel_max": cmax,
        "conv_clamp": _number(t["conv_clamp"], f"{what} conv_clamp", allow_none=True),
        "mbstd_group_size": _number(e["mbstd_group_size"],
                                    f"{what} epilogue_kwargs.mbstd_group_size", integer=True,
                                    allow_none=True),
        "mbstd_num_channels": _number(e["mbstd_num_channels"],
                                      f"{what} epilogue_kwargs.mbstd_num_channels",
                                      integer=True, positive=False),
        "cmap_dim": cmap_dim,
        "mapping_layers": _number(m["num_layers"], f"{what} mapping_kwargs.num_layers",
                                  integer=True),
    }


def _reference_shapes(gk=None, dk=None):
    """Names and shapes of the reference implementation's state dict for these kwargs."""
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import stylegan2_reference as ref

    with torch.random.fork_rng():  # construction draws random numbers: leave the caller's
        if gk is not None:
            net = ref.Generator(gk["z_dim"], gk["c_dim"], gk["w_dim"], gk["img_resolution"],
                                gk["img_channels"], gk["channel_base"], gk["channel_max"],
                                gk["mapping_layers"], gk["architecture"], gk["conv_clamp"])
        else:
            net = ref.Discriminator(dk["c_dim"], dk["img_resolution"], dk["img_channels"],
                                    dk["channel_base"], dk["channel_max"], dk["architecture"],
                                    dk["mbstd_group_size"], dk["mbstd_num_channels"],
                                    dk["cmap_dim"], dk["mapping_layers"], dk["conv_clamp"])
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


def _tensors(module, prefix, expected):
    import torch
    sd = module.state_dict()
    got = {k: tuple(v.shape) for k, v in sd.items()}
    if got != expected:
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        shapes = sorted(k for k in set(got) & set(expected) if got[k] != expected[k])
        raise ExportError(
            f"{prefix}: the state dict does not match the StyleGAN2 network of its kwargs "
            f"(missing {missing[:5]}, unexpected {extra[:5]}, other shapes "
            f"{[(k, got[k], expected[k]) for k in shapes[:5]]})")
    out = {}
    for name, t in sd.items():
        if not t.is_floating_point():
            raise ExportError(f"{prefix}.{name}: dtype {t.dtype} is not floating point")
        out[f"{prefix}.{name}"] = t.detach().to("cpu", torch.float32).contiguous().clone()
    return out


def export_networks(g_ema, g=None, d=None, path=None):
    """The export dict of G_ema (required), G and D (optional), written to `path` with
    torch.save when given. Raises ExportError for configurations the C++ side cannot represent."""
    import torch
    gk = generator_kwargs(g_ema, "G_ema")
    if g is not None:
        gk_g = generator_kwargs(g, "G")
        if gk_g != gk:
            diff = {k: (gk[k], gk_g[k]) for k in gk if gk[k] != gk_g[k]}
            raise ExportError(f"G and G_ema have different configurations {diff}: "
                              f"one G_kwargs cannot describe both (pass --no-g)")
    out = {"format": FORMAT, "version": VERSION, "G_kwargs": json.dumps(gk)}
    dk = discriminator_kwargs(d, "D") if d is not None else None
    if dk is not None:
        out["D_kwargs"] = json.dumps(dk)
    g_shapes = _reference_shapes(gk=gk)
    out.update(_tensors(g_ema, "G_ema", g_shapes))
    if g is not None:
        out.update(_tensors(g, "G", g_shapes))
    if d is not None:
        out.update(_tensors(d, "D", _reference_shapes(dk=dk)))
    if path is not None:
        torch.save(out, path)
    return out


def load_pickle(path):
    """NVIDIA's network pickle as a dict (legacy.load_network_pkl when importable, which also
    converts TensorFlow pickles; else pickle.load)."""
    try:
        import legacy
        loader = legacy.load_network_pkl
    except ImportError:
        loader = None
    with open(path, "rb") as f:
        data = loader(f) if loader is not None else pickle.load(f)
    if not isinstance(data, dict) or "G_ema" not in data:
        raise ExportError(f"{path}: not a StyleGAN2 network pickle (no G_ema)")
    return data


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pkl", help="NVIDIA network pickle (network-snapshot-*.pkl)")
    ap.add_argument("out", help="export file (.pt) to write")
    ap.add_argument("--no-g", action="store_true", help="leave out G (the trained, non-EMA G)")
    ap.add_argument("--no-d", action="store_true", help="leave out D")
    ap.add_argument("--nvidia-repo", metavar="DIR",
                    help="stylegan2-ada-pytorch checkout to import dnnlib, torch_utils and "
                         "legacy from (put first on sys.path)")
    ap.add_argument("--allow-unknown", action="store_true",
                    help="warn about, instead of refusing, init_kwargs options this exporter "
                         "does not know (the state dicts are still checked name by name)")
    args = ap.parse_args(argv)
    if args.nvidia_repo:
        if not os.path.isdir(args.nvidia_repo):
            ap.error(f"--nvidia-repo: {args.nvidia_repo} is not a directory")
        sys.path.insert(0, os.path.abspath(args.nvidia_repo))
    _Options.allow_unknown = args.allow_unknown
    try:
        data = load_pickle(args.pkl)
        g = None if args.no_g else data.get("G")
        d = None if args.no_d else data.get("D")
        out = export_networks(data["G_ema"], g, d, args.out)
    except ExportError as e:
        print(f"export_stylegan2_pkl: refused: {e}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:
        print(f"export_stylegan2_pkl: {e}: unpickling needs NVIDIA's stylegan2-ada-pytorch "
              f"(dnnlib, torch_utils); pass --nvidia-repo DIR", file=sys.stderr)
        return 2
    nets = [n for n in ("G_ema", "G", "D") if any(k.startswith(n + ".") for k in out)]
    n_tensors = sum(1 for k in out if "." in k)
    print(f"wrote {args.out}: {', '.join(nets)}; {n_tensors} tensors")
    print(f"G_kwargs {out['G_kwargs']}")
    if "D_kwargs" in out:
        print(f"D_kwargs {out['D_kwargs']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
