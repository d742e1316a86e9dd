#!/usr/bin/python3
"""The reference DCGAN training step in PyTorch's Python API, for comparison with `gan bench`.

Same setup as gan bench's train_dcgan_32 / train_dcgan_64 cases: batch 64, z 100, width 64,
3 channels, Adam 2e-4 with betas (0.5, 0.999), non-saturating loss, synthetic real images, an
EMA of G, and the same per-step read-outs as the C++ trainer (losses, mean logits, gradient
norms). G uses nn.ConvTranspose2d, as the PyTorch DCGAN example does.

Python is configured as well as the C++ side, or the comparison means nothing:
- threads: `--threads` intra-op threads (default: the cores), and the BLAS library's own thread
  pool set to `--blas-threads` (default 1) *before* torch loads it, as `gan` does at start-up.
  OpenBLAS' threads beside OpenMP's fight for the same cores (12 % to 3x on 2 cores).
- malloc: glibc's mmap and trim thresholds raised at start-up, so freed activations stay in the
  heap instead of being unmapped and page-faulted in again every step, as `gan` does at start-up
  (`--malloc-defaults` leaves glibc's defaults; so does a malloc setting in the environment).
- formulations (`--formulations`):
    separate  the D step draws fakes with a no-grad G forward and the G step runs G again (what
              gan's trainer does);
    tutorial  the PyTorch tutorial's: one G forward per step, `fake.detach()` for D and the same
              `fake` for the G step.
- modes (`--modes`): fp32, channels_last (memory format of models and inputs), bf16 (autocast on
  CPU with bfloat16; fp32 master weights and losses), bf16_channels_last. The bf16 modes are left
  out by default on CPUs without native bf16 (AVX512-BF16, AMX), where they are emulated and
  measured 10-12x slower than fp32.
Every combination is timed and the best is reported as `pytorch_dcgan_<res>_best`.

Run it with Debian's interpreter, whose torch is the same LibTorch build as the C++ side:
    /usr/bin/python3 scripts/bench_pytorch_dcgan.py [--json out.json]
scripts/compare_pytorch.sh alternates it with `gan bench` and prints the ratios.
"""
import argparse
import ctypes
import json
import math
import os
import resource
import statistics
import time

MODES = ("fp32", "channels_last", "bf16", "bf16_channels_last")
FORMULATIONS = ("separate", "tutorial")


def limit_blas_threads(n):
    # Read once, when the BLAS library initialises: must happen before `import torch`.
    for var in ("OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def loaded_openblas():
    """(path, threads) of the OpenBLAS this process has mapped, or (None, None)."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "openblas" in os.path.basename(path) and path.endswith(tuple(".so" + s for s in ("", ".0"))):
                lib = ctypes.CDLL(path)
                return path, lib.openblas_get_num_threads()
    return None, None


def keep_freed_memory():
    """glibc's mallopt as gan's src/core/malloc_tuning.cpp sets it: mmap threshold at its maximum
    (32 MiB), trim threshold INT_MAX. Returns a description for the report."""
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    env = [v for v in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                       "MALLOC_MMAP_MAX_") if v in os.environ]
    if "glibc.malloc." in tunables or env:
        return f"defaults (set by {'GLIBC_TUNABLES' if 'glibc.malloc.' in tunables else env[0]})"
    libc = ctypes.CDLL("libc.so.6")
    m_trim_threshold, m_mmap_threshold = -1, -3
    if libc.mallopt(m_mmap_threshold, 32 << 20) == 1 and libc.mallopt(m_trim_threshold, 2**31 - 1) == 1:
        return "freed memory kept (mmap threshold 32 MiB, trim threshold 2047 MiB)"
    return "defaults (mallopt refused)"


def native_bf16():
    """Whether the CPU computes bf16 natively (AVX512-BF16 or AMX), as gan's runtime.precision: auto
    decides; elsewhere bf16 is emulated, several times slower than fp32, and never the best mode."""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return bool({"avx512_bf16", "amx_bf16"} & set(line.split()))
    return False


def build_networks(nn, res, nz=100, width=64, channels=3):
    stages = int(math.log2(res)) - 2
    ch = width * 2 ** (stages - 1)
    g = [nn.ConvTranspose2d(nz, ch, 4, 1, 0, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True)]
    for i in range(stages):
        last = i == stages - 1
        out = channels if last else ch // 2
        g.append(nn.ConvTranspose2d(ch, out, 4, 2, 1, bias=False))
        g += [nn.Tanh()] if last else [nn.BatchNorm2d(out), nn.ReLU(True)]
        ch = out
    d, ch = [], channels
    for i in range(stages):
        out = width << i
        d.append(nn.Conv2d(ch, out, 4, 2, 1, bias=False))
        if i > 0:
            d.append(nn.BatchNorm2d(out))
        d.append(nn.LeakyReLU(0.2, inplace=True))
        ch = out
    d += [nn.Conv2d(ch, 1, 4, 1, 0, bias=False), nn.Flatten(0)]
    return nn.Sequential(*g), nn.Sequential(*d)


def dcgan_init(nn, m):
    """DCGAN's N(0, 0.02) weights; batch-norm gains N(1, 0.02), biases 0 (for Module.apply)."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def bench(torch, res, mode, formulation, warmup, steps, batch=64, nz=100):
    nn, F = torch.nn, torch.nn.functional

    def grad_norm(params):
        return math.sqrt(sum(p.grad.detach().pow(2).sum().item() for p in params
                             if p.grad is not None))

    torch.manual_seed(0)
    g, d = build_networks(nn, res, nz)
    g_ema, _ = build_networks(nn, res, nz)
    g.apply(lambda m: dcgan_init(nn, m))
    d.apply(lambda m: dcgan_init(nn, m))
    g_ema.load_state_dict(g.state_dict())
    g_ema.eval().requires_grad_(False)
    fmt = torch.channels_last if "channels_last" in mode else torch.contiguous_format
    for m in (g, d, g_ema):
        m.to(memory_format=fmt)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    reals = (torch.rand(batch, 3, res, res) * 2 - 1).contiguous(memory_format=fmt)
    ema_beta = 0.5 ** (batch / 10000.0)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode.startswith("bf16"))

    def latents():
        return torch.randn(batch, nz, 1, 1).contiguous(memory_format=fmt)

    times = []
    for step in range(warmup + steps):
        t0 = time.perf_counter()
        # D step
        d.requires_grad_(True)
        opt_d.zero_grad()
        with autocast:
            if formulation == "tutorial":
                fake = g(latents())
                fake_for_d = fake.detach()
            else:
                with torch.no_grad():
                    fake_for_d = g(latents())
            real_logits, fake_logits = d(reals).float(), d(fake_for_d).float()
        loss_d = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
        loss_d.backward()
        _ = (loss_d.item(), real_logits.mean().item(), fake_logits.mean().item(),
             grad_norm(d.parameters()))
        opt_d.step()
        # G step
        d.requires_grad_(False)
        opt_g.zero_grad()
        with autocast:
            if formulation != "tutorial":
                fake = g(latents())
            logits = d(fake).float()
        loss_g = F.softplus(-logits).mean()
        loss_g.backward()
        _ = (loss_g.item(), grad_norm(g.parameters()))
        opt_g.step()
        # EMA of G (parameters; buffers copied)
        with torch.no_grad():
            for pe, p in zip(g_ema.parameters(), g.parameters()):
                pe.copy_(p.lerp(pe, ema_beta))
            for be, b in zip(g_ema.buffers(), g.buffers()):
                be.copy_(b)
        if step >= warmup:
            times.append(time.perf_counter() - t0)
    mean = sum(times) / len(times)
    median = statistics.median(times)
    return {"case": f"pytorch_dcgan_{res}", "mode": mode, "formulation": formulation,
            "img_per_s": batch / mean, "img_per_s_median": batch / median,
            "ms_per_step": 1e3 * mean, "ms_per_step_median": 1e3 * median,
            "timed_steps": steps, "warmup_steps": warmup}



