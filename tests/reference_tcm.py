"""Independent re-statement of the released TCM arithmetic (docs/design.md §2), for tests only.

Written directly from the specification with explicit loops, not from the package code.
"""
import math

import torch
import torch.nn.functional as F


def correlation_loop(f1, f2, patch_size, dilation=1):
    """(B, C, H, W) x2 -> (B, P, P, H, W) by shifting f2 over every displacement."""
    B, C, H, W = f1.shape
    r = (patch_size - 1) // 2
    out = f1.new_zeros(B, patch_size, patch_size, H, W)
    for i in range(patch_size):
        for j in range(patch_size):
            dy, dx = (i - r) * dilation, (j - r) * dilation
            shifted = torch.zeros_like(f2)
            ys, ye = max(0, -dy), min(H, H - dy)
            xs, xe = max(0, -dx), min(W, W - dx)
            if ys < ye and xs < xe:
                shifted[:, :, ys:ye, xs:xe] = f2[:, :, ys + dy:ye + dy, xs + dx:xe + dx]
            out[:, i, j] = (f1 * shifted).sum(1)
    return out


def match_reference(f1, f2, patch_size=15, sigma=5.0, temperature=100.0):
    """Steps 4-7: -> flow (B, 2, H, W), confidence (B, 1, H, W)."""
    B, C, H, W = f1.shape
    P = patch_size
    r = (P - 1) // 2
    corr = F.relu(correlation_loop(f1, f2, P).reshape(B, P * P, H, W))
    conf, arg = corr.max(1, keepdim=True)
    iy, ix = (arg // P).to(f1.dtype), (arg % P).to(f1.dtype)
    ys = torch.tensor([k // P for k in range(P * P)], dtype=f1.dtype).view(1, -1, 1, 1)
    xs = torch.tensor([k % P for k in range(P * P)], dtype=f1.dtype).view(1, -1, 1, 1)
    g = torch.exp(-((xs - ix) ** 2 + (ys - iy) ** 2) / (2 * sigma ** 2))
    p = torch.softmax(g * corr * temperature, 1)
    u = (p * (xs - r)).sum(1, keepdim=True) / r
    v = (p * (ys - r)).sum(1, keepdim=True) / r
    return torch.cat([u, v], 1), conf


def tcm_reference(x, params, T, patch_size=15, bn_eps=1e-5):
    """Released TCM in eval mode from a dict of released-layout tensors (``tcm_layer.*``
    names without the prefix). x: (N*T, C, H, W)."""
    def bn(t, name):
        return F.batch_norm(t, params[name + '.running_mean'], params[name + '.running_var'],
                            params[name + '.weight'], params[name + '.bias'], False, 0., bn_eps)

    red = F.relu(bn(F.conv2d(x, params['mtdm.chnl_reduction.0.weight']),
                    'mtdm.chnl_reduction.1'))
    red = red / torch.sqrt((red ** 2).sum(1, keepdim=True) + 1e-6)
    NT, C, H, W = red.shape
    N = NT // T
    red = red.view(N, T, C, H, W)
    per_frame = []
    for n in range(N):
        frames = []
        for t in range(T - 1):
            fast = match_reference(red[n, t:t + 1], red[n, t + 1:t + 2], patch_size)
            slow = match_reference(red[n, 0:1], red[n, t + 1:t + 2], patch_size)
            frames.append(torch.cat([fast[0], fast[1], slow[0], slow[1]], 1))
        frames.append(frames[-1])
        per_frame.append(torch.cat(frames, 0))
    m = torch.cat(per_frame, 0)  # (N*T, 6, H, W)

    def block(t, name, idx_pairs, groups):
        for (ci, bi), g in zip(idx_pairs, groups):
            w = params[f'{name}.{ci}.weight']
            t = F.relu(bn(F.conv2d(t, w, padding=w.shape[-1] // 2, groups=g), f'{name}.{bi}'))
        return t

    m = block(m, 'tam.conv1', [(0, 1), (3, 4), (6, 7), (9, 10)], [3, 3, 3, 1])
    for name, width in (('tam.conv2', 16), ('tam.conv3', 32), ('tam.conv4', 64)):
        m = block(m, name, [(0, 1), (3, 4)], [width, 1])
    Cout = m.shape[1]
    seq = m.view(N, T, Cout, H, W).permute(0, 2, 1, 3, 4).reshape(N * Cout, T, H, W)
    pooled = seq.mean((2, 3)).unsqueeze(1)                     # (N*C, 1, T)
    k = params['tam.ETA.conv.weight'].shape[-1]
    att = torch.sigmoid(F.conv1d(pooled, params['tam.ETA.conv.weight'], padding=(k - 1) // 2))
    seq = seq * att.view(N * Cout, T, 1, 1)
    m = seq.view(N, Cout, T, H, W).permute(0, 2, 1, 3, 4).reshape(NT, Cout, H, W)
    return x + m


def eca_kernel(T):
    k = int(math.log2(T))
    return k + 1 if k % 2 == 0 else k
