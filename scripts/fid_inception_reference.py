#!/usr/bin/python3
"""pytorch-fid's FID InceptionV3 in PyTorch's Python API with random weights: the reference
for the C++ `inception_native` parity test (tests/test_metrics_detectors.cpp).

Written from the published architecture (torchvision Inception3, 1008 classes, no aux logits,
BN eps 1e-3; pytorch-fid's FIDInceptionA/C/E_1 average pools with count_include_pad=False and
FIDInceptionE_2's max pool), without torchvision. The weights (~95 MB) are too large to
commit, so the test runs this script into a temporary folder when /usr/bin/python3 has torch.

usage: /usr/bin/python3 scripts/fid_inception_reference.py OUT_DIR [--n 2] [--size 64]
writes OUT_DIR/weights.pt (plain dict, zip format: what torch::pickle_load reads),
OUT_DIR/images.npy (uint8 NCHW), OUT_DIR/features.npy [n, 2048], OUT_DIR/probs.npy [n, 1008]
(softmax of the bias-free logits).
"""
import argparse
import os
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicConv2d(nn.Module):
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def avg3(x):
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class A(nn.Module):
    def __init__(self, cin, pool):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool, kernel_size=1)

    def forward(self, x):
        return torch.cat([self.branch1x1(x), self.branch5x5_2(self.branch5x5_1(x)),
                          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          self.branch_pool(avg3(x))], 1)


class B(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        return torch.cat([self.branch3x3(x),
                          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          F.max_pool2d(x, 3, stride=2)], 1)


class C(nn.Module):
    def __init__(self, cin, c7):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_3(self.branch7x7dbl_2(self.branch7x7dbl_1(x)))
        bd = self.branch7x7dbl_5(self.branch7x7dbl_4(bd))
        return torch.cat([self.branch1x1(x), b7, bd, self.branch_pool(avg3(x))], 1)


class D(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7,
                          F.max_pool2d(x, 3, stride=2)], 1)


class E(nn.Module):
    def __init__(self, cin, max_pool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        p = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else avg3(x)
        return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(p)], 1)


class FIDInception(nn.Module):
    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = A(192, 32)
        self.Mixed_5c = A(256, 64)
        self.Mixed_5d = A(288, 64)
        self.Mixed_6a = B(288)
        self.Mixed_6b = C(768, 128)
        self.Mixed_6c = C(768, 160)
        self.Mixed_6d = C(768, 160)
        self.Mixed_6e = C(768, 192)
        self.Mixed_7a = D(768)
        self.Mixed_7b = E(1280, False)
        self.Mixed_7c = E(2048, True)
        self.fc = nn.Linear(2048, 1008)

    def forward(self, img):
        # pytorch-fid's input pipeline: [0, 1], bilinear 299 (align_corners=False), 2x - 1.
        x = img.float() / 255.0
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = 2 * x - 1
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Mixed_6a(self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x))))
        x = self.Mixed_6e(self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(x))))
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
        return F.adaptive_avg_pool2d(x, (1, 1)).flatten(1)


class ScriptedWrapper(nn.Module):
    """NVIDIA's calling convention around the network, for timing the TorchScript detector."""

    def __init__(self, net):
        super().__init__()
        self.layers = net
        self.output = net.fc

    def forward(self, img, return_features: bool = False, use_fp16: bool = False,
                no_output_bias: bool = False):
        features = self.layers(img)
        if return_features:
            return features
        if no_output_bias:
            return F.softmax(F.linear(features, self.output.weight), 1)
        return F.softmax(self.output(features), 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=2)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--script", action="store_true",
                    help="also write OUT_DIR/scripted.pt (TorchScript, NVIDIA's signature)")
    ap.add_argument("--bench", type=int, default=0,
                    help="time N images through eager and frozen TorchScript and print img/s")
    ap.add_argument("--threads", type=int, default=0, help="0 = all cores")
    ap.add_argument("--repeat", type=int, default=1,
                    help="with --bench: time each model this many times and print the best")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads or max(1, os.cpu_count() or 1))
    m = FIDInception()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
                mod.momentum = 1.0  # running stats = one calibration batch's statistics
        # Calibrate BN on random images so activations stay O(1) through the whole depth.
        m.train()
        m(torch.randint(0, 256, (4, 3, 75, 75), dtype=torch.uint8))
        m.eval()
        img = torch.randint(0, 256, (a.n, 3, a.size, a.size), dtype=torch.uint8)
        feats = m(img)
        probs = F.softmax(feats @ m.fc.weight.t(), 1)
    os.makedirs(a.out, exist_ok=True)
    sd = {k: v.clone() for k, v in m.state_dict().items()}  # plain dict, not OrderedDict
    torch.save(sd, os.path.join(a.out, "weights.pt"))
    np.save(os.path.join(a.out, "images.npy"), img.numpy())
    np.save(os.path.join(a.out, "features.npy"), feats.numpy())
    np.save(os.path.join(a.out, "probs.npy"), probs.numpy())
    if a.script:
        torch.jit.script(ScriptedWrapper(m).eval()).save(os.path.join(a.out, "scripted.pt"))
    if a.bench:
        import time
        x = torch.randint(0, 256, (a.bench, 3, 32, 32), dtype=torch.uint8)
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(m.eval())))
        with torch.no_grad():
            for name, f in [("python eager (pytorch-fid)", m), ("python frozen+optimized", frozen)]:
                f(x[:2]); f(x[:2])
                best = float("inf")
                for _ in range(a.repeat):
                    t = time.time()
                    f(x)
                    best = min(best, time.time() - t)
                print("%s: %.2f img/s (%d threads)" % (name, a.bench / best,
                                                       torch.get_num_threads()))
    print("features mean %.4f std %.4f" % (feats.mean().item(), feats.std().item()))


if __name__ == "__main__":
    main()
