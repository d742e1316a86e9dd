#!/usr/bin/python3
"""A second, independent FID detector for the equal-time quality study (docs/performance.md).

gan's classifier detector (`gan train-classifier`) is a 3-stage 3x3 conv + batch-norm + ReLU
network with 128-d features, trained in C++. A configuration chosen with it alone could be tuned
to that one network, so every candidate is also scored here, with a network that shares nothing
with it: another framework (PyTorch's Python API), another architecture (a 5x5 stem, group-norm,
GELU, max-pooling, a 256-d fully connected feature layer, dropout), another seed, and
shift augmentation. It is kept out of the shipped configuration.

    second_detector.py train --data TRAIN_DIR --test TEST_DIR --out det.pt [--seed 1]
    second_detector.py fid --detector det.pt --real TRAIN_DIR --fake DIR [DIR ...] [--json F]

Folders are PNG trees as `gan data export --as-evaluated` writes them (labels from the sorted
class sub-folders), or flat folders of samples. FID is Fréchet distance of the 256-d features,
in float64 with scipy's sqrtm; the real statistics are cached next to the detector.
"""
import argparse
import glob
import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_pytorch_dcgan import import_torch_configured  # noqa: E402


def png_files(folder):
    files = sorted(glob.glob(os.path.join(folder, "**", "*.png"), recursive=True))
    if not files:
        raise SystemExit(f"{folder}: no PNG files")
    return files


def load_images(folder, with_labels=False):
    """uint8 [N, C, H, W] (and int64 labels from the class sub-folders when asked)."""
    import numpy as np
    from PIL import Image

    files = png_files(folder)
    images = []
    for f in files:
        a = np.asarray(Image.open(f))
        images.append(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))
    images = np.stack(images)
    if not with_labels:
        return images
    classes = sorted({os.path.relpath(os.path.dirname(f), folder) for f in files})
    index = {c: i for i, c in enumerate(classes)}
    labels = np.array([index[os.path.relpath(os.path.dirname(f), folder)] for f in files])
    return images, labels, classes


def build(nn, channels, classes):
    def conv(i, o, k):
        return [nn.Conv2d(i, o, k, padding=k // 2), nn.GroupNorm(8, o), nn.GELU()]

    features = nn.Sequential(
        *conv(channels, 16, 5), nn.MaxPool2d(2),
        *conv(16, 32, 3), *conv(32, 32, 3), nn.MaxPool2d(2),
        *conv(32, 64, 3), nn.MaxPool2d(2),
        nn.Flatten(), nn.LazyLinear(256), nn.GELU())
    head = nn.Sequential(nn.Dropout(0.3), nn.Linear(256, classes))
    return features, head


def to_input(torch, u8):
    return torch.from_numpy(u8).float() / 127.5 - 1


def train(args):
    torch, _ = import_torch_configured(args.threads, 1)
    import numpy as np

    nn, F = torch.nn, torch.nn.functional
    x, y, classes = load_images(args.data, with_labels=True)
    xt, yt, _ = load_images(args.test, with_labels=True)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    features, head = build(nn, x.shape[1], len(classes))
    features(to_input(torch, x[:2]))  # materialise the lazy layer
    params = list(features.parameters()) + list(head.parameters())
    steps = args.epochs * (len(x) // args.batch)
    opt = torch.optim.Adam(params, lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=steps)
    t0, step = time.perf_counter(), 0
    features.train(), head.train()
    for _ in range(args.epochs):
        order = rng.permutation(len(x))
        for b in range(len(x) // args.batch):
            idx = order[b * args.batch:(b + 1) * args.batch]
            xb = to_input(torch, x[idx])
            # Random shifts of up to 2 pixels (zero padding, then a random crop).
            dy, dx = rng.integers(0, 5, size=2)
            xb = F.pad(xb, (2, 2, 2, 2), value=-1.0)[:, :, dy:dy + x.shape[2], dx:dx + x.shape[3]]
            loss = F.cross_entropy(head(features(xb)), torch.from_numpy(y[idx]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 200 == 0:
                print(f"step {step}/{steps} loss {loss.item():.4f}", flush=True)
    features.eval(), head.eval()
    correct = 0
    with torch.no_grad():
        for b in range(0, len(xt), 1000):
            pred = head(features(to_input(torch, xt[b:b + 1000]))).argmax(1).numpy()
            correct += int((pred == yt[b:b + 1000]).sum())
    acc = correct / len(xt)
    torch.save({"features": features.state_dict(), "head": head.state_dict(),
                "channels": int(x.shape[1]), "classes": classes, "test_accuracy": acc,
                "seed": args.seed, "epochs": args.epochs}, args.out)
    print(f"test accuracy {acc:.4f} after {steps} steps in {time.perf_counter() - t0:.0f} s; "
          f"wrote {args.out}")


def feature_stats(torch, features, images):
    import numpy as np

    out = []
    with torch.no_grad():
        for b in range(0, len(images), 1000):
            out.append(features(to_input(torch, images[b:b + 1000])).double().numpy())
    f = np.concatenate(out)
    return f.mean(0), np.cov(f, rowvar=False)


def frechet(mu1, s1, mu2, s2):
    import numpy as np
    import scipy.linalg

    covmean, _ = scipy.linalg.sqrtm(s1 @ s2, disp=False)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2)
                 - 2 * np.trace(covmean.real))


def fid(args):
    torch, _ = import_torch_configured(args.threads, 1)
    import numpy as np

    det = torch.load(args.detector)
    features, _ = build(torch.nn, det["channels"], len(det["classes"]))
    features(torch.zeros(1, det["channels"], 32, 32))
    features.load_state_dict(det["features"])
    features.eval()
    real_files = png_files(args.real)
    key = hashlib.sha256(("\n".join(real_files) + args.detector).encode()).hexdigest()[:16]
    cache = f"{args.detector}.real-{key}.npz"
    if os.path.exists(cache):
        z = np.load(cache)
        mu_r, s_r = z["mu"], z["sigma"]
    else:
        mu_r, s_r = feature_stats(torch, features, load_images(args.real))
        np.savez(cache, mu=mu_r, sigma=s_r)
    results = []
    for folder in args.fake:
        mu_f, s_f = feature_stats(torch, features, load_images(folder))
        r = {"fake": folder, "num_fake": len(png_files(folder)), "num_real": len(real_files),
             "fid_second_detector": frechet(mu_r, s_r, mu_f, s_f),
             "detector_test_accuracy": det["test_accuracy"]}
        results.append(r)
        print(json.dumps(r), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--data", required=True)
    t.add_argument("--test", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--epochs", type=int, default=2)
    t.add_argument("--batch", type=int, default=128)
    t.add_argument("--lr", type=float, default=3e-3)
    f = sub.add_parser("fid")
    f.add_argument("--detector", required=True)
    f.add_argument("--real", required=True)
    f.add_argument("--fake", required=True, nargs="+")
    f.add_argument("--json")
    for p in (t, f):
        p.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    train(args) if args.cmd == "train" else fid(args)


if __name__ == "__main__":
    main()
