"""Training-time PyTorch modules for kstt-demo-en, parameter names = Kyutai checkpoint keys.

Mimi encoder: SEANet (causal convs, zero left padding) -> transformer at 25 Hz (LayerNorm,
LayerScale, interleaved RoPE, streaming-exact attention window) -> downsample (k4 s2, replicate
left padding) -> split RVQ (1 semantic + n_q-1 acoustic levels, EMA codebooks). Whole-clip
forward = Kyutai's streaming forward for clips that are whole 1920-sample frames.

STT LM: x_s = text_emb[text_{s-1}] + audio_{s-1}; pre-norm RMSNorm (eps 1e-8) transformer with
SiLU gating, interleaved RoPE, attention within the engine's KV-ring window (`context` steps,
itself included; positions keep counting); out_norm; text_linear and 4 extra (VAD) heads. The audio input is
A q_semantic + B q_acoustic (q = quantized projections), so at export the per-codebook
embedding tables are exactly emb_0 = E_first A^T, emb_k = E_rest_{k-1} B^T.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

PAD, EPAD = 3, 0


def rope_interleaved(x, max_period):
    """x: [B, H, T, hd]; positions 0..T-1; rotation of adjacent pairs, computed in f32."""
    B, H, T, hd = x.shape
    i = torch.arange(hd // 2, device=x.device, dtype=torch.float32)
    freqs = torch.exp(i * (-math.log(max_period) * 2 / hd))
    pos = torch.arange(T, device=x.device, dtype=torch.float32)
    ang = pos[:, None] * freqs[None, :]
    c, s = torch.cos(ang), torch.sin(ang)
    xr = x.float().reshape(B, H, T, hd // 2, 2)
    a, b = xr[..., 0], xr[..., 1]
    out = torch.stack([a * c - b * s, a * s + b * c], dim=-1).reshape(B, H, T, hd)
    return out.to(x.dtype)


def attention(q, k, v, mask):
    """q,k,v: [B,H,T,hd]; mask: bool [T,T] True = may attend."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    w = (q.float() @ k.float().transpose(-1, -2)) / math.sqrt(q.shape[-1])
    w = w.masked_fill(~mask, float("-inf")).softmax(-1)
    return (w @ v.float()).to(q.dtype)


class Holder(nn.Module):
    pass


def cconv(cin, cout, k, stride=1, bias=True):
    """Module whose parameters are <name>.conv.conv.weight/.bias (Kyutai StreamingConv1d)."""
    m = Holder()
    m.conv = Holder()
    m.conv.conv = nn.Conv1d(cin, cout, k, stride, bias=bias)
    m.k, m.stride = k, stride
    return m


def run_cconv(m, x, replicate=False):
    p = m.k - m.stride
    if p > 0:
        if replicate:
            x = torch.cat([x[:, :, :1].expand(-1, -1, p), x], dim=2)
        else:
            x = F.pad(x, (p, 0))
    return m.conv.conv(x)


class ResBlock(nn.Module):
    def __init__(self, c, k=3, compress=2):
        super().__init__()
        h = c // compress
        self.block = nn.ModuleList([nn.ELU(), cconv(c, h, k), nn.ELU(), cconv(h, c, 1)])

    def forward(self, x):
        y = run_cconv(self.block[1], F.elu(x))
        y = run_cconv(self.block[3], F.elu(y))
        return x + y


class SEANetEncoder(nn.Module):
    def __init__(self, n_filters, dimension, ratios=(8, 6, 5, 4), kernel=7, last_kernel=3):
        super().__init__()
        mods = [cconv(1, n_filters, kernel)]
        mult = 1
        for r in reversed(ratios):
            c = n_filters * mult
            mods += [ResBlock(c), nn.ELU(), cconv(c, 2 * c, 2 * r, r)]
            mult *= 2
        mods += [nn.ELU(), cconv(n_filters * mult, dimension, last_kernel)]
        self.model = nn.ModuleList(mods)

    def forward(self, x):
        for m in self.model:
            if isinstance(m, nn.ELU):
                x = F.elu(x)
            elif isinstance(m, ResBlock):
                x = m(x)
            else:
                x = run_cconv(m, x)
        return x


