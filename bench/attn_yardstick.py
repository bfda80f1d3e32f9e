#!/usr/bin/env python3
"""attn_yardstick.py - the fused attention of PyTorch's SDPA (cuDNN and
FlashAttention-2 backends, each forced) at the attention shapes of
bonsai-train's configs: the yardstick for lib/cuda's flash attention
(`check_kernels bench` times ours at the same shapes in the same call).

    python3 bench/attn_yardstick.py

Causal attention over the whole sequence only (SDPA has no sliding window
argument), i.e. the global layers' shape. Forward and forward+backward are
timed with CUDA events (median of 20 after 3 warm-ups) on random bf16
inputs (cudnn-det: with torch.use_deterministic_algorithms); K and V are
repeated to the query heads for backends without grouped-query support.
Also reports whether two backward passes give the same bits (what
bonsai-train needs by default). One JSON line per case.
FLOPs: causal ((T+1)/2 keys a query), 4 Hq hd ctx per token forward and
2.5 times that backward (5 products against 2)."""
import json
import statistics

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

SHAPES = [  # name, B, T, Hq, Hkv, hd
    ("small", 32, 1024, 12, 4, 64),
    ("small-T4096", 8, 4096, 12, 4, 64),
    ("gemma3-1b", 8, 1024, 4, 1, 256),
]
BACKENDS = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION,
            # cuDNN with torch.use_deterministic_algorithms(True): whether its
            # backward can repeat its bits (what bonsai-train's default needs)
            "cudnn-det": SDPBackend.CUDNN_ATTENTION}


def timed(fn, reps=20):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b))
    return statistics.median(ts)


def case(name, B, T, Hq, Hkv, hd, backend):
    g = torch.Generator(device="cuda").manual_seed(1)
    q = torch.randn(B, Hq, T, hd, device="cuda", dtype=torch.bfloat16, generator=g)
    k = torch.randn(B, Hkv, T, hd, device="cuda", dtype=torch.bfloat16, generator=g)
    v = torch.randn(B, Hkv, T, hd, device="cuda", dtype=torch.bfloat16, generator=g)
    do = torch.randn(B, Hq, T, hd, device="cuda", dtype=torch.bfloat16, generator=g)
    k = k.repeat_interleave(Hq // Hkv, dim=1).contiguous()
    v = v.repeat_interleave(Hq // Hkv, dim=1).contiguous()
    q.requires_grad_(True), k.requires_grad_(True), v.requires_grad_(True)
    scale = hd ** -0.5
    torch.use_deterministic_algorithms(backend.endswith("-det"))
    with sdpa_kernel([BACKENDS[backend]]):
        def fwd():
            return F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale)

        def fwd_bwd():
            o = fwd()
            return torch.autograd.grad(o, (q, k, v), do)

        t_f = timed(lambda: fwd())
        t_fb = timed(fwd_bwd)
        g1, g2 = fwd_bwd(), fwd_bwd()
        same = all(torch.equal(a, b) for a, b in zip(g1, g2))
    ctx = (T + 1) / 2
    fl_f = 4.0 * B * T * Hq * hd * ctx
    return {"impl": "sdpa-" + backend, "shape": name, "B": B, "T": T, "Hq": Hq, "Hkv": Hkv,
            "hd": hd, "fwd_ms": round(t_f, 3), "bwd_ms": round(t_fb - t_f, 3),
            "fwd_tflops": round(fl_f / t_f / 1e9, 1),
            "bwd_tflops": round(2.5 * fl_f / (t_fb - t_f) / 1e9, 1),
            "bwd_repeatable": same, "torch": torch.__version__,
            "cudnn": torch.backends.cudnn.version()}


def main():
    for shape in SHAPES:
        for backend in BACKENDS:
            try:
                r = case(*shape, backend)
            except Exception as e:  # a backend that refuses the shape
                r = {"impl": "sdpa-" + backend, "shape": shape[0], "error": str(e)[:200]}
            print(json.dumps(r), flush=True)
            torch.use_deterministic_algorithms(False)
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
