#!/usr/bin/env python3
"""Writes the two GPU GEMM kernels of src/NetDsl.Gpu/Kernels.cs (GemmLarge: the 64 tile, 4x4 outputs a thread; GemmWide:
the 128 tile, 8x8 a thread) from one template, between the comment that opens them and `Store`.

ILGPU 1.5.3 does not unroll loops, and an array of accumulators would live in local memory, so every accumulator, every
staged element and every store is written out; this script keeps the two kernels the same structure. Run it from anywhere
after changing the template, then `dotnet test tests/NetDsl.Gpu.Tests -c Release --filter GemmKernel`:

    python3 tools/gpu/gemm_kernels.py [wide_depth]      # wide_depth: the 128 tile's step of K, 16 (8: 20.0 against 21.4 TFLOP/s at 4096³, H200)
"""
def gen(name, T, R, D, tileC, depthC, pitchC):
    per = T * D // 256
    o = []
    o.append(f"    public static void {name}(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmShape s)")
    o.append("    {")
    o.append("        int tx = Group.IdxX, ty = Group.IdxY, tid = ty * LargeThreads + tx;")
    o.append(f"        int row0 = Grid.IdxY * {tileC}, col0 = Grid.IdxX * {tileC}, z = Grid.IdxZ;")
    o.append(f"        var tileA = SharedMemory.Allocate<float>({depthC} * {pitchC}); // [k][m]")
    o.append(f"        var tileB = SharedMemory.Allocate<float>({depthC} * {pitchC}); // [k][n]")
    for i in range(R):
        o.append("        float " + ", ".join(f"c{i}{j} = 0f" for j in range(R)) + ";")
    o.append("        bool aAlongK = s.Ak == 1, bAlongN = s.Bn == 1 || s.Bk != 1;")
    o.append("        int first, last, kBegin = 0, kEnd = s.K;")
    o.append("        if (s.KChunk > 0) { first = 0; last = 1; kBegin = z * s.KChunk; kEnd = XMath.Min(s.K, kBegin + s.KChunk); }")
    o.append("        else { first = z * s.Inner; last = XMath.Min(first + s.Inner, s.Items); }")
    o.append(f"        int kSteps = (kEnd - kBegin + {depthC} - 1) / {depthC}, total = XMath.Max(last - first, 0) * kSteps;")
    o.append(f"        // The {per} elements of each tile this thread stages: (m, k) of A and (k, n) of B for e = tid + 256·r, read along the")
    o.append("        // index with stride 1 so that consecutive threads read consecutive addresses.")
    for r in range(per):
        o.append(f"        int e{r} = tid + {256*r}, mA{r} = aAlongK ? e{r} / {depthC} : e{r} % {tileC}, kA{r} = aAlongK ? e{r} % {depthC} : e{r} / {tileC};")
        o.append(f"        int nB{r} = bAlongN ? e{r} % {tileC} : e{r} / {depthC}, kB{r} = bAlongN ? e{r} / {tileC} : e{r} % {depthC};")
    o.append("        float " + ", ".join(f"pa{r} = 0f" for r in range(per)) + ";")
    o.append("        float " + ", ".join(f"pb{r} = 0f" for r in range(per)) + ";")
    def fetch(ind, step):
        l = [f"{ind}int item = first + {step} / kSteps, k0 = kBegin + {step} % kSteps * {depthC};",
             f"{ind}long aBase = item * s.Sa, bBase = item * s.Sb;"]
        for r in range(per):
            l.append(f"{ind}pa{r} = row0 + mA{r} < s.M && k0 + kA{r} < kEnd ? a[aBase + (long)(row0 + mA{r}) * s.Am + (long)(k0 + kA{r}) * s.Ak] : 0f;")
            l.append(f"{ind}pb{r} = k0 + kB{r} < kEnd && col0 + nB{r} < s.N ? b[bBase + (long)(k0 + kB{r}) * s.Bk + (long)(col0 + nB{r}) * s.Bn] : 0f;")
        return l
    o.append("        if (total > 0)")
    o.append("        {")
    o += fetch("            ", "0")
    o.append("        }")
    o.append("        var readA = tileA.SubView(ty);")
    o.append("        var readB = tileB.SubView(tx);")
    o.append("        for (int step = 0; step < total; step++)")
    o.append("        {")
    for r in range(per):
        o.append(f"            tileA[kA{r} * {pitchC} + mA{r}] = pa{r}; tileB[kB{r} * {pitchC} + nB{r}] = pb{r};")
    o.append("            Group.Barrier();")
    o.append("            if (step + 1 < total)")
    o.append("            {")
    o += fetch("                ", "(step + 1)")
    o.append("            }")
    o.append(f"            for (int k = 0; k < {depthC}; k++)")
    o.append("            {")
    o.append("                // Views with constant offsets: the offsets become immediate address offsets of the shared loads.")
    o.append(f"                var rowA = readA.SubView(k * {pitchC});")
    o.append(f"                var rowB = readB.SubView(k * {pitchC});")
    o.append("                float " + ", ".join(f"a{i} = rowA[{16*i}]" for i in range(R)) + ";")
    o.append("                float " + ", ".join(f"b{j} = rowB[{16*j}]" for j in range(R)) + ";")
    for i in range(R):
        o.append("                " + " ".join(f"c{i}{j} += a{i} * b{j};" for j in range(R)))
    o.append("            }")
    o.append("            Group.Barrier();")
    o.append("        }")
    o.append("        var cz = c.SubView(z * s.Sc);")
    o.append("        int r0 = row0 + ty, q0 = col0 + tx;")
    for i in range(R):
        o.append("        " + " ".join(f"Store(cz, s, r0 + {16*i}, q0 + {16*j}, c{i}{j});" for j in range(R)))
    o.append("    }")
    return "\n".join(o) + "\n"

