using System;
using System.Collections.Generic;
using NetDsl.Generators.Diagnostics;
using static NetDsl.Generators.Inference.LayerContext;

namespace NetDsl.Generators.Inference;

/// <summary>Sliding-window arithmetic shared by convolution and pooling: output sizes with the diagnostics that show the
/// arithmetic, and the repairs (same padding, nearest stride or padding) the code fixes apply.</summary>
internal static class Geometry
{
    /// <summary>Input rows never read for this geometry (0: none), or -1 when the window does not fit (output &lt; 1).</summary>
    public static long Dropped(int input, long padA, long padB, int k, int stride, int dil)
    {
        long span = input + padA + padB - (long)dil * (k - 1) - 1;
        if (span < 0) return -1;
        // A window narrower than the stride skips rows between windows by design (a strided 1×1 projection): never "dropped".
        if ((long)dil * (k - 1) + 1 < stride) return 0;
        return Math.Max(0, span % stride - padB);
    }

    public static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    /// <summary>
    /// floor((in + padA + padB − dil·(k−1) − 1) / stride) + 1 (ceil instead of floor in <paramref name="ceilMode"/>, PyTorch's rule:
    /// the last window must start inside the input or the left padding), with NDSL0201 when it is below 1 and NDSL0202 when
    /// real input rows are never read. Returns 0 after NDSL0201.
    /// </summary>
    public static int OutputSize(LayerContext ctx, string dim, string unit, int input, int padA, int padB, int k, int stride, int dil,
        string kernelArg, string strideArg, bool ceilMode = false)
    {
        long span = (long)input + padA + padB - (long)dil * (k - 1) - 1;
        long output = (ceilMode ? -FloorDiv(-span, stride) : FloorDiv(span, stride)) + 1;
        if (ceilMode && output >= 1 && (output - 1) * stride >= input + padA) output--;
        string dilText = dil == 1 ? $"({S(k)} − 1)" : $"{S(dil)}·({S(k)} − 1)";
        string bracket = ceilMode ? "⌈" : "⌊", close = ceilMode ? "⌉" : "⌋";
        string arithmetic = $"{bracket}({S(input)} + {S(padA)} + {S(padB)} − {dilText} − 1) / {S(stride)}{close} + 1 = {bracket}{S(span)} / {S(stride)}{close} + 1 = {S(output)}";
        if (output < 1)
        {
            ctx.Report(DiagnosticIds.OutputTooSmall, kernelArg, dim, arithmetic,
                $"is {S(input)} with padding {S(padA)}+{S(padB)}, smaller than the window {S(dil * (k - 1) + 1)}");
            return 0;
        }
        // Only real rows matter: trailing rows that are all padding are no loss. Ceil mode covers the last rows by design.
        long dropped = Dropped(input, padA, padB, k, stride, dil);
        if (!ceilMode && dropped > 0)
        {
            ctx.Warn(DiagnosticIds.OutputNotIntegral, strideArg, $"({S(input)} + {S(padA)} + {S(padB)} − {dilText} − 1) = {S(span)}", S(stride), S(dropped),
                dropped == 1 ? unit.TrimEnd('s') : unit, dropped == 1 ? "is" : "are", dim, $"⌊{S(span)} / {S(stride)}⌋ + 1 = {S(output)}");
        }
        return output > int.MaxValue ? int.MaxValue : (int)output;
    }

