#!/usr/bin/python3
"""The StyleGAN2 training step in PyTorch's Python API, for comparison with `gan bench`'s
train_stylegan2_32 case.

Networks: scripts/stylegan2_reference.py's G and D (NVIDIA's layers and names). Configuration,
fixed like for like: 32x32, 1 channel, z_dim = w_dim = 512, 2 mapping layers, channel_base 8192,
channel_max 256 (6,105,611 + 5,379,073 parameters), G skip, D resnet, minibatch-std group 4,
batch 32, unconditional; synthetic reals torch.randn(...).clamp(-1, 1); no augmentation.

The step is NVIDIA's (stylegan2-ada-pytorch training_loop + StyleGAN2Loss), phase by phase:
  Gmain  every step: softplus(-D(G(z))), style mixing with probability 0.9;
  Greg   every 4 steps: path length on batch / 2 fakes (weight 2, decay 0.01), gain 4;
  Dmain  every step: softplus(D(G(z))) + softplus(-D(x)), the fakes drawn without grad (with
         style mixing), one backward each;
  Dreg   every 16 steps: R1, gamma / 2 x ||dD(x)/dx||^2 summed over CHW, gamma
         0.0002 x 32^2 / 32 = 0.0064, gain 16;
  G_ema  every step: beta = 0.5 ** (batch / ema_nimg), ema_kimg = batch x 10 / 32, rampup 0.05.
Each phase is one Adam step (lr 0.0025, betas (0, 0.99), eps 1e-8) after NVIDIA's lazy-
regularisation correction (lr x c, beta ** c, c = I / (I + 1), I = 16 for D, 4 for G), with
non-finite gradients replaced as NVIDIA does. Noise inputs are random, as in training.

Routes: the networks run with `--resample fast` (transposed / strided convolutions, the
default) and `--modconv separate` (activations scaled around one shared-weight convolution, the
default; NVIDIA's training route), checked at start against the reference routes (generic
resampling, fused grouped convolution) on two samples; `--resample generic --modconv fused`
measures the reference routes themselves.

Python is configured as well as the C++ side, as scripts/bench_pytorch_dcgan.py does it:
`--threads` intra-op threads (default: the cores) and `--blas-threads` (default 1) for the BLAS
library's own pool, set *before* torch loads it, and glibc's malloc thresholds raised as gan
does (`--malloc-defaults` leaves them). Modes (`--modes`): fp32, channels_last (memory
format of models and inputs), bf16 (CPU autocast with bfloat16; fp32 master weights and losses),
bf16_channels_last; the bf16 modes are left out by default on CPUs without native bf16
(AVX512-BF16, AMX), where they are emulated and several times slower than fp32.

Timing: `--warmup` steps (default 1: the first step runs all four phases), then steps for
`--seconds` (default 30) per mode, at least one. The phase schedule restarts at the timed
region, so its first step runs every phase; each phase is timed on its own and the reported
throughput is the schedule's long-run mean:
    img/s = batch / (Gmain + Greg / 4 + Dmain + Dreg / 16 + G_ema)     (mean ms of each),
i.e. real images shown to D per second (NVIDIA's kimg). The best mode is reported as
`pytorch_stylegan2_32_best`.

Run it with Debian's interpreter, whose torch is the same LibTorch build as the C++ side:
    /usr/bin/python3 scripts/bench_pytorch_stylegan2.py [--seconds 30] [--json out.json]
"""
import argparse
import copy
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# Neither imports torch: the BLAS environment must be set before it loads.
from bench_pytorch_dcgan import finish_report, import_torch_configured, native_bf16  # noqa: E402

MODES = ("fp32", "channels_last", "bf16", "bf16_channels_last")
PHASES = ("Gmain", "Greg", "Dmain", "Dreg", "G_ema")

RES, CHANNELS, Z_DIM, W_DIM, MAP_LAYERS = 32, 1, 512, 512, 2
CHANNEL_BASE, CHANNEL_MAX, MBSTD_GROUP = 8192, 256, 4
BATCH = 32
LR, BETAS, EPS = 0.0025, (0.0, 0.99), 1e-8
G_REG_INTERVAL, D_REG_INTERVAL = 4, 16
STYLE_MIXING = 0.9
PL_WEIGHT, PL_DECAY, PL_BATCH_SHRINK = 2.0, 0.01, 2
R1_GAMMA = 0.0002 * RES * RES / BATCH  # NVIDIA's auto config: 0.0064
EMA_KIMG, EMA_RAMPUP = BATCH * 10 / 32, 0.05


def build(ref):
    g = ref.Generator(Z_DIM, 0, W_DIM, RES, CHANNELS, CHANNEL_BASE, CHANNEL_MAX, MAP_LAYERS,
                      "skip")
    d = ref.Discriminator(0, RES, CHANNELS, CHANNEL_BASE, CHANNEL_MAX, "resnet",
                          group=MBSTD_GROUP, mbstd_ch=1)
    return g, d


