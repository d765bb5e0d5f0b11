#!/usr/bin/env python3
"""Writes the GPU GEMM kernels of src/NetDsl.Gpu/Kernels.cs (GemmLarge: the 64 tile, 4x4 outputs a thread; GemmWide:
the 128 tile, 8x8 a thread; GemmNarrow32 and GemmNarrow16: 32x128 and 16x256, 4x4 a thread) from two templates (square
and narrow), between the comment that opens them and `Store`.

ILGPU 1.5.3 does not unroll loops, and an array of accumulators would live in local memory, so every accumulator, every
staged element, every step of k and every store is written out; this script keeps the two kernels the same structure.
Run it from anywhere after changing the template, then `dotnet test tests/NetDsl.Gpu.Tests -c Release --filter GemmKernel`.

Measured on an NVIDIA H200 (2026-11-26, 1024³ on the 128 tile split in two along K / 4096³ on the 128 tile):
  scalar shared loads (rows ty + 16·i), k loop:         19.3 / 21.4 TFLOP/s (202 registers)
  quad loads (rows ty·4 + q + 64·h), k loop:            21.0 / 25.3 TFLOP/s (187 registers)
  quad loads, every k written out (this template):      22.8 / 25.6 TFLOP/s (203 registers)
  the same with the bias and activation applied in each of the 64 stores: 20.7 / 24.2 (the activation's code written out
  64 times); applied in a loop after plain stores: 22.3 / 25.5, but a thread's four consecutive columns made each store
  instruction strided, and batch-256 LeNet-5 inference lost 11 %; stored through shared memory, 32 rows at a time
  (coalesced, one copy of the epilogue), inference regained it, but training lost 5-15 % (the column gradients, with
  K = a layer's channels and a large C, pay the band's barriers): so this template takes the shared-memory path only for
  products with an epilogue (the forward layers) and stores the others directly
"""
import os


def signature(name):
    """The kernel's first lines, the same on every tile."""
    return [f"    public static void {name}<TProduct>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, ArrayView<float> d, GemmShape s)",
            "        where TProduct : struct, IGemmGeometry",
            "    {",
            "        s = default(TProduct).Fix(s); // the sizes and strides the network's generated geometry knows become constants"]


def k_range(depthC):
    """The staging orders the strides choose, and the items and K range this group covers (a slice of items, or of K)."""
    return ["        bool aAlongK = s.Ak == 1, bAlongN = s.Bn == 1 || s.Bk != 1;",
            "        int first, last, kBegin = 0, kEnd = s.K;",
            "        if (s.KChunk > 0) { first = 0; last = 1; kBegin = z * s.KChunk; kEnd = XMath.Min(s.K, kBegin + s.KChunk); }",
            "        else { first = z * s.Inner; last = XMath.Min(first + s.Inner, s.Items); }",
            f"        int kSteps = (kEnd - kBegin + {depthC} - 1) / {depthC}, total = XMath.Max(last - first, 0) * kSteps;"]


def fetch(ind, step, depthC, perA, perB, interleave):
    """Loads of one step's slices into the registers pa·, pb· (zero outside A and B); interleaved A, B, A, B … when both
    stage as many elements, else all of A's then all of B's."""
    l = [f"{ind}int item = first + {step} / kSteps, k0 = kBegin + {step} % kSteps * {depthC};",
         f"{ind}long aBase = item * s.Sa, bBase = item * s.Sb;"]
    loadA = [f"{ind}pa{r} = row0 + mA{r} < s.M && k0 + kA{r} < kEnd ? a[aBase + (long)(row0 + mA{r}) * s.Am + (long)(k0 + kA{r}) * s.Ak] : 0f;" for r in range(perA)]
    loadB = [f"{ind}pb{r} = k0 + kB{r} < kEnd && col0 + nB{r} < s.N ? b[bBase + (long)(k0 + kB{r}) * s.Bk + (long)(col0 + nB{r}) * s.Bn] : 0f;" for r in range(perB)]
    if interleave:
        for x, y in zip(loadA, loadB):
            l += [x, y]
    else:
        l += loadA + loadB
    return l