import os, sys
p = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'src', 'NetDsl.Gpu', 'Kernels.cs')
s = open(p).read()
# The kernels sit between the comment that opens them (either wording) and Store.
a = s.index('    // The two GPU kernels below')
b = s.index('    private static void Store(ArrayView<float> c, GemmShape s, int m, int n, float value)')
wide_depth = int(sys.argv[1]) if len(sys.argv) > 1 else 16
doc = f'''    // The two GPU kernels below are written by tools/gpu/gemm_kernels.py from one template (edit that, not them), in full
    // because ILGPU 1.5.3 does not unroll loops and the accumulators must be named scalars (an array would live in local
    // memory). A group of 16×16 threads computes a tile of C, each thread the outputs at rows ty + 16·i and columns
    // tx + 16·j (so a warp's shared reads and its global stores are consecutive). Per step of K the group stages a slice of
    // A as [k][m] and of B as [k][n] in shared memory, reading global memory along whichever index has stride 1; the next
    // step's slices are fetched into registers while this step computes, so their latency hides behind the arithmetic.
    // Shared reads go through per-thread views with constant offsets, which ILGPU turns into immediate address offsets.
    // Contract as <see cref="Gemm"/>.

    /// <summary>The 64 tile (4×4 outputs per thread, 16 named accumulators). Launch: grid (⌈N/64⌉, ⌈M/64⌉, slices), group (16, 16).</summary>
    public const int LargeThreads = 16, LargeTile = 64, LargeDepth = 16, LargePitch = LargeTile + 1;

'''
doc += gen("GemmLarge", 64, 4, 16, "LargeTile", "LargeDepth", "LargePitch")
doc += f'''
    /// <summary>The 128 tile, for products whose M and N both reach 128 (8×8 outputs per thread, 64 named accumulators: per
    /// step of K a thread reads 16 shared values for 64 multiply-adds, against 8 for 16 on the 64 tile).
    /// Launch: grid (⌈N/128⌉, ⌈M/128⌉, slices), group (16, 16).</summary>
    public const int WideTile = 128, WideDepth = {wide_depth}, WidePitch = WideTile + 4;

'''
doc += gen("GemmWide", 128, 8, wide_depth, "WideTile", "WideDepth", "WidePitch")
doc += "\n"
s = s[:a] + doc + s[b:]
open(p, 'w').write(s)
