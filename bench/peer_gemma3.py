#!/usr/bin/env python3
"""peer_gemma3.py - the PyTorch peer of bonsai-train's CUDA trainer: Hugging
Face transformers' Gemma3ForCausalLM trained with torch.compile, SDPA
attention, bf16 autocast (fp32 master weights), fused AdamW and gradient
clipping, on random tokens. One config per process so that peak memory is
its own.

    python3 bench/peer_gemma3.py CONFIG B T STEPS

CONFIG: small (vocab 32768), seed (vocab 262144), gemma3-1b. Prints one JSON
line; MFU uses the formula of bench/gpu_bench.c (6 N + attention FLOPs per
token over 989 TFLOP/s)."""
import json
import sys
import time

import torch
from transformers import Gemma3ForCausalLM, Gemma3TextConfig

SHAPES = {  # V, d, ff, L, Hq, Hkv, hd
    "small": (32768, 768, 3072, 12, 12, 4, 64),
    "seed": (262144, 768, 3072, 26, 12, 3, 64),
    "gemma3-1b": (262144, 1152, 6912, 26, 4, 1, 256),
}
WINDOW = 512


def flops_per_token(n_params, L, Hq, hd, T, layer_types):
    att = 0.0
    for lt in layer_types:
        ctx = sum(min(t + 1, WINDOW) if lt == "sliding_attention" else t + 1 for t in range(T))
        att += ctx / T
    return 6 * n_params + 12.0 * Hq * hd * att


def main():
    name, B, T, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    V, d, ff, L, Hq, Hkv, hd = SHAPES[name]
    layer_types = ["full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(L)]
    cfg = Gemma3TextConfig(
        vocab_size=V, hidden_size=d, intermediate_size=ff, num_hidden_layers=L,
        num_attention_heads=Hq, num_key_value_heads=Hkv, head_dim=hd, sliding_window=WINDOW,
        layer_types=layer_types, query_pre_attn_scalar=hd, max_position_embeddings=max(T, 8192),
        rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1e6},
                         "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}},
        use_cache=False, attn_implementation="sdpa")
    torch.manual_seed(0)
    model = Gemma3ForCausalLM(cfg).cuda()
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1,
                            fused=True)
    cmodel = torch.compile(model)
    x = torch.randint(0, V, (B, T), device="cuda")

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = cmodel(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    t0 = time.time()
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    warm = time.time() - t0
    torch.cuda.reset_peak_memory_stats()
    t0 = time.time()
    for _ in range(steps):
        loss = step()
    torch.cuda.synchronize()
    dt = (time.time() - t0) / steps
    tps = B * T / dt
    F = flops_per_token(n_params, L, Hq, hd, T, layer_types)
    print(json.dumps({
        "impl": "pytorch-peer", "config": name, "vocab": V, "params": n_params, "batch": B,
        "seq": T, "ms_per_step": round(dt * 1e3, 2), "tokens_per_s": round(tps),
        "flops_per_token": F, "mfu": round(tps * F / 989e12, 4),
        "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
        "loss_last": round(loss.item(), 4), "warmup_s": round(warm, 1),
        "device": torch.cuda.get_device_name(), "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
