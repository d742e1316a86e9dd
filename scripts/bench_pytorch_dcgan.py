#!/usr/bin/python3
"""The reference DCGAN training step in PyTorch's Python API, for comparison with `gan bench`.

Same setup as gan bench's train_dcgan_32 / train_dcgan_64 cases: batch 64, z 100, width 64,
3 channels, Adam 2e-4 with betas (0.5, 0.999), non-saturating loss, synthetic real images, an
EMA of G, and the same per-step read-outs as the C++ trainer (losses, mean logits, gradient
norms). Written the way the PyTorch DCGAN example writes it (nn.ConvTranspose2d in G).

Run it with Debian's interpreter, whose torch is the same LibTorch build as the C++ side:
    /usr/bin/python3 scripts/bench_pytorch_dcgan.py --threads 2 [--json out.json]
"""
import argparse
import json
import math
import os
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def generator(res, nz=100, width=64, channels=3):
    stages = int(math.log2(res)) - 2
    ch = width * 2 ** (stages - 1)
    layers = [nn.ConvTranspose2d(nz, ch, 4, 1, 0, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True)]
    for i in range(stages):
        last = i == stages - 1
        out = channels if last else ch // 2
        layers.append(nn.ConvTranspose2d(ch, out, 4, 2, 1, bias=False))
        layers += [nn.Tanh()] if last else [nn.BatchNorm2d(out), nn.ReLU(True)]
        ch = out
    return nn.Sequential(*layers)


def discriminator(res, width=64, channels=3):
    stages = int(math.log2(res)) - 2
    layers, ch = [], channels
    for i in range(stages):
        out = width << i
        layers.append(nn.Conv2d(ch, out, 4, 2, 1, bias=False))
        if i > 0:
            layers.append(nn.BatchNorm2d(out))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        ch = out
    layers += [nn.Conv2d(ch, 1, 4, 1, 0, bias=False), nn.Flatten(0)]
    return nn.Sequential(*layers)


def init_weights(m):
    # DCGAN's N(0, 0.02); batch-norm gains N(1, 0.02).
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def grad_norm(params):
    return math.sqrt(sum(p.grad.detach().pow(2).sum().item() for p in params if p.grad is not None))


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench(res, warmup, steps, batch=64, nz=100):
    torch.manual_seed(0)
    g, d, g_ema = generator(res), discriminator(res), generator(res)
    g.apply(init_weights)
    d.apply(init_weights)
    g_ema.load_state_dict(g.state_dict())
    g_ema.eval().requires_grad_(False)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    reals = torch.rand(batch, 3, res, res) * 2 - 1
    ema_beta = 0.5 ** (batch / 10000.0)
    times = []
    for step in range(warmup + steps):
        t0 = time.perf_counter()
        # D step
        d.requires_grad_(True)
        opt_d.zero_grad()
        with torch.no_grad():
            fake = g(torch.randn(batch, nz, 1, 1))
        real_logits, fake_logits = d(reals), d(fake)
        loss_d = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
        loss_d.backward()
        _ = (loss_d.item(), real_logits.mean().item(), fake_logits.mean().item(),
             grad_norm(d.parameters()))
        opt_d.step()
        # G step
        d.requires_grad_(False)
        opt_g.zero_grad()
        loss_g = F.softplus(-d(g(torch.randn(batch, nz, 1, 1)))).mean()
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
    step_s = sum(times) / len(times)
    median = sorted(times)[len(times) // 2] if len(times) % 2 else \
        0.5 * (sorted(times)[len(times) // 2 - 1] + sorted(times)[len(times) // 2])
    return {"case": f"pytorch_dcgan_{res}", "img_per_s": batch / step_s,
            "img_per_s_median": batch / median,
            "ms_per_step": 1e3 * step_s, "timed_steps": steps, "warmup_steps": warmup,
            "peak_rss_mb": peak_rss_mb()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--resolutions", default="32,64")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results = []
    for res in [int(r) for r in args.resolutions.split(",")]:
        warmup, steps = (1, 2) if args.quick else ((2, 4) if res == 32 else (1, 3))
        r = bench(res, warmup, steps)
        r["threads"] = args.threads
        results.append(r)
        print(f"{r['case']:<20} {r['img_per_s']:8.1f} img/s (median step {r['img_per_s_median']:.1f})  "
              f"{r['ms_per_step']:8.1f} ms/step  "
              f"peak RSS {r['peak_rss_mb']:.0f} MiB", flush=True)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
