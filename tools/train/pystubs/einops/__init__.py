"""Tiny subset of einops.rearrange: only the patterns used by Kyutai's moshi package."""


def rearrange(x, pattern, **k):
    p = " ".join(pattern.split())
    if p in ("b t (p h d) -> p b h t d", "b t (p kh d) -> p b kh t d"):
        n = k["p"]
        h = k.get("h", k.get("kh"))
        b, t, c = x.shape
        return x.reshape(b, t, n, h, c // (n * h)).permute(2, 0, 3, 1, 4)
    if p == "b t (h d) -> b h t d":
        b, t, c = x.shape
        return x.reshape(b, t, k["h"], c // k["h"]).permute(0, 2, 1, 3)
    if p == "b h t d -> b t (h d)":
        b, h, t, d = x.shape
        return x.permute(0, 2, 1, 3).reshape(b, t, h * d)
    if p == "b c t -> (b c) () t":
        b, c, t = x.shape
        return x.reshape(b * c, 1, t)
    if p == "(b c) () t -> b c t":
        return x.reshape(k["b"], -1, x.shape[-1])
    if p == "... d -> (...) d":
        return x.reshape(-1, x.shape[-1])
    if p in ("b d n -> b n d", "b n d -> b d n"):
        return x.transpose(1, 2)
    raise NotImplementedError(pattern)


def repeat(x, pattern, **k):
    raise NotImplementedError(pattern)  # only used by codebook training, not by encoding