def import_torch_configured(threads, blas_threads, keep_freed=True):
    """Sets the BLAS library's pool (and, with keep_freed, glibc's malloc as gan does), then
    imports torch with `threads` intra-op threads and prints the setup (the benchmark scripts
    start this way). Returns torch and the BLAS library's thread count."""
    limit_blas_threads(blas_threads)
    malloc = keep_freed_memory() if keep_freed else "defaults (--malloc-defaults)"
    import torch  # after the BLAS environment is set

    torch.set_num_threads(threads)
    blas_path, blas_n = loaded_openblas()
    print(f"native bf16: {'yes' if native_bf16() else 'no (bf16 modes left out unless --modes names them)'}")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"BLAS {blas_path or 'not OpenBLAS'} threads {blas_n}, malloc {malloc}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    return torch, blas_n


def finish_report(results, json_path):
    """The closing line (load and memory, which qualify every figure) and the JSON file."""
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if json_path:
        with open(json_path, "w") as f:
            json.dump(results, f, indent=2)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--blas-threads", type=int, default=1,
                    help="the BLAS library's own threads (default 1, as gan sets them)")
    ap.add_argument("--malloc-defaults", action="store_true",
                    help="leave glibc's malloc thresholds alone (gan raises them at start-up)")
    ap.add_argument("--resolutions", default="32,64")
    ap.add_argument("--modes", default=None,
                    help="default: all where the CPU has native bf16, else fp32,channels_last")
    ap.add_argument("--formulations", default=",".join(FORMULATIONS))
    ap.add_argument("--steps", type=int, default=0, help="timed steps (default 6 at 32, 3 at 64)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    modes = (args.modes or ",".join(MODES if native_bf16() else MODES[:2])).split(",")
    formulations = args.formulations.split(",")
    for m in modes:
        if m not in MODES:
            ap.error(f"--modes: unknown mode '{m}' (known: {', '.join(MODES)})")
    for f in formulations:
        if f not in FORMULATIONS:
            ap.error(f"--formulations: unknown '{f}' (known: {', '.join(FORMULATIONS)})")

    torch, blas_threads = import_torch_configured(args.threads, args.blas_threads,
                                                  not args.malloc_defaults)
    results = []
    for res in [int(r) for r in args.resolutions.split(",")]:
        warmup, steps = (2, 6) if res == 32 else (1, 3)
        if args.steps:
            steps = args.steps
        if args.quick:
            warmup, steps = 1, 2
        variants = []
        for formulation in formulations:
            for mode in modes:
                r = bench(torch, res, mode, formulation, warmup, steps)
                r.update(threads=args.threads, blas_threads=blas_threads)
                variants.append(r)
                results.append(r)
                print(f"{r['case']:<18} {formulation:<9} {mode:<19} {r['img_per_s']:8.1f} img/s "
                      f"(median step {r['img_per_s_median']:.1f})", flush=True)
        best = dict(max(variants, key=lambda r: r["img_per_s_median"]))
        best["case"] += "_best"
        results.append(best)
        print(f"{best['case']:<18} {best['formulation']:<9} {best['mode']:<19} "
              f"{best['img_per_s']:8.1f} img/s (median step {best['img_per_s_median']:.1f})")
    finish_report(results, args.json)


if __name__ == "__main__":
    main()
