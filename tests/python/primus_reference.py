"""An independent PyTorch definition of the PRIMUS encoder (MW2StackRNNPoolingMultihead and the
single-head MW2StackRNNPooling), written from ../shared/PRIMUS.md for the converter and parity
tests and for bench/bench_model_python.py. Also a minimal safetensors reader/writer that does not
share code with tools/convert_primus_ckpt.py or src/model/safetensors.cpp."""

import json
import struct

import numpy as np
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, in_ch, out_ch, kernel, pool):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(in_ch, out_ch, kernel, dilation=2, bias=False), pool)

    def forward(self, x):
        return self.net(x)


def _stack(input_dim=32, size_embeddings=512):
    return nn.ModuleList([
        nn.GroupNorm(2, 6),
        Block(6, input_dim, 10, nn.MaxPool1d(3)),
        Block(input_dim, input_dim, 5, nn.MaxPool1d(3)),
        Block(input_dim, input_dim, 5, nn.AdaptiveAvgPool1d(input_dim)),
        nn.GroupNorm(4, input_dim),
        nn.GRU(input_dim, size_embeddings, num_layers=1, batch_first=True),
    ])


def _run_stack(layers, x):
    for layer in layers[:5]:
        x = layer(x)
    _, h_n = layers[5](x)  # batch_first: the 32 conv channels are the GRU's time steps
    return h_n[0]


class MW2StackRNNPoolingMultihead(nn.Module):
    def __init__(self, size_embeddings=512):
        super().__init__()
        self.backbone = _stack(size_embeddings=size_embeddings)
        self.ssl_head = nn.Linear(size_embeddings, size_embeddings)
        self.mmcl_head = nn.Linear(size_embeddings, size_embeddings)

    def forward(self, x):
        emb = _run_stack(self.backbone, x)
        return {"emb": emb, "ssl": self.ssl_head(emb), "mmcl": self.mmcl_head(emb)}


class MW2StackRNNPooling(nn.Module):
    def __init__(self, size_embeddings=512):
        super().__init__()
        self.net = _stack(size_embeddings=size_embeddings)

    def forward(self, x):
        return _run_stack(self.net, x)


def read_safetensors(path):
    """Returns (metadata dict, {name: np.ndarray float32})."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, e in header.items():
        assert e["dtype"] == "F32", (name, e["dtype"])
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(data[base + b:base + end], dtype="<f4").reshape(e["shape"])
    return meta, out


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        blob = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(blob)]}
        off += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