def gen(name, T, R, D, tileC, depthC, pitchC):
    per = T * D // 256   # elements of each of A's and B's slices that one thread stages per step
    H = R // 4           # quads a thread reads per k from each of A and B
    o = signature(name)
    o.append("        int tx = Group.IdxX, ty = Group.IdxY, tid = ty * LargeThreads + tx;")
    o.append(f"        int row0 = Grid.IdxY * {tileC}, col0 = Grid.IdxX * {tileC}, z = Grid.IdxZ;")
    o.append(f"        var tileA = SharedMemory.Allocate<Quad>({depthC} * {pitchC}); // [k][m / 4]")
    o.append(f"        var tileB = SharedMemory.Allocate<Quad>({depthC} * {pitchC}); // [k][n / 4]")
    o.append("        var stageA = tileA.Cast<float>(); // the same memory, a float at a time, for staging")
    o.append("        var stageB = tileB.Cast<float>();")
    for i in range(R):
        o.append("        float " + ", ".join(f"c{i}{j} = 0f" for j in range(R)) + ";")
    o += k_range(depthC)
    o.append(f"        // The {per} elements of each slice this thread stages: (m, k) of A and (k, n) of B for e = tid + 256·r, read along")
    o.append("        // the index with stride 1 so that consecutive threads read consecutive addresses.")
    for r in range(per):
        o.append(f"        int e{r} = tid + {256*r}, mA{r} = aAlongK ? e{r} / {depthC} : e{r} % {tileC}, kA{r} = aAlongK ? e{r} % {depthC} : e{r} / {tileC};")
        o.append(f"        int nB{r} = bAlongN ? e{r} % {tileC} : e{r} / {depthC}, kB{r} = bAlongN ? e{r} / {tileC} : e{r} % {depthC};")
    o.append("        float " + ", ".join(f"pa{r} = 0f" for r in range(per)) + ";")
    o.append("        float " + ", ".join(f"pb{r} = 0f" for r in range(per)) + ";")

    o.append("        if (total > 0)")
    o.append("        {")
    o += fetch("            ", "0", depthC, per, per, True)
    o.append("        }")
    o.append("        // This thread's quads: rows ty·4 … ty·4 + 3 (+ 64·h) of A and columns tx·4 … tx·4 + 3 (+ 64·h) of B.")
    o.append("        var readA = tileA.SubView(ty);")
    o.append("        var readB = tileB.SubView(tx);")
    o.append("        for (int step = 0; step < total; step++)")
    o.append("        {")
    for r in range(per):
        o.append(f"            stageA[kA{r} * ({pitchC} * 4) + mA{r}] = pa{r}; stageB[kB{r} * ({pitchC} * 4) + nB{r}] = pb{r};")
    o.append("            Group.Barrier();")
    o.append("            if (step + 1 < total)")
    o.append("            {")
    o += fetch("                ", "(step + 1)", depthC, per, per, True)
    o.append("            }")
    o.append("            // Every k of the step written out, so each shared load has a constant offset.")
    names = "XYZW"
    for k in range(D):
        koff = f"{k} * {pitchC} + " if k else ""
        o.append("            {")
        o.append("                " + " ".join(f"Quad qa{h} = readA[{koff}{16*h}], qb{h} = readB[{koff}{16*h}];" for h in range(H)))
        for i in range(R):
            ai = f"qa{i//4}.{names[i%4]}"
            o.append("                " + " ".join(f"c{i}{j} += {ai} * qb{j//4}.{names[j%4]};" for j in range(R)))
        o.append("            }")
    o.append("            Group.Barrier();")
    o.append("        }")
    o.append(f"        var band = SharedMemory.Allocate<Quad>(32 * {pitchC}); // [32][n / 4]: the epilogue's staging")
    o.append("        var cz = c.SubView(z * s.Sc);")
    o.append("        if (s.HasEpilogue)")
    o.append("        {")
    o.append("            // The stores, a band of 32 rows at a time through shared memory: the threads owning the band's rows write their")
    o.append("            // accumulators there as quads, then all 256 threads read it back along the rows, so a warp's stores of C (and D)")
    o.append("            // are consecutive, and the bias and activation are one loop rather than a copy per accumulator.")
    o.append("            var bandF = band.Cast<float>();")
    o.append(f"            var write = band.SubView((ty % 8) * 4 * {pitchC} + tx);")
    o.append("            var dz = s.Activation != 0 ? d.SubView(z * s.Sc) : d;")
    o.append(f"            for (int part = 0; part < {T // 32}; part++)")
    o.append("            {")
    o.append("                Group.Barrier(); // the previous band is read (and the last step's tiles)")
    o.append("                if (ty / 8 == part % 2)")
    o.append("                {")
    names = "XYZW"
    for h in range(H):
        ind = "                    "
        if H > 1:
            o.append(f"                    if (part / 2 == {h})")
            o.append("                    {")
            ind = "                        "
        for q in range(4):
            i = 4 * h + q
            qs = " ".join(f"write[{q} * {pitchC} + {16 * h2}] = new Quad {{ " + ", ".join(f"{names[t]} = c{i}{4 * h2 + t}" for t in range(4)) + " };" for h2 in range(H))
            o.append(ind + qs)
        if H > 1:
            o.append("                    }")
    o.append("                }")
    o.append("                Group.Barrier();")
    o.append(f"                for (int e = tid; e < 32 * {tileC}; e += 256)")
    o.append("                {")
    o.append(f"                    int r = e / {tileC}, col = e % {tileC}, m = row0 + part * 32 + r, n = col0 + col;")
    o.append("                    if (m >= s.M || n >= s.N) continue;")
    o.append("                    long at = (long)m * s.Ldc + n;")
    o.append(f"                    float v = bandF[r * ({pitchC} * 4) + col];")
    o.append("                    Finish(cz, dz, bias, s, m, n, at, s.Accumulate != 0 ? cz[at] + v : v);")
    o.append("                }")
    o.append("            }")

    o.append("        }")
    o.append("        else")
    o.append("        {")
    o.append("            // No epilogue (the backward products): each thread stores its outputs directly.")
    o.append("            int r0 = row0 + ty * 4, q0 = col0 + tx * 4;")
    for i in range(R):
        ri = (i % 4) + 64 * (i // 4)
        o.append("            " + " ".join(f"Store(cz, s, r0 + {ri}, q0 + {(j % 4) + 64 * (j // 4)}, c{i}{j});" for j in range(R)))
    o.append("        }")
    o.append("    }")
    return "\n".join(o) + "\n"


def gen_narrow(name, TM, TN, D, tmC, tnC, dC, pitchAC, pitchBC):
    """A tile of TM rows and TN columns (TM·TN/16 = 256 threads, 4×4 outputs each): the products whose M is a layer's few
    output channels (16 or 32) and whose N is wide (output positions), where a 64-row tile wastes most of its rows."""
    TY, TX = TM // 4, TN // 4
    assert TX * TY == 256
    perA, perB = TM * D // 256, TN * D // 256
    o = signature(name)
    o.append(f"        int tx = Group.IdxX, ty = Group.IdxY, tid = ty * {TX} + tx;")
    o.append(f"        int row0 = Grid.IdxY * {tmC}, col0 = Grid.IdxX * {tnC}, z = Grid.IdxZ;")
    o.append(f"        var tileA = SharedMemory.Allocate<Quad>({dC} * {pitchAC}); // [k][m / 4]")
    o.append(f"        var tileB = SharedMemory.Allocate<Quad>({dC} * {pitchBC}); // [k][n / 4]")
    o.append("        var stageA = tileA.Cast<float>(); // the same memory, a float at a time, for staging")
    o.append("        var stageB = tileB.Cast<float>();")
    for i in range(4):
        o.append("        float " + ", ".join(f"c{i}{j} = 0f" for j in range(4)) + ";")
    o += k_range(dC)
    o.append(f"        // The {perA} element(s) of A's slice and the {perB} of B's this thread stages: (m, k) of A and (k, n) of B for")
    o.append("        // e = tid + 256·r, read along the index with stride 1 so that consecutive threads read consecutive addresses.")
    for r in range(perA):
        o.append(f"        int eA{r} = tid + {256*r}, mA{r} = aAlongK ? eA{r} / {dC} : eA{r} % {tmC}, kA{r} = aAlongK ? eA{r} % {dC} : eA{r} / {tmC};")
    for r in range(perB):
        o.append(f"        int eB{r} = tid + {256*r}, nB{r} = bAlongN ? eB{r} % {tnC} : eB{r} / {dC}, kB{r} = bAlongN ? eB{r} / {tnC} : eB{r} % {dC};")
    o.append("        float " + ", ".join(f"pa{r} = 0f" for r in range(perA)) + ";")
    o.append("        float " + ", ".join(f"pb{r} = 0f" for r in range(perB)) + ";")

    o.append("        if (total > 0)")
    o.append("        {")
    o += fetch("            ", "0", dC, perA, perB, False)
    o.append("        }")
    o.append("        // This thread's quads: rows ty·4 … ty·4 + 3 of A and columns tx·4 … tx·4 + 3 of B.")
    o.append("        var readA = tileA.SubView(ty);")
    o.append("        var readB = tileB.SubView(tx);")
    o.append("        for (int step = 0; step < total; step++)")
    o.append("        {")
    for r in range(perA):
        o.append(f"            stageA[kA{r} * ({pitchAC} * 4) + mA{r}] = pa{r};")
    for r in range(perB):
        o.append(f"            stageB[kB{r} * ({pitchBC} * 4) + nB{r}] = pb{r};")
    o.append("            Group.Barrier();")
    o.append("            if (step + 1 < total)")
    o.append("            {")
    o += fetch("                ", "(step + 1)", dC, perA, perB, False)
    o.append("            }")
    o.append("            // Every k of the step written out, so each shared load has a constant offset.")
    names = "XYZW"
    for k in range(D):
        o.append("            {")
        o.append(f"                Quad qa = readA[{f'{k} * {pitchAC}' if k else '0'}], qb = readB[{f'{k} * {pitchBC}' if k else '0'}];")
        for i in range(4):
            o.append("                " + " ".join(f"c{i}{j} += qa.{names[i]} * qb.{names[j]};" for j in range(4)))
        o.append("            }")
    o.append("            Group.Barrier();")
    o.append("        }")
    o.append(f"        var band = SharedMemory.Allocate<Quad>({tmC} * {pitchBC}); // [m][n / 4]: the epilogue's staging, the whole tile")
    o.append("        var cz = c.SubView(z * s.Sc);")
    o.append("        if (s.HasEpilogue)")
    o.append("        {")
    o.append("            // The stores through shared memory, as the square tiles make them: the threads write their accumulators there as")
    o.append("            // quads, then all 256 read the tile back along its rows, so a warp's stores of C (and D) are consecutive.")
    o.append("            var bandF = band.Cast<float>();")
    o.append(f"            var write = band.SubView(ty * 4 * {pitchBC} + tx);")
    o.append("            var dz = s.Activation != 0 ? d.SubView(z * s.Sc) : d;")
    o.append("            Group.Barrier(); // the last step's tiles are read")
    for q in range(4):
        o.append(f"            write[{q} * {pitchBC}] = new Quad {{ " + ", ".join(f"{names[t]} = c{q}{t}" for t in range(4)) + " };")
    o.append("            Group.Barrier();")
    o.append(f"            for (int e = tid; e < {tmC} * {tnC}; e += 256)")
    o.append("            {")
    o.append(f"                int r = e / {tnC}, col = e % {tnC}, m = row0 + r, n = col0 + col;")
    o.append("                if (m >= s.M || n >= s.N) continue;")
    o.append("                long at = (long)m * s.Ldc + n;")
    o.append(f"                float v = bandF[r * ({pitchBC} * 4) + col];")
    o.append("                Finish(cz, dz, bias, s, m, n, at, s.Accumulate != 0 ? cz[at] + v : v);")
    o.append("            }")
    o.append("        }")
    o.append("        else")
    o.append("        {")
    o.append("            // No epilogue (the backward products): each thread stores its outputs directly.")
    o.append("            int r0 = row0 + ty * 4, q0 = col0 + tx * 4;")
    for i in range(4):
        o.append("            " + " ".join(f"Store(cz, s, r0 + {i}, q0 + {j}, c{i}{j});" for j in range(4)))
    o.append("        }")
    o.append("    }")
    return "\n".join(o) + "\n"


p = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'src', 'NetDsl.Gpu', 'Kernels.cs')
s = open(p).read()
# The kernels sit between the comment that opens them and Store.
a = s.index('    // The GPU kernels below')
b = s.index('    private static void Store(')  # the small kernel's store follows the two
doc = '''    // The GPU kernels below are written by tools/gpu/gemm_kernels.py from two templates (edit them, not these), in full
    // because ILGPU 1.5.3 does not unroll loops and the accumulators must be named scalars (an array would live in local
    // memory). A group of 16×16 threads computes a tile of C, each thread the rows ty·4 … ty·4 + 3 and columns tx·4 … tx·4 + 3
    // (and, on the 128 tile, the same 64 further on). Per step of K the group stages a slice of A as [k][m] and of B as [k][n]
    // in padded shared memory, reading global memory along whichever index has stride 1; the next step's slices are fetched
    // into registers while this step computes, so their latency hides behind the arithmetic. Shared memory is an array of
    // 16-byte quads, so each thread reads its four consecutive rows (columns) with one 128-bit load; every k is written out,
    // so the loads' offsets are constants. Contract as <see cref="Gemm"/>.

    /// <summary>The 64 tile (4×4 outputs per thread, 16 named accumulators: per k, two quad loads for 16 multiply-adds).
    /// Launch: grid (⌈N/64⌉, ⌈M/64⌉, slices), group (16, 16).</summary>
    public const int LargeThreads = 16, LargeTile = 64, LargeDepth = 16, LargePitch = LargeTile / 4 + 1;

'''
doc += gen("GemmLarge", 64, 4, 16, "LargeTile", "LargeDepth", "LargePitch")
doc += '''
    /// <summary>The 128 tile, for products whose M and N both reach 128 (8×8 outputs per thread, 64 named accumulators: per k,
    /// four quad loads for 64 multiply-adds). Launch: grid (⌈N/128⌉, ⌈M/128⌉, slices), group (16, 16).</summary>
    public const int WideTile = 128, WideDepth = 16, WidePitch = WideTile / 4 + 1;

'''
doc += gen("GemmWide", 128, 8, 16, "WideTile", "WideDepth", "WidePitch")
doc += '''
    /// <summary>The narrow tiles, for products with few rows and many columns (a convolution's output channels by its output
    /// positions): 32 rows × 128 columns (group (32, 8)) and 16 rows × 256 columns (group (64, 4)), 4×4 outputs per thread as
    /// on the 64 tile. A 64-row tile over a 16-channel layer computes four times the outputs it keeps. Launch: grid
    /// (⌈N/columns⌉, ⌈M/rows⌉, slices).</summary>
    public const int Narrow32Rows = 32, Narrow32Columns = 128, Narrow16Rows = 16, Narrow16Columns = 256, NarrowDepth = 16;
    public const int Narrow32PitchA = Narrow32Rows / 4 + 1, Narrow32PitchB = Narrow32Columns / 4 + 1, Narrow16PitchA = Narrow16Rows / 4 + 1, Narrow16PitchB = Narrow16Columns / 4 + 1;

'''
doc += gen_narrow("GemmNarrow32", 32, 128, 16, "Narrow32Rows", "Narrow32Columns", "NarrowDepth", "Narrow32PitchA", "Narrow32PitchB")
doc += "\n"
doc += gen_narrow("GemmNarrow16", 16, 256, 16, "Narrow16Rows", "Narrow16Columns", "NarrowDepth", "Narrow16PitchA", "Narrow16PitchB")
doc += "\n"
s = s[:a] + doc + s[b:]
open(p, 'w').write(s)