class MimiAttn(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.in_proj_weight = nn.Parameter(torch.randn(3 * d, d) / math.sqrt(d))
        self.out_proj = nn.Linear(d, d, bias=False)
        self.heads = heads


class Scale(nn.Module):
    def __init__(self, d, init):
        super().__init__()
        self.scale = nn.Parameter(torch.full((d,), init))


def self_attention(attn, x, mask, max_period):
    B, T, d = x.shape
    H = attn.heads
    qkv = F.linear(x, attn.in_proj_weight).view(B, T, 3, H, d // H).permute(2, 0, 3, 1, 4)
    q = rope_interleaved(qkv[0], max_period)
    k = rope_interleaved(qkv[1], max_period)
    o = attention(q, k, qkv[2], mask)
    return attn.out_proj(o.transpose(1, 2).reshape(B, T, d))


class MimiLayer(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.norm1 = nn.LayerNorm(d, eps=1e-5)
        self.norm2 = nn.LayerNorm(d, eps=1e-5)
        self.self_attn = MimiAttn(d, heads)
        self.linear1 = nn.Linear(d, ff, bias=False)
        self.linear2 = nn.Linear(ff, d, bias=False)
        self.layer_scale_1 = Scale(d, 0.01)
        self.layer_scale_2 = Scale(d, 0.01)

    def forward(self, x, mask, max_period):
        x = x + self.layer_scale_1.scale * self_attention(self.self_attn, self.norm1(x), mask,
                                                          max_period)
        h = self.linear2(F.gelu(self.linear1(self.norm2(x))))
        return x + self.layer_scale_2.scale * h


def mimi_window_mask(T, context, device):
    """Streaming-exact window of Kyutai's ring KV cache (2 steps written per 1920 chunk):
    query q sees keys k with 2*(q//2) - context + 2 <= k <= q."""
    q = torch.arange(T, device=device)[:, None]
    k = torch.arange(T, device=device)[None, :]
    return (k <= q) & (k >= 2 * (q // 2) - context + 2)


def lm_window_mask(T, context, device):
    """The C engine's LM KV ring (slot p % context): at position q the query sees positions
    max(0, q - context + 1) .. q, itself included."""
    q = torch.arange(T, device=device)[:, None]
    k = torch.arange(T, device=device)[None, :]
    return (k <= q) & (k > q - context)


class VQLevel(nn.Module):
    """EMA codebook stored like Kyutai's EuclideanCodebook."""

    def __init__(self, bins, dim):
        super().__init__()
        self.register_buffer("embedding_sum", torch.zeros(bins, dim))
        self.register_buffer("cluster_usage", torch.ones(bins))

    def codebook(self):
        return self.embedding_sum / self.cluster_usage.clamp(min=1e-5)[:, None]

    def nearest(self, x):
        e = self.codebook()
        d = (e * e).sum(1)[None, :] - 2 * x @ e.t()
        return d.argmin(1)

    @torch.no_grad()
    def ema_update(self, x, codes, decay=0.99):
        bins = self.embedding_sum.shape[0]
        cnt = torch.bincount(codes, minlength=bins).float()
        s = torch.zeros_like(self.embedding_sum).index_add_(0, codes, x.float())
        self.cluster_usage.mul_(decay).add_(cnt, alpha=1 - decay)
        self.embedding_sum.mul_(decay).add_(s, alpha=1 - decay)
        # replace dead codes by random current vectors
        dead = self.cluster_usage < 0.02 * self.cluster_usage.mean()
        nd = int(dead.sum())
        if nd > 0:
            pick = x[torch.randint(0, x.shape[0], (nd,), device=x.device)].float()
            self.embedding_sum[dead] = pick
            self.cluster_usage[dead] = 1.0


class MimiEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        s, t, q = cfg["seanet"], cfg["transformer"], cfg["quantizer"]
        D = s["dimension"]
        self.cfg = cfg
        self.encoder = SEANetEncoder(s["n_filters"], D, tuple(s["ratios"]), s["kernel_size"],
                                     s["last_kernel_size"])
        self.encoder_transformer = Holder()
        self.encoder_transformer.transformer = Holder()
        self.encoder_transformer.transformer.layers = nn.ModuleList(
            [MimiLayer(D, t["num_heads"], t["dim_feedforward"]) for _ in range(t["num_layers"])])
        self.downsample = Holder()
        self.downsample.conv = cconv(D, D, 4, 2, bias=False)
        self.quantizer = Holder()
        dq, bins = q["dimension"], q["bins"]
        for name in ("rvq_first", "rvq_rest"):
            g = Holder()
            g.input_proj = nn.Conv1d(D, dq, 1, bias=False)
            g.output_proj = nn.Conv1d(dq, D, 1, bias=False)
            setattr(self.quantizer, name, g)
        self.levels_first = nn.ModuleList([VQLevel(bins, dq)])
        self.levels_rest = nn.ModuleList([VQLevel(bins, dq) for _ in range(q["n_q"] - 1)])

    def latent(self, pcm):
        """pcm [B, 1, N*1920] -> latent [B, D, N] (12.5 Hz)."""
        x = self.encoder(pcm)                       # [B, D, 2N]
        x = x.transpose(1, 2)
        T = x.shape[1]
        t = self.cfg["transformer"]
        mask = mimi_window_mask(T, t["context"], x.device)
        for layer in self.encoder_transformer.transformer.layers:
            x = layer(x, mask, t["max_period"])
        x = x.transpose(1, 2)
        return run_cconv(self.downsample.conv, x, replicate=True)

    def projections(self, lat):
        z1 = self.quantizer.rvq_first.input_proj(lat).transpose(1, 2)   # [B, N, dq]
        zr = self.quantizer.rvq_rest.input_proj(lat).transpose(1, 2)
        return z1, zr

    def quantize(self, z1, zr, update=False):
        """Returns codes [B, N, n_q], q1, qr (hard quantized, same shapes as z)."""
        B, N, dq = z1.shape
        x1 = z1.reshape(-1, dq).float()
        c0 = self.levels_first[0].nearest(x1)
        if update:
            self.levels_first[0].ema_update(x1, c0)
        q1 = self.levels_first[0].codebook()[c0]
        r = zr.reshape(-1, dq).float()
        qr = torch.zeros_like(r)
        codes = [c0]
        for lv in self.levels_rest:
            c = lv.nearest(r)
            if update:
                lv.ema_update(r, c)
            e = lv.codebook()[c]
            qr = qr + e
            r = r - e
            codes.append(c)
        codes = torch.stack(codes, 1).view(B, N, -1)
        return codes, q1.view(B, N, dq), qr.view(B, N, dq)

    @torch.no_grad()
    def kmeans_init(self, z1, zr, iters=12):
        def km(x, k):
            idx = torch.randperm(x.shape[0], device=x.device)[:k]
            c = x[idx].clone()
            for _ in range(iters):
                d = (c * c).sum(1)[None] - 2 * x @ c.t()
                a = d.argmin(1)
                cnt = torch.bincount(a, minlength=k).float()
                s = torch.zeros_like(c).index_add_(0, a, x)
                ok = cnt > 0
                c[ok] = s[ok] / cnt[ok, None]
                nd = int((~ok).sum())
                if nd:
                    c[~ok] = x[torch.randint(0, x.shape[0], (nd,), device=x.device)]
            return c
        dq = z1.shape[-1]
        x1 = z1.reshape(-1, dq).float()
        lv = self.levels_first[0]
        lv.embedding_sum.copy_(km(x1, lv.embedding_sum.shape[0]))
        lv.cluster_usage.fill_(1.0)
        r = zr.reshape(-1, dq).float()
        for lv in self.levels_rest:
            c = km(r, lv.embedding_sum.shape[0])
            lv.embedding_sum.copy_(c)
            lv.cluster_usage.fill_(1.0)
            r = r - c[lv.nearest(r)]


class RMS(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, 1, d))

    def forward(self, x):
        xf = x.float()
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-8) * self.alpha.float()
        return y.to(x.dtype)


class Gating(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.linear_in = nn.Linear(d, 2 * hidden, bias=False)
        self.linear_out = nn.Linear(hidden, d, bias=False)

    def forward(self, x):
        h = self.linear_in(x)
        a, b = h.chunk(2, dim=-1)
        return self.linear_out(F.silu(a) * b)


class LMLayer(nn.Module):
    def __init__(self, d, heads, hidden):
        super().__init__()
        self.norm1 = RMS(d)
        self.norm2 = RMS(d)
        self.self_attn = MimiAttn(d, heads)
        self.gating = Gating(d, hidden)

    def forward(self, x, mask, max_period):
        x = x + self_attention(self.self_attn, self.norm1(x), mask, max_period)
        return x + self.gating(self.norm2(x))


class STTLM(nn.Module):
    def __init__(self, cfg, dq):
        super().__init__()
        d = cfg["dim"]
        self.cfg = cfg
        self.text_emb = nn.Embedding(cfg["text_card"] + 1, d)
        ff = int(cfg["hidden_scale"] * d)
        hidden = (21 * d) // 8 if ff == 4 * d else (2 * ff) // 3
        self.transformer = Holder()
        self.transformer.layers = nn.ModuleList(
            [LMLayer(d, cfg["num_heads"], hidden) for _ in range(cfg["num_layers"])])
        self.out_norm = RMS(d)
        self.text_linear = nn.Linear(d, cfg["text_card"], bias=False)
        self.extra_heads = nn.ModuleList(
            [nn.Linear(d, cfg["extra_heads_dim"], bias=False)
             for _ in range(cfg["extra_heads_num_heads"])])
        # audio embedding = A q_first + B q_rest (training form of the emb.{k} tables)
        self.audio_a = nn.Linear(dq, d, bias=False)
        self.audio_b = nn.Linear(dq, d, bias=False)
        self.audio_start = nn.Parameter(torch.zeros(d))
        nn.init.normal_(self.text_emb.weight, std=1.0)

    def forward(self, text_in, audio_vec):
        """text_in [B,T] ids; audio_vec [B,T,d] (already shifted: row 0 = audio_start).
        Returns text logits [B,T,V], extra logits [B,T,H,6]."""
        x = self.text_emb(text_in) + audio_vec
        T = x.shape[1]
        mask = lm_window_mask(T, self.cfg["context"], x.device)
        for layer in self.transformer.layers:
            x = layer(x, mask, self.cfg["max_period"])
        h = self.out_norm(x)
        logits = self.text_linear(h)
        extra = torch.stack([hd(h) for hd in self.extra_heads], dim=2)
        return logits, extra