    /// <summary>
    /// Repairs for NDSL0201/0202 on a convolution: "same" padding for odd kernels (when it changes something), the stride
    /// nearest to each stride argument with no row dropped, and the symmetric padding nearest to the current one with no
    /// row dropped (only when no per-side padding is written).
    /// </summary>
    public static List<(Repair, bool DropsNone)> ConvFixes(LayerContext ctx, int h, int w, int kh, int kw, int sh, int sw, int pt, int pb, int pl, int pr,
        int dil, string hArg, string wArg)
    {
        var fixes = new List<(Repair, bool)>();
        bool perSide = ctx.Has("PadTop") || ctx.Has("PadBottom") || ctx.Has("PadLeft") || ctx.Has("PadRight");
        string? same = null;
        if (kh % 2 == 1 && kw % 2 == 1)
        {
            long ph = (long)(kh - 1) / 2 * dil, pw = (long)(kw - 1) / 2 * dil;
            bool changes = ph != pt || ph != pb || pw != pl || pw != pr;
            long dh = Dropped(h, ph, ph, kh, sh, dil), dw = Dropped(w, pw, pw, kw, sw, dil);
            if (changes && ph <= 1_000_000 && pw <= 1_000_000 && dh >= 0 && dw >= 0)
            {
                var edits = new List<ArgumentEdit>();
                if (ph == pw)
                {
                    edits.Add(new ArgumentEdit("Padding", S(ph)));
                    if (perSide) foreach (var side in new[] { "PadTop", "PadBottom", "PadLeft", "PadRight" }) edits.Add(new ArgumentEdit(side, null));
                    same = S(ph);
                }
                else
                {
                    edits.Add(new ArgumentEdit("Padding", null));
                    edits.Add(new ArgumentEdit("PadTop", S(ph))); edits.Add(new ArgumentEdit("PadBottom", S(ph)));
                    edits.Add(new ArgumentEdit("PadLeft", S(pw))); edits.Add(new ArgumentEdit("PadRight", S(pw)));
                }
                fixes.Add((Repair.Of(RepairKind.SamePadding, edits.ToArray()), dh == 0 && dw == 0));
            }
        }
        foreach (string arg in hArg == wArg ? new[] { hArg } : new[] { hArg, wArg })
        {
            bool height = hArg == arg, width = wArg == arg;
            int current = height ? sh : sw;
            for (int d = 1; d < current; d++)
            {
                int found = 0;
                foreach (int s in new[] { current - d, current + d })
                    if ((!height || Dropped(h, pt, pb, kh, s, dil) == 0) && (!width || Dropped(w, pl, pr, kw, s, dil) == 0)) { found = s; break; }
                if (found == 0) continue;
                fixes.Add((Repair.Of(RepairKind.Stride, new ArgumentEdit(arg, S(found))), true));
                break;
            }
        }
        if (!perSide)
        {
            int pad = pt;
            for (int d = 1; d <= Math.Max(sh, sw); d++)
            {
                int found = -1;
                foreach (int p in new[] { pad - d, pad + d })
                    if (p >= 0 && p <= 1_000_000 && Dropped(h, p, p, kh, sh, dil) == 0 && Dropped(w, p, p, kw, sw, dil) == 0) { found = p; break; }
                if (found < 0) continue;
                if (same != S(found)) fixes.Add((Repair.Of(RepairKind.Padding, new ArgumentEdit("Padding", S(found))), true));
                break;
            }
        }
        return fixes;
    }

    /// <summary>Repairs for NDSL0202 on a pooling layer: the nearest stride, and the nearest padding (at most half the window), with no row dropped.</summary>
    public static List<(Repair, bool DropsNone)> PoolFixes(int h, int w, int kh, int kw, int stride, int pad, string strideArg)
    {
        var fixes = new List<(Repair, bool)>();
        for (int d = 1; d < stride; d++)
        {
            int found = 0;
            foreach (int s in new[] { stride - d, stride + d })
                if (Dropped(h, pad, pad, kh, s, 1) == 0 && Dropped(w, pad, pad, kw, s, 1) == 0) { found = s; break; }
            if (found == 0) continue;
            fixes.Add((Repair.Of(RepairKind.Stride, new ArgumentEdit(strideArg, S(found))), true));
            break;
        }
        int k = Math.Min(kh, kw);
        for (int d = 1; d <= k / 2; d++)
        {
            int found = -1;
            foreach (int p in new[] { pad - d, pad + d })
                if (p >= 0 && 2 * p <= k && Dropped(h, p, p, kh, stride, 1) == 0 && Dropped(w, p, p, kw, stride, 1) == 0) { found = p; break; }
            if (found < 0) continue;
            fixes.Add((Repair.Of(RepairKind.Padding, new ArgumentEdit("Padding", S(found))), true));
            break;
        }
        return fixes;
    }
}
