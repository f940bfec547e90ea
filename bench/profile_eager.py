#!/usr/bin/python3
"""Where eager PyTorch spends its time on the PRIMUS encoder (the profile behind the native path,
docs/performance.md): wall time per layer, then torch's operator profile.

    /usr/bin/python3 bench/profile_eager.py [THREADS=1] [BATCH=128]
"""
import os, sys, time
import torch
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
import primus_reference as ref  # noqa: E402
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
torch.manual_seed(1)
m = ref.MW2StackRNNPoolingMultihead().eval()
fc = torch.nn.Linear(512, 5)
B = int(sys.argv[2]) if len(sys.argv) > 2 else 128
x = torch.randn(B, 6, 250)
layers = list(m.backbone)
with torch.inference_mode():
    for _ in range(3): m(x)
    acc = {}
    for rep in range(10):
        h = x
        for i, l in enumerate(layers[:5]):
            t0 = time.perf_counter(); h = l(h); acc[i] = acc.get(i, 0) + time.perf_counter() - t0
        t0 = time.perf_counter(); _, hn = layers[5](h); acc[5] = acc.get(5, 0) + time.perf_counter() - t0
        t0 = time.perf_counter(); e = m.mmcl_head(hn[0]); s = m.ssl_head(hn[0]); p = torch.softmax(fc(torch.nn.functional.normalize(e, dim=1)), 1); acc[6] = acc.get(6, 0) + time.perf_counter() - t0
    tot = sum(acc.values())
    names = ["GroupNorm(2,6)", "conv1+pool", "conv2+pool", "conv3+adaptive", "GroupNorm(4,32)", "GRU", "heads+softmax"]
    for i in range(7):
        print(f"{names[i]:18s} {acc[i]/10*1e3:8.2f} ms  {100*acc[i]/tot:5.1f} %")
    print(f"total {tot/10*1e3:.2f} ms/batch of {B} = {B*10/tot:.0f} windows/s")
    with torch.autograd.profiler.profile() as prof:
        for _ in range(3): m(x)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14))
