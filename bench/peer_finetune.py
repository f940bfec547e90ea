#!/usr/bin/env python3
"""The plain PyTorch peer of primusd's fine-tune: what a practitioner writes by hand.

Reads the captures of a primusd capture store (SQLite), cuts the SAME windows the daemon's dataset
does (src/training/dataset.h: windows of --length every --stride samples that hold a short
labelled span whole or lie inside a long one), and trains the reference PRIMUS encoder
(tests/python/primus_reference.py, from random weights as the daemon's base) with a linear head
on the L2-normalised mmcl embedding (primusd's "linear" head, so the result is a primusd
classifier file), AdamW on encoder and head, cross-entropy, shuffled batches, a fixed number of
epochs, no early stopping, no augmentation. Writes a primus-classifier-1 safetensors file that
`primusctl evaluate --weights` scores through the daemon's own chain, and prints one JSON line.

    /usr/bin/python3 bench/peer_finetune.py --db train.db --labels null,punch,flex --out peer.safetensors
"""
import argparse
import json
import os
import sqlite3
import struct
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
from primus_reference import MW2StackRNNPoolingMultihead  # noqa: E402


def window_starts(n, first, count, length, stride):
    if n < length:
        return []
    lo, hi = 0, n - length
    if count < length:
        lo, hi = max(lo, first + count - length), min(hi, first)
    else:
        lo, hi = max(lo, first), min(hi, first + count - length)
    if hi < lo:
        return []
    out = list(range(lo, hi + 1, stride))
    if out[-1] != hi:
        out.append(hi)
    return out


def load_windows(db, labels, length, stride):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    xs, ys = [], []
    for label, n, conv, blob in con.execute(
            "SELECT label, n_samples, conversion, data FROM captures ORDER BY id"):
        if label not in labels:
            continue
        data = np.frombuffer(blob, dtype="<f4").reshape(6, n)
        c = json.loads(conv or "{}")
        first, count = c.get("label_first", 0), c.get("label_count", n)
        if not (isinstance(first, int) and isinstance(count, int) and count > 0):
            first, count = 0, n
        for s in window_starts(n, first, count, length, stride):
            xs.append(data[:, s:s + length])
            ys.append(labels.index(label))
    return np.stack(xs).astype(np.float32), np.array(ys, dtype=np.int64)


class Classifier(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.enc = MW2StackRNNPoolingMultihead()
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        z = nn.functional.normalize(self.enc(x)["mmcl"], p=2, dim=1, eps=1e-12)
        return self.fc(z)


def write_classifier(path, model, labels, length, rate):
    tensors = {k: v for k, v in model.enc.state_dict().items()}
    tensors["head.fc.weight"] = model.fc.weight
    tensors["head.fc.bias"] = model.fc.bias
    meta = {"primus.format": "primus-classifier-1", "primus.labels": json.dumps(labels),
            "primus.embedding": "mmcl", "primus.window_length": str(length),
            "primus.rate_hz": repr(float(rate)), "primus.version": "peer-pytorch",
            "primus.head": "linear"}
    header, blobs, off = {"__metadata__": meta}, [], 0
    for name, t in tensors.items():
        blob = np.ascontiguousarray(t.detach().cpu().numpy(), dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(blob)]}
        off += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(path + ".tmp", path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--labels", required=True, help="class order, comma-separated (null first)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-2)  # torch's AdamW default
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--length", type=int, default=250)
    ap.add_argument("--stride", type=int, default=25)
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    labels = a.labels.split(",")
    x, y = load_windows(a.db, labels, a.length, a.stride)
    model = Classifier(len(labels))
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    t0 = time.time()
    g = torch.Generator().manual_seed(a.seed)
    for _ in range(a.epochs):
        model.train()
        for idx in torch.randperm(len(yt), generator=g).split(a.batch):
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    seconds = time.time() - t0
    model.eval()
    with torch.no_grad():
        train_acc = float((model(xt).argmax(1) == yt).float().mean())
    write_classifier(a.out, model, labels, a.length, a.rate)
    print(json.dumps({"out": a.out, "windows": int(len(y)), "epochs": a.epochs,
                      "seconds": seconds, "train_accuracy": train_acc}))


if __name__ == "__main__":
    main()
