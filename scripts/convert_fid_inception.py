#!/usr/bin/python3
"""Converts pytorch-fid's FID Inception weights into a file C++ reads with torch::pickle_load.

pytorch-fid's pt_inception-2015-12-05-6726825d.pth is an OrderedDict in the legacy
serialisation; torch::pickle_load needs a plain dict saved in zip format. Keys are unchanged
(pytorch-fid's / torchvision's names, e.g. Mixed_5b.branch_pool.conv.weight).

usage: /usr/bin/python3 scripts/convert_fid_inception.py \
           pt_inception-2015-12-05-6726825d.pth weights/pt_inception-2015-12-05.zip.pt
Download (on a machine with internet):
  https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth
"""
import sys
import torch

if len(sys.argv) != 3:
    sys.exit(__doc__)
sd = torch.load(sys.argv[1], map_location="cpu")
if "state_dict" in sd and not torch.is_tensor(sd["state_dict"]):
    sd = sd["state_dict"]
plain = {k: v.detach().clone().contiguous() for k, v in sd.items() if torch.is_tensor(v)}
torch.save(plain, sys.argv[2], _use_new_zipfile_serialization=True)
print("wrote %d tensors to %s" % (len(plain), sys.argv[2]))
