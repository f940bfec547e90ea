#!/usr/bin/python3
"""Eager-PyTorch twin of bench_model.cpp: the same network (PRIMUS encoder + L2-normalise +
Linear head, 5 classes, random weights), T = 250, batch 1, 8, 32, 64, 128 with 1 and 2 intra-op
threads under torch.inference_mode(). Prints a Markdown table (median ms per call, windows/s).

    /usr/bin/python3 bench/bench_model_python.py [--seconds S] [--device cpu|cuda]
        [--threads 1 2] [--batches 1 8 32 64 128] [--json OUT]
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
import primus_reference as ref  # noqa: E402


class Classifier(nn.Module):
    def __init__(self, classes=5):
        super().__init__()
        self.encoder = ref.MW2StackRNNPoolingMultihead()
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        z = nn.functional.normalize(self.encoder(x)["mmcl"], dim=1)
        return torch.softmax(self.fc(z), 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32, 64, 128])
    p.add_argument("--json", help="write the rows here too")
    args = p.parse_args()
    rows = []
    torch.manual_seed(1)
    model = Classifier().eval().to(args.device)
    print(f"torch {torch.__version__}, {torch.get_num_interop_threads()} inter-op threads")
    print("| impl | batch | threads | median ms | windows/s |\n|---|---|---|---|---|")
    for threads in args.threads:
        torch.set_num_threads(threads)
        for batch in args.batches:
            x = torch.randn(batch, 6, 250)
            with torch.inference_mode():
                for _ in range(5):
                    model(x.to(args.device)).cpu()
                times = []
                start = time.perf_counter()
                while len(times) < 5 or time.perf_counter() - start < args.seconds:
                    t0 = time.perf_counter()
                    model(x.to(args.device)).cpu()
                    times.append((time.perf_counter() - t0) * 1e3)
            ms = statistics.median(times)
            print(f"| python eager ({args.device}) | {batch} | {threads} | {ms:.3f} | "
                  f"{batch * 1e3 / ms:.0f} |", flush=True)
            rows.append({"batch": batch, "threads": threads, "median_ms": ms,
                         "windows_per_s": batch * 1e3 / ms})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
