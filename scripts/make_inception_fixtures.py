#!/usr/bin/python3
"""A tiny TorchScript stand-in for inception-2015-12-05.pt, for tests/test_metrics_detectors.cpp.

Same calling convention as NVIDIA's file: forward(img, return_features=False, use_fp16=False,
no_output_bias=False) on uint8 NCHW RGB; submodules `layers` (the feature network) and
`output` (the class layer). Writes tests/data/metrics_tiny_inception.pt and
tests/data/metrics_tiny_inception_io.npz (input images, expected features and probabilities).
Run: /usr/bin/python3 scripts/make_inception_fixtures.py
"""
import os
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(7)


class Layers(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(8, eps=1e-3)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.conv2(x))
        return F.adaptive_avg_pool2d(x, 1)


class TinyInception(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = Layers()
        self.output = nn.Linear(16, 10)

    def forward(self, img, return_features: bool = False, use_fp16: bool = False,
                no_output_bias: bool = False):
        assert img.dim() == 4 and img.shape[1] == 3
        x = img.to(torch.float32)
        x = F.interpolate(x, size=(24, 24), mode="bilinear", align_corners=False)
        x = (x - 128) / 128
        features = self.layers(x).reshape(-1, 16)
        if return_features:
            return features
        if no_output_bias:
            logits = F.linear(features, self.output.weight)
        else:
            logits = self.output(features)
        return F.softmax(logits, 1)


m = TinyInception()
with torch.no_grad():
    m.layers.bn1.running_mean.uniform_(-0.2, 0.2)
    m.layers.bn1.running_var.uniform_(0.5, 2.0)
m.eval()
scripted = torch.jit.script(m)
img = torch.randint(0, 256, (5, 3, 20, 28), dtype=torch.uint8)
with torch.no_grad():
    feats = scripted(img, True)
    probs = scripted(img, False, False, True)
    probs_bias = scripted(img)
data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
scripted.save(os.path.join(data, "metrics_tiny_inception.pt"))
np.savez(os.path.join(data, "metrics_tiny_inception_io.npz"), images=img.numpy(),
         features=feats.numpy(), probs=probs.numpy(), probs_with_bias=probs_bias.numpy())
print("features", feats.shape, "probs", probs.shape)