def check_routes(torch, ref, resample, modconv):
    """max |chosen routes - reference routes| of G and D outputs on two samples."""
    torch.manual_seed(1)
    g, d = build(ref)
    g.eval()
    z, c = torch.randn(2, Z_DIM), torch.zeros(2, 0)
    with torch.no_grad():
        ref.set_resample("generic")
        img_ref = g(z, c, noise_mode="const", fused_modconv=True)
        logits_ref = d(img_ref, c)
        ref.set_resample(resample)
        img = g(z, c, noise_mode="const", fused_modconv=(modconv == "fused"))
        logits = d(img_ref, c)
    return (img - img_ref).abs().max().item(), (logits - logits_ref).abs().max().item(), \
        img_ref.abs().max().item()


def bench(torch, ref, mode, warmup, seconds, modconv):
    F = torch.nn.functional
    torch.manual_seed(0)
    g, d = build(ref)
    g_ema = copy.deepcopy(g).eval().requires_grad_(False)
    fmt = torch.channels_last if "channels_last" in mode else torch.contiguous_format
    for m in (g, d, g_ema):
        m.to(memory_format=fmt)
    g.requires_grad_(False)
    d.requires_grad_(False)

    def adam(params, interval):
        c = interval / (interval + 1)
        return torch.optim.Adam(params, lr=LR * c, betas=(BETAS[0] ** c, BETAS[1] ** c), eps=EPS)

    opt_g, opt_d = adam(g.parameters(), G_REG_INTERVAL), adam(d.parameters(), D_REG_INTERVAL)
    reals = torch.randn(BATCH, CHANNELS, RES, RES).clamp(-1, 1).contiguous(memory_format=fmt)
    labels = torch.zeros(BATCH, 0)
    pl_mean = torch.zeros([])
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode.startswith("bf16"))
    fused = modconv == "fused"
    num_ws = g.num_ws

    def run_g(z, c):
        ws = g.mapping(z, c)
        cutoff = torch.empty([], dtype=torch.int64).random_(1, num_ws)
        cutoff = torch.where(torch.rand([]) < STYLE_MIXING, cutoff, torch.full_like(cutoff, num_ws))
        ws[:, cutoff:] = g.mapping(torch.randn_like(z), c, skip_w_avg_update=True)[:, cutoff:]
        return g.synthesis(ws, noise_mode="random", fused_modconv=fused), ws

    def step_opt(module, opt):
        for p in module.parameters():
            if p.grad is not None:
                torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)
        opt.step()

    def phase_gmain():
        g.requires_grad_(True)
        opt_g.zero_grad(set_to_none=True)
        with autocast:
            img, _ = run_g(torch.randn(BATCH, Z_DIM), labels)
            logits = d(img, labels).float()
        loss = F.softplus(-logits).mean()
        loss.backward()
        g.requires_grad_(False)
        step_opt(g, opt_g)
        return loss.item()

    def phase_greg():
        n = BATCH // PL_BATCH_SHRINK
        g.requires_grad_(True)
        opt_g.zero_grad(set_to_none=True)
        with autocast:
            img, ws = run_g(torch.randn(n, Z_DIM), labels[:n])
            img = img.float()
            noise = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
            grads, = torch.autograd.grad([(img * noise).sum()], [ws], create_graph=True)
        lengths = grads.float().square().sum(2).mean(1).sqrt()
        new_mean = pl_mean.lerp(lengths.mean(), PL_DECAY)
        pl_mean.copy_(new_mean.detach())
        loss = (lengths - new_mean).square() * PL_WEIGHT
        (img[:, 0, 0, 0] * 0 + loss).mean().mul(G_REG_INTERVAL).backward()
        g.requires_grad_(False)
        step_opt(g, opt_g)
        return loss.mean().item()

    def phase_dmain():
        d.requires_grad_(True)
        opt_d.zero_grad(set_to_none=True)
        with autocast:
            with torch.no_grad():
                fake, _ = run_g(torch.randn(BATCH, Z_DIM), labels)
            fake_logits = d(fake.contiguous(memory_format=fmt), labels).float()
        loss_fake = F.softplus(fake_logits).mean()
        loss_fake.backward()
        with autocast:
            real_logits = d(reals, labels).float()
        loss_real = F.softplus(-real_logits).mean()
        loss_real.backward()
        d.requires_grad_(False)
        step_opt(d, opt_d)
        return loss_fake.item() + loss_real.item()

    def phase_dreg():
        d.requires_grad_(True)
        opt_d.zero_grad(set_to_none=True)
        x = reals.detach().requires_grad_(True)
        with autocast:
            logits = d(x, labels).float()
            grads, = torch.autograd.grad([logits.sum()], [x], create_graph=True)
        penalty = grads.float().square().sum([1, 2, 3]) * (R1_GAMMA / 2)
        (logits * 0 + penalty[:, None]).mean().mul(D_REG_INTERVAL).backward()
        d.requires_grad_(False)
        step_opt(d, opt_d)
        return penalty.mean().item()

    def phase_ema(cur_nimg):
        ema_nimg = min(EMA_KIMG * 1000, cur_nimg * EMA_RAMPUP)
        beta = 0.5 ** (BATCH / max(ema_nimg, 1e-8))
        with torch.no_grad():
            for pe, p in zip(g_ema.parameters(), g.parameters()):
                pe.copy_(p.lerp(pe, beta))
            for be, b in zip(g_ema.buffers(), g.buffers()):
                be.copy_(b)

    def run_step(batch_idx, cur_nimg, times):
        t = time.perf_counter()
        losses = {"Gmain": phase_gmain()}
        t = lap(times, "Gmain", t)
        if batch_idx % G_REG_INTERVAL == 0:
            losses["Greg"] = phase_greg()
            t = lap(times, "Greg", t)
        losses["Dmain"] = phase_dmain()
        t = lap(times, "Dmain", t)
        if batch_idx % D_REG_INTERVAL == 0:
            losses["Dreg"] = phase_dreg()
            t = lap(times, "Dreg", t)
        phase_ema(cur_nimg)
        lap(times, "G_ema", t)
        return losses

    def lap(times, phase, t0):
        t1 = time.perf_counter()
        if times is not None:
            times[phase].append(t1 - t0)
        return t1

    nimg = 0
    for i in range(warmup):
        run_step(i, nimg, None)
        nimg += BATCH
    times = {p: [] for p in PHASES}
    t_start = time.perf_counter()
    steps = 0
    while steps == 0 or time.perf_counter() - t_start < seconds:
        losses = run_step(steps, nimg, times)
        nimg += BATCH
        steps += 1
    wall = time.perf_counter() - t_start
    for k, v in losses.items():
        if not math.isfinite(v):
            raise RuntimeError(f"{mode}: {k} loss is {v}")
    mean_ms = {p: 1e3 * sum(v) / len(v) for p, v in times.items()}
    per_step_ms = (mean_ms["Gmain"] + mean_ms["Greg"] / G_REG_INTERVAL + mean_ms["Dmain"]
                   + mean_ms["Dreg"] / D_REG_INTERVAL + mean_ms["G_ema"])
    return {"case": f"pytorch_stylegan2_{RES}", "mode": mode, "img_per_s": BATCH * 1e3 / per_step_ms,
            "ms_per_step": per_step_ms, "phase_ms": mean_ms,
            "phase_counts": {p: len(v) for p, v in times.items()},
            "timed_steps": steps, "timed_s": wall, "warmup_steps": warmup, "batch": BATCH,
            "pl_mean": pl_mean.item(), "last_losses": losses}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--blas-threads", type=int, default=1,
                    help="the BLAS library's own threads (default 1, as gan sets them)")
    ap.add_argument("--malloc-defaults", action="store_true",
                    help="leave glibc's malloc thresholds alone (gan raises them at start-up)")
    ap.add_argument("--modes", default=None,
                    help="default: all where the CPU has native bf16, else fp32,channels_last")
    ap.add_argument("--seconds", type=float, default=30.0, help="timed seconds per mode")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps per mode (default 1)")
    ap.add_argument("--resample", choices=("fast", "generic"), default="fast")
    ap.add_argument("--modconv", choices=("separate", "fused"), default="separate")
    ap.add_argument("--json")
    args = ap.parse_args()
    modes = (args.modes or ",".join(MODES if native_bf16() else MODES[:2])).split(",")
    for m in modes:
        if m not in MODES:
            ap.error(f"--modes: unknown mode '{m}' (known: {', '.join(MODES)})")
    if args.warmup < 0 or args.seconds < 0:
        ap.error("--warmup and --seconds must be >= 0")

    torch, blas_threads = import_torch_configured(args.threads, args.blas_threads,
                                                  not args.malloc_defaults)
    import stylegan2_reference as ref  # imports torch: after the BLAS environment is set
    dg, dd, scale = check_routes(torch, ref, args.resample, args.modconv)
    print(f"routes resample={args.resample} modconv={args.modconv}: max |diff| to the reference "
          f"routes G {dg:.2e} (images up to {scale:.2f}), D {dd:.2e}", flush=True)
    if dg > 1e-4 * max(1.0, scale) or dd > 1e-4:
        raise SystemExit("the chosen routes do not compute the reference function")
    ref.set_resample(args.resample)

    results = []
    for mode in modes:
        r = bench(torch, ref, mode, args.warmup, args.seconds, args.modconv)
        r.update(threads=args.threads, blas_threads=blas_threads, resample=args.resample,
                 modconv=args.modconv)
        results.append(r)
        phases = " ".join(f"{p} {r['phase_ms'][p]:.0f}" for p in PHASES)
        print(f"{r['case']:<20} {mode:<19} {r['img_per_s']:8.1f} img/s  ({r['ms_per_step']:.0f} ms "
              f"per step; ms: {phases}; {r['timed_steps']} timed steps)", flush=True)
    best = dict(max(results, key=lambda r: r["img_per_s"]))
    best["case"] += "_best"
    results.append(best)
    print(f"{best['case']:<20} {best['mode']:<19} {best['img_per_s']:8.1f} img/s")
    finish_report(results, args.json)


if __name__ == "__main__":
    main()
