#!/usr/bin/python3
"""Train scripts/bench_pytorch_dcgan.py's DCGAN on real images for a fixed wall-clock, in
PyTorch's Python API, and write its samples: the baseline of the equal-time quality study in
docs/performance.md.

The data is a folder of PNGs written by `gan data export --as-evaluated`, i.e. exactly the
pixels gan trains and evaluates on. The model and step are the benchmark script's (same
networks, N(0, 0.02) init, non-saturating loss), run the fastest way measured on this CPU (the
PyTorch tutorial's single G forward per step; `--mode` picks fp32, channels_last, bf16 (CPU
autocast, losses in fp32) or bf16_channels_last: run the fastest on the CPU at hand), with the
same thread and malloc hygiene as gan (BLAS at 1 thread before torch loads). Defaults are gan's shipped
configs/fashion_mnist_dcgan.yaml: width 32, batch 64, Adam 2e-4 (0.5, 0.999), an EMA of G with
half-life 2 kimg and ramp-up 0.05. Samples come from the EMA generator in eval mode, seeds
drawn from a seeded torch generator, written as 8-bit PNGs (Pillow) for `gan evaluate --fake DIR` and
scripts/second_detector.py.

    /usr/bin/python3 scripts/train_pytorch_dcgan.py --data DIR --seconds 600 --out DIR
"""
import argparse
import os
import sys
import time

# numpy is imported after torch (import_torch_configured): importing it first would load
# OpenBLAS before its thread count is set.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_pytorch_dcgan import build_networks, dcgan_init, import_torch_configured  # noqa: E402
from second_detector import load_images  # noqa: E402


def write_pngs(images_u8, folder):
    """[N, C, H, W] uint8 -> folder/seed000000.png, ..."""
    from PIL import Image

    os.makedirs(folder, exist_ok=True)
    for i, img in enumerate(images_u8):
        a = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
        Image.fromarray(a).save(os.path.join(folder, f"seed{i:06d}.png"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="PNG folder (gan data export --as-evaluated)")
    ap.add_argument("--out", required=True, help="folder for the samples and train.json")
    ap.add_argument("--seconds", type=float, default=600, help="training wall-clock (default 600)")
    ap.add_argument("--num", type=int, default=10000, help="samples written (default 10000)")
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--ema-kimg", type=float, default=2.0, help="0 = no EMA")
    ap.add_argument("--ema-rampup", type=float, default=0.05)
    ap.add_argument("--mode", choices=("fp32", "channels_last", "bf16", "bf16_channels_last"),
                    default="fp32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--blas-threads", type=int, default=1)
    args = ap.parse_args()

    torch, _ = import_torch_configured(args.threads, args.blas_threads)
    nn, F = torch.nn, torch.nn.functional
    data = torch.from_numpy(load_images(args.data))
    n, channels, res = data.shape[0], data.shape[1], data.shape[2]
    print(f"data: {n} images {res}x{res}x{channels} from {args.data}", flush=True)

    torch.manual_seed(args.seed)
    g, d = build_networks(nn, res, 100, args.width, channels)
    g_ema, _ = build_networks(nn, res, 100, args.width, channels)

    g.apply(lambda m: dcgan_init(nn, m))
    d.apply(lambda m: dcgan_init(nn, m))
    g_ema.load_state_dict(g.state_dict())
    g_ema.requires_grad_(False)
    fmt = torch.channels_last if args.mode.endswith("channels_last") else torch.contiguous_format
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.mode.startswith("bf16"))
    for m in (g, d, g_ema):
        m.to(memory_format=fmt)
    opt_g = torch.optim.Adam(g.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=args.lr, betas=(0.5, 0.999))

    nimg, step, epoch_order, pos = 0, 0, torch.randperm(n), 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < args.seconds:
        if pos + args.batch > n:
            epoch_order, pos = torch.randperm(n), 0
        idx = epoch_order[pos:pos + args.batch]
        pos += args.batch
        reals = (data[idx].float() / 127.5 - 1).contiguous(memory_format=fmt)
        z = torch.randn(args.batch, 100, 1, 1).contiguous(memory_format=fmt)
        # The tutorial's step: one G forward, detached for D, reused for G.
        with autocast:
            fake = g(z)
        d.requires_grad_(True)
        opt_d.zero_grad(set_to_none=True)
        with autocast:
            logits_real, logits_fake = d(reals).float(), d(fake.detach()).float()
        loss_d = F.softplus(-logits_real).mean() + F.softplus(logits_fake).mean()
        loss_d.backward()
        opt_d.step()
        d.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        with autocast:
            logits_fake = d(fake).float()
        loss_g = F.softplus(-logits_fake).mean()
        loss_g.backward()
        opt_g.step()
        nimg += args.batch
        step += 1
        with torch.no_grad():
            if args.ema_kimg > 0:
                ema_nimg = args.ema_kimg * 1000
                if args.ema_rampup > 0:
                    ema_nimg = min(ema_nimg, nimg * args.ema_rampup)
                beta = 0.5 ** (args.batch / max(ema_nimg, 1e-8))
            else:
                beta = 0.0
            for pe, p in zip(g_ema.parameters(), g.parameters()):
                pe.copy_(p.lerp(pe, beta))
            for be, b in zip(g_ema.buffers(), g.buffers()):
                be.copy_(b)
        if step % 200 == 0:
            el = time.perf_counter() - t0
            print(f"step {step} kimg {nimg / 1000:.1f} {nimg / el:.0f} img/s "
                  f"loss_d {loss_d.item():.4f} loss_g {loss_g.item():.4f}", flush=True)
    seconds = time.perf_counter() - t0
    print(f"trained {step} steps, {nimg / 1000:.1f} kimg in {seconds:.0f} s "
          f"({nimg / seconds:.0f} img/s)", flush=True)

    g_ema.eval()
    gen = torch.Generator().manual_seed(args.seed + 1)
    images = []
    with torch.no_grad():
        for start in range(0, args.num, 500):
            z = torch.randn(min(500, args.num - start), 100, 1, 1, generator=gen)
            x = g_ema(z.contiguous(memory_format=fmt))  # fp32, as gan generate samples
            images.append(((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).contiguous())
    write_pngs(torch.cat(images).numpy(), args.out)
    with open(os.path.join(args.out, "train.json"), "w") as f:
        import json

        json.dump({"steps": step, "kimg": nimg / 1000, "seconds": seconds,
                   "img_per_s": nimg / seconds, "args": vars(args)}, f, indent=2)
    print(f"wrote {args.num} samples to {args.out}")


if __name__ == "__main__":
    main()
