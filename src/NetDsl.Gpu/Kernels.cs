using ILGPU;
using ILGPU.Algorithms;

namespace NetDsl.Gpu;

/// <summary>Geometry of a convolution (also a dense layer: a 1×1 convolution over a 1×1 plane, and a transposed convolution:
/// the convolution it is the adjoint of). Input C×H×W, output OC×OH×OW, weight [OC, C/Groups, KH, KW].</summary>
public struct ConvShape
{
    public int C, H, W, OC, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, Groups;

    /// <summary>A convolution's geometry.</summary>
    public ConvShape(int c, int h, int w, int oc, int oh, int ow, int kh, int kw, int sh, int sw, int pt, int pl, int dh, int dw, int groups)
    {
        C = c; H = h; W = w; OC = oc; OH = oh; OW = ow; KH = kh; KW = kw; SH = sh; SW = sw; PT = pt; PL = pl; DH = dh; DW = dw; Groups = groups;
    }

    /// <summary>Output positions per channel, OH·OW (the N of the convolution's GEMMs).</summary>
    public readonly int Plane => OH * OW;
    /// <summary>Rows of the unfolded input, C·KH·KW.</summary>
    public readonly int Rows => C * KH * KW;
    /// <summary>Output channels per group (the M of the forward GEMM).</summary>
    public readonly int OutPerGroup => OC / Groups;
    /// <summary>Unfolded rows per group, C/G·KH·KW (the K of the forward GEMM).</summary>
    public readonly int RowsPerGroup => Rows / Groups;

    /// <summary>A dense layer as a 1×1 convolution: weight [outputs, inputs].</summary>
    public static ConvShape Dense(int inputs, int outputs) => new(inputs, 1, 1, outputs, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1);
}

/// <summary>An activation computed in the stores of the GEMM that produces its input (the generator fuses a convolution or
/// dense layer with the activation that reads it): the <see cref="ActivationKind"/>, its parameter, and the activation
/// layer's output. The producer's own output is still written (the activation's backward and <c>LayerOutput</c> read it).
/// <c>default</c>: none.</summary>
public readonly struct FusedActivation
{
    public FusedActivation(int kind, float slope, ArrayView<float> output)
    {
        _kind = kind + 1; Slope = slope; Output = output;
    }

    private readonly int _kind;
    /// <summary>The <see cref="ActivationKind"/>, or −1 for none.</summary>
    public int Kind => _kind - 1;
    public float Slope { get; }
    public ArrayView<float> Output { get; }
    public bool IsSet => _kind != 0;
}

/// <summary>Four floats loaded as one: a shared view of these, 16-byte aligned, reads with a single 128-bit load (ld.shared.v4).</summary>
public struct Quad
{
    public float X, Y, Z, W;
}

/// <summary>C[M, N] (+)= A[M, K]·B[K, N] with A(m, k) at a[m·Am + k·Ak], B(k, n) at b[k·Bk + n·Bn], C(m, n) at c[m·Ldc + n]:
/// the strides express the transposes (a dense layer's forward, weight gradient and input gradient are one kernel).
/// A launch covers <see cref="Slices"/> slices (the grid's Z): slice z sums the products of items [z·Inner, min((z + 1)·Inner, Items))
/// into C_z = c + z·Sc, item i reading A_i = a + i·Sa and B_i = b + i·Sb. One item per slice is a batched GEMM (a convolution over
/// the batch in one launch); several are a split-K reduction whose partial sums <c>SumSlices</c> adds in slice order. With
/// <see cref="KChunk"/> set, one product is split along K instead, slice z taking k in [z·KChunk, (z + 1)·KChunk).</summary>
public struct GemmShape
{
    public int M, N, K, Am, Ak, Bk, Bn, Ldc, Accumulate;
    public int Items, Inner, KChunk;
    public long Sa, Sb, Sc;
    /// <summary>The epilogue: <see cref="BiasAlong"/> 0 none, 1 bias[m] (a convolution's channel), 2 bias[n] (a dense
    /// layer's output); <see cref="Activation"/> 0 none, else 1 + an <see cref="ActivationKind"/> whose result goes to D
    /// (laid out as C) while C keeps the value before it; <see cref="Slope"/> its parameter.</summary>
    public int BiasAlong, Activation;
    public float Slope;

    public GemmShape(int m, int n, int k, int am, int ak, int bk, int bn, int ldc, bool accumulate)
    {
        M = m; N = n; K = k; Am = am; Ak = ak; Bk = bk; Bn = bn; Ldc = ldc; Accumulate = accumulate ? 1 : 0;
        Items = 1; Inner = 1; KChunk = 0; Sa = 0; Sb = 0; Sc = 0; BiasAlong = 0; Activation = 0; Slope = 0f;
    }

    /// <summary>Whether the product's stores add a bias or apply an activation.</summary>
    public readonly bool HasEpilogue => BiasAlong != 0 || Activation != 0;

    /// <summary>The same product with the epilogue <paramref name="biasAlong"/> (0, 1 rows, 2 columns) and activation
    /// <paramref name="activation"/> (an <see cref="ActivationKind"/>, or −1 for none) fused into its stores.</summary>
    public readonly GemmShape WithEpilogue(int biasAlong, int activation, float slope)
    {
        var s = this;
        s.BiasAlong = biasAlong; s.Activation = activation + 1; s.Slope = slope;
        return s;
    }

    /// <summary>The same product without its epilogue (the partial sums of a split launch).</summary>
    public readonly GemmShape WithoutEpilogue()
    {
        var s = this;
        s.BiasAlong = 0; s.Activation = 0; s.Slope = 0f;
        return s;
    }

    /// <summary>The slices (the launch's Z extent).</summary>
    public readonly int Slices => KChunk > 0 ? (K + KChunk - 1) / KChunk : (Items + Inner - 1) / Inner;

    /// <summary>One product split along K: slice z sums k in [z·<paramref name="chunk"/>, (z + 1)·<paramref name="chunk"/>) into C + z·<paramref name="sc"/>.</summary>
    public readonly GemmShape SplitK(int chunk, long sc)
    {
        var s = this;
        s.Items = 1; s.Inner = 1; s.KChunk = chunk; s.Sc = sc;
        return s;
    }

    /// <summary><paramref name="items"/> independent products, item i at A + i·<paramref name="sa"/>, B + i·<paramref name="sb"/>, C + i·<paramref name="sc"/>.</summary>
    public readonly GemmShape Batched(int items, long sa, long sb, long sc)
    {
        var s = this;
        s.Items = items; s.Inner = 1; s.Sa = sa; s.Sb = sb; s.Sc = sc;
        return s;
    }

    /// <summary>Σ over <paramref name="items"/> products, <paramref name="inner"/> of them per slice; slice z's sum goes to C + z·<paramref name="sc"/>.</summary>
    public readonly GemmShape Summed(int items, int inner, long sa, long sb, long sc)
    {
        var s = this;
        s.Items = items; s.Inner = inner; s.Sa = sa; s.Sb = sb; s.Sc = sc;
        return s;
    }
}

/// <summary>Geometry of a pooling layer; Mode 0 max, 1 min, 2 average, 3 L2, 4 sum.</summary>
public struct PoolShape
{
    public int C, H, W, OH, OW, KH, KW, SH, SW, PH, PW, Mode, IncludePad;

    public PoolShape(int c, int h, int w, int oh, int ow, int kh, int kw, int sh, int sw, int ph, int pw, int mode, bool includePad)
    {
        C = c; H = h; W = w; OH = oh; OW = ow; KH = kh; KW = kw; SH = sh; SW = sw; PH = ph; PW = pw; Mode = mode; IncludePad = includePad ? 1 : 0;
    }
}

/// <summary>The device losses.</summary>
public static class LossKind
{
    public const int CrossEntropy = 0, SquaredError = 1, BinaryCrossEntropy = 2, NegativeLogLikelihood = 3, MultiMargin = 4;
}

/// <summary>What <c>LossRows</c> computes: the kind, the classes (features) per row, the pixels per sample (per-pixel
/// cross-entropy), whether labels or dense targets, whether class (or positive) weights apply, the gradient scale, margin and p.</summary>
public struct LossConfig
{
    public int Kind, Classes, Pixels, UseLabels, Weighted, P;
    public float Scale, Margin;
}

/// <summary>Pointwise activations on the device; the numbering is what the generated code passes.</summary>
public static class ActivationKind
{
    public const int ReLU = 0, LeakyReLU = 1, Tanh = 2, Sigmoid = 3, ELU = 4;
}

/// <summary>
/// The device kernels: one thread per output element (per input element for gradients, gathering instead of scattering,
/// so no atomics and a fixed summation order). Each mirrors a runtime kernel in <c>NetDsl.Kernels</c> one to one.
/// </summary>
internal static class DeviceKernels
{
    // ------------------------------------------------------------------ convolution (and dense)

    /// <summary>y[n, oc, oh, ow] = bias[oc] + Σ w[oc, ci, kh, kw] · x[n, g·C/G + ci, oh·SH − PT + kh·DH, ow·SW − PL + kw·DW].</summary>
    public static void ConvForward<TConv>(Index1D i, ArrayView<float> x, ArrayView<float> w, ArrayView<float> b, ArrayView<float> y, int hasBias) where TConv : struct, IConvGeometry
    {
        var s = default(TConv).Shape;
        int ow = i % s.OW, t = i / s.OW, oh = t % s.OH; t /= s.OH;
        int oc = t % s.OC, n = t / s.OC;
        int cpg = s.C / s.Groups, opg = s.OC / s.Groups, c0 = oc / opg * cpg;
        float sum = 0f;
        for (int ci = 0; ci < cpg; ci++)
        {
            long xBase = ((long)n * s.C + c0 + ci) * s.H * s.W;
            long wBase = ((long)oc * cpg + ci) * s.KH * s.KW;
            for (int kh = 0; kh < s.KH; kh++)
            {
                int h = oh * s.SH - s.PT + kh * s.DH;
                if (h < 0 || h >= s.H) continue;
                for (int kw = 0; kw < s.KW; kw++)
                {
                    int ww = ow * s.SW - s.PL + kw * s.DW;
                    if (ww < 0 || ww >= s.W) continue;
                    sum += w[wBase + kh * s.KW + kw] * x[xBase + h * s.W + ww];
                }
            }
        }
        y[i] = hasBias != 0 ? sum + b[oc] : sum;
    }

    /// <summary>dx[n, c, h, w] = Σ over the outputs whose window reads (h, w) of w · dy (overwrites dx).</summary>
    public static void ConvBackwardData<TConv>(Index1D i, ArrayView<float> dy, ArrayView<float> w, ArrayView<float> dx) where TConv : struct, IConvGeometry
    {
        var s = default(TConv).Shape;
        int xw = i % s.W, t = i / s.W, h = t % s.H; t /= s.H;
        int c = t % s.C, n = t / s.C;
        int cpg = s.C / s.Groups, opg = s.OC / s.Groups, g = c / cpg, ci = c - g * cpg;
        float sum = 0f;
        for (int oc = g * opg; oc < (g + 1) * opg; oc++)
        {
            long yBase = ((long)n * s.OC + oc) * s.OH * s.OW;
            long wBase = ((long)oc * cpg + ci) * s.KH * s.KW;
            for (int kh = 0; kh < s.KH; kh++)
            {
                int th = h + s.PT - kh * s.DH;
                if (th < 0 || th % s.SH != 0) continue;
                int oh = th / s.SH;
                if (oh >= s.OH) continue;
                for (int kw = 0; kw < s.KW; kw++)
                {
                    int tw = xw + s.PL - kw * s.DW;
                    if (tw < 0 || tw % s.SW != 0) continue;
                    int ow = tw / s.SW;
                    if (ow >= s.OW) continue;
                    sum += w[wBase + kh * s.KW + kw] * dy[yBase + oh * s.OW + ow];
                }
            }
        }
        dx[i] = sum;
    }

    /// <summary>dw[oc, ci, kh, kw] += Σ_n Σ_(oh, ow) x · dy over the batch.</summary>
    public static void ConvBackwardWeight<TConv>(Index1D i, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dw, int batch) where TConv : struct, IConvGeometry
    {
        var s = default(TConv).Shape;
        int kw = i % s.KW, t = i / s.KW, kh = t % s.KH; t /= s.KH;
        int cpg = s.C / s.Groups, opg = s.OC / s.Groups;
        int ci = t % cpg, oc = t / cpg, c = oc / opg * cpg + ci;
        float sum = 0f;
        for (int n = 0; n < batch; n++)
        {
            long xBase = ((long)n * s.C + c) * s.H * s.W;
            long yBase = ((long)n * s.OC + oc) * s.OH * s.OW;
            for (int oh = 0; oh < s.OH; oh++)
            {
                int h = oh * s.SH - s.PT + kh * s.DH;
                if (h < 0 || h >= s.H) continue;
                for (int ow = 0; ow < s.OW; ow++)
                {
                    int ww = ow * s.SW - s.PL + kw * s.DW;
                    if (ww < 0 || ww >= s.W) continue;
                    sum += x[xBase + h * s.W + ww] * dy[yBase + oh * s.OW + ow];
                }
            }
        }
        dw[i] += sum;
    }

    /// <summary>im2col for the whole batch: col[n, (c, kh, kw), (oh, ow)] = x[n, c, oh·SH − PT + kh·DH, ow·SW − PL + kw·DW] (0 in the padding).</summary>
    public static void Im2Col<TConv>(Index1D i, ArrayView<float> x, ArrayView<float> col) where TConv : struct, IConvGeometry
    {
        var s = default(TConv).Shape;
        int plane = s.OH * s.OW, rows = s.C * s.KH * s.KW;
        int p = i % plane, t = i / plane, r = t % rows, n = t / rows;
        int kw = r % s.KW, kh = r / s.KW % s.KH, c = r / (s.KW * s.KH);
        int oh = p / s.OW, ow = p % s.OW;
        int h = oh * s.SH - s.PT + kh * s.DH, w = ow * s.SW - s.PL + kw * s.DW;
        col[i] = h >= 0 && h < s.H && w >= 0 && w < s.W ? x[(((long)n * s.C + c) * s.H + h) * s.W + w] : 0f;
    }

    /// <summary>col2im as a gather (no atomics): dx[n, c, h, w] = Σ over the (kh, kw, oh, ow) that read (h, w) of dcol (overwrites dx).</summary>
    public static void Col2Im<TConv>(Index1D i, ArrayView<float> dcol, ArrayView<float> dx) where TConv : struct, IConvGeometry
    {
        var s = default(TConv).Shape;
        int xw = i % s.W, t = i / s.W, h = t % s.H; t /= s.H;
        int c = t % s.C, n = t / s.C;
        int plane = s.OH * s.OW, rows = s.C * s.KH * s.KW;
        float sum = 0f;
        for (int kh = 0; kh < s.KH; kh++)
        {
            int th = h + s.PT - kh * s.DH;
            if (th < 0 || th % s.SH != 0) continue;
            int oh = th / s.SH;
            if (oh >= s.OH) continue;
            for (int kw = 0; kw < s.KW; kw++)
            {
                int tw = xw + s.PL - kw * s.DW;
                if (tw < 0 || tw % s.SW != 0) continue;
                int ow = tw / s.SW;
                if (ow >= s.OW) continue;
                sum += dcol[((long)n * rows + (c * s.KH + kh) * s.KW + kw) * plane + oh * s.OW + ow];
            }
        }
        dx[i] = sum;
    }

    /// <summary>Threads of the per-channel reductions' groups at most (a power of two); their shared arrays hold this many.</summary>
    public const int ReduceThreads = 256;

    /// <summary>What <see cref="ChannelPartialSums"/> adds up: Σa; Σa and Σa²; Σa and Σa·b.</summary>
    public const int SumOnly = 0, SumAndSquares = 1, SumAndProducts = 2;

    /// <summary>Stage one of the per-channel sums over a batch (biases' and batch norm's gradients, batch statistics): group
    /// (part, c) = (Grid.IdxX, Grid.IdxY) adds the values [part·chunk, (part + 1)·chunk) of channel c's batch × plane values,
    /// thread t every T-th of them in double, then the group's T sums pairwise in shared memory; the two sums go to
    /// partial[(c·parts + part)·2 + 0 and 1]. Splitting a channel over parts keeps every multiprocessor busy when there are
    /// few channels; the order is fixed by the parts and the group size, so the result is deterministic.</summary>
    public static void ChannelPartialSums<TMap>(ArrayView<float> a, ArrayView<float> b, ArrayView<double> partial, int batch, int chunk, int mode) where TMap : struct, IMapGeometry
    {
        int channels = default(TMap).Shape.Channels, plane = default(TMap).Shape.Plane;
        int part = Grid.IdxX, c = Grid.IdxY, parts = Grid.DimX, t = Group.IdxX, threads = Group.DimX;
        var first = SharedMemory.Allocate<double>(ReduceThreads);
        var second = SharedMemory.Allocate<double>(ReduceThreads);
        int count = batch * plane, start = part * chunk, end = XMath.Min(start + chunk, count);
        double s1 = 0, s2 = 0;
        for (int e = start + t; e < end; e += threads)
        {
            int n = e / plane, p = e - n * plane;
            long at = ((long)n * channels + c) * plane + p;
            float v = a[at];
            s1 += v;
            if (mode == SumAndSquares) s2 += (double)v * v;
            else if (mode == SumAndProducts) s2 += (double)v * b[at];
        }
        first[t] = s1; second[t] = s2;
        Group.Barrier();
        for (int half = threads / 2; half > 0; half /= 2)
        {
            if (t < half) { first[t] += first[t + half]; second[t] += second[t + half]; }
            Group.Barrier();
        }
        if (t == 0)
        {
            long at = ((long)c * parts + part) * 2;
            partial[at] = first[0];
            partial[at + 1] = second[0];
        }
    }

    /// <summary>Σ over the parts of channel c's partial sums <paramref name="which"/> (0 or 1), in part order.</summary>
    private static double ChannelTotal(ArrayView<double> partial, int c, int parts, int which)
    {
        double sum = 0;
        for (int p = 0; p < parts; p++) sum += partial[((long)c * parts + p) * 2 + which];
        return sum;
    }

    /// <summary>db[c] += Σ_n Σ_p dy[n, c, p], from <see cref="ChannelPartialSums"/>' parts.</summary>
    public static void BiasBackward(Index1D c, ArrayView<double> partial, ArrayView<float> db, int parts) => db[c] += (float)ChannelTotal(partial, c, parts, 0);

    /// <summary>y[n, c, p] += bias[c].</summary>
    public static void BiasAdd<TMap>(Index1D i, ArrayView<float> y, ArrayView<float> b) where TMap : struct, IMapGeometry
    {
        int channels = default(TMap).Shape.Channels, plane = default(TMap).Shape.Plane;
        y[i] += b[i / plane % channels];
    }

    // ------------------------------------------------------------------ tiled GEMM

    /// <summary>The small kernel: threads per group side; each thread computes <see cref="GemmBlock"/>² outputs, a group a
    /// <see cref="GemmTile"/>² tile. Sized for ILGPU's CPU accelerator, whose default groups hold 16 threads.</summary>
    public const int GemmThreads = 4, GemmBlock = 2, GemmTile = GemmThreads * GemmBlock, GemmDepth = 8;

    /// <summary>Explicitly grouped, shared-memory tiled, register-blocked GEMM: a group stages a <see cref="GemmTile"/>×<see cref="GemmDepth"/>
    /// slice of A and a <see cref="GemmDepth"/>×<see cref="GemmTile"/> slice of B in shared memory per step of K; each thread
    /// keeps its 2×2 outputs in four named scalars (an array would fall into local memory). Launch: grid (⌈N/8⌉, ⌈M/8⌉, slices), group (4, 4).</summary>
    public static void Gemm<TProduct>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, ArrayView<float> d, GemmShape s) where TProduct : struct, IGemmGeometry
    {
        s = default(TProduct).Fix(s);
        int tx = Group.IdxX, ty = Group.IdxY, tid = ty * GemmThreads + tx;
        int row0 = Grid.IdxY * GemmTile, col0 = Grid.IdxX * GemmTile, z = Grid.IdxZ;
        var tileA = SharedMemory.Allocate<float>(GemmTile * GemmDepth); // [m][k]
        var tileB = SharedMemory.Allocate<float>(GemmDepth * GemmTile); // [k][n]
        float c00 = 0f, c01 = 0f, c10 = 0f, c11 = 0f;
        int first, last, kBegin = 0, kEnd = s.K;
        if (s.KChunk > 0) { first = 0; last = 1; kBegin = z * s.KChunk; kEnd = XMath.Min(s.K, kBegin + s.KChunk); }
        else { first = z * s.Inner; last = XMath.Min(first + s.Inner, s.Items); }
        for (int item = first; item < last; item++)
        {
            long aBase = item * s.Sa, bBase = item * s.Sb;
            for (int k0 = kBegin; k0 < kEnd; k0 += GemmDepth)
            {
                for (int e = tid; e < GemmTile * GemmDepth; e += GemmThreads * GemmThreads)
                {
                    int m = e / GemmDepth, k = e % GemmDepth, gm = row0 + m, gk = k0 + k;
                    tileA[e] = gm < s.M && gk < kEnd ? a[aBase + (long)gm * s.Am + (long)gk * s.Ak] : 0f;
                    int kb = e / GemmTile, n = e % GemmTile, gkb = k0 + kb, gn = col0 + n;
                    tileB[e] = gkb < kEnd && gn < s.N ? b[bBase + (long)gkb * s.Bk + (long)gn * s.Bn] : 0f;
                }
                Group.Barrier();
                for (int k = 0; k < GemmDepth; k++)
                {
                    float a0 = tileA[(ty * GemmBlock) * GemmDepth + k], a1 = tileA[(ty * GemmBlock + 1) * GemmDepth + k];
                    float b0 = tileB[k * GemmTile + tx * GemmBlock], b1 = tileB[k * GemmTile + tx * GemmBlock + 1];
                    c00 += a0 * b0; c01 += a0 * b1; c10 += a1 * b0; c11 += a1 * b1;
                }
                Group.Barrier();
            }
        }
        var cz = c.SubView(z * s.Sc);
        int m0 = row0 + ty * GemmBlock, n0 = col0 + tx * GemmBlock;
        Store(cz, s, m0, n0, c00); Store(cz, s, m0, n0 + 1, c01); Store(cz, s, m0 + 1, n0, c10); Store(cz, s, m0 + 1, n0 + 1, c11);
        if (s.HasEpilogue)
        {
            var dz = s.Activation != 0 ? d.SubView(z * s.Sc) : d;
            for (int e = 0; e < GemmBlock * GemmBlock; e++)
            {
                int m = m0 + e / GemmBlock, n = n0 + e % GemmBlock;
                if (m < s.M && n < s.N) Finish(cz, dz, bias, s, m, n, (long)m * s.Ldc + n, cz[(long)m * s.Ldc + n]);
            }
        }
    }

    // The GPU kernels below are written by tools/gpu/gemm_kernels.py from two templates (edit them, not these), in full
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

    public static void GemmLarge<TProduct>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, ArrayView<float> d, GemmShape s)
        where TProduct : struct, IGemmGeometry
    {
        s = default(TProduct).Fix(s); // the sizes and strides the network's generated geometry knows become constants
        int tx = Group.IdxX, ty = Group.IdxY, tid = ty * LargeThreads + tx;
        int row0 = Grid.IdxY * LargeTile, col0 = Grid.IdxX * LargeTile, z = Grid.IdxZ;
        var tileA = SharedMemory.Allocate<Quad>(LargeDepth * LargePitch); // [k][m / 4]
        var tileB = SharedMemory.Allocate<Quad>(LargeDepth * LargePitch); // [k][n / 4]
        var stageA = tileA.Cast<float>(); // the same memory, a float at a time, for staging
        var stageB = tileB.Cast<float>();
        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;
        bool aAlongK = s.Ak == 1, bAlongN = s.Bn == 1 || s.Bk != 1;
        int first, last, kBegin = 0, kEnd = s.K;
        if (s.KChunk > 0) { first = 0; last = 1; kBegin = z * s.KChunk; kEnd = XMath.Min(s.K, kBegin + s.KChunk); }
        else { first = z * s.Inner; last = XMath.Min(first + s.Inner, s.Items); }
        int kSteps = (kEnd - kBegin + LargeDepth - 1) / LargeDepth, total = XMath.Max(last - first, 0) * kSteps;
        // The 4 elements of each slice this thread stages: (m, k) of A and (k, n) of B for e = tid + 256·r, read along
        // the index with stride 1 so that consecutive threads read consecutive addresses.
        int e0 = tid + 0, mA0 = aAlongK ? e0 / LargeDepth : e0 % LargeTile, kA0 = aAlongK ? e0 % LargeDepth : e0 / LargeTile;
        int nB0 = bAlongN ? e0 % LargeTile : e0 / LargeDepth, kB0 = bAlongN ? e0 / LargeTile : e0 % LargeDepth;
        int e1 = tid + 256, mA1 = aAlongK ? e1 / LargeDepth : e1 % LargeTile, kA1 = aAlongK ? e1 % LargeDepth : e1 / LargeTile;
        int nB1 = bAlongN ? e1 % LargeTile : e1 / LargeDepth, kB1 = bAlongN ? e1 / LargeTile : e1 % LargeDepth;
        int e2 = tid + 512, mA2 = aAlongK ? e2 / LargeDepth : e2 % LargeTile, kA2 = aAlongK ? e2 % LargeDepth : e2 / LargeTile;
        int nB2 = bAlongN ? e2 % LargeTile : e2 / LargeDepth, kB2 = bAlongN ? e2 / LargeTile : e2 % LargeDepth;
        int e3 = tid + 768, mA3 = aAlongK ? e3 / LargeDepth : e3 % LargeTile, kA3 = aAlongK ? e3 % LargeDepth : e3 / LargeTile;
        int nB3 = bAlongN ? e3 % LargeTile : e3 / LargeDepth, kB3 = bAlongN ? e3 / LargeTile : e3 % LargeDepth;
        float pa0 = 0f, pa1 = 0f, pa2 = 0f, pa3 = 0f;
        float pb0 = 0f, pb1 = 0f, pb2 = 0f, pb3 = 0f;
        if (total > 0)
        {
            int item = first + 0 / kSteps, k0 = kBegin + 0 % kSteps * LargeDepth;
            long aBase = item * s.Sa, bBase = item * s.Sb;
            pa0 = row0 + mA0 < s.M && k0 + kA0 < kEnd ? a[aBase + (long)(row0 + mA0) * s.Am + (long)(k0 + kA0) * s.Ak] : 0f;
            pb0 = k0 + kB0 < kEnd && col0 + nB0 < s.N ? b[bBase + (long)(k0 + kB0) * s.Bk + (long)(col0 + nB0) * s.Bn] : 0f;
            pa1 = row0 + mA1 < s.M && k0 + kA1 < kEnd ? a[aBase + (long)(row0 + mA1) * s.Am + (long)(k0 + kA1) * s.Ak] : 0f;
            pb1 = k0 + kB1 < kEnd && col0 + nB1 < s.N ? b[bBase + (long)(k0 + kB1) * s.Bk + (long)(col0 + nB1) * s.Bn] : 0f;
            pa2 = row0 + mA2 < s.M && k0 + kA2 < kEnd ? a[aBase + (long)(row0 + mA2) * s.Am + (long)(k0 + kA2) * s.Ak] : 0f;
            pb2 = k0 + kB2 < kEnd && col0 + nB2 < s.N ? b[bBase + (long)(k0 + kB2) * s.Bk + (long)(col0 + nB2) * s.Bn] : 0f;
            pa3 = row0 + mA3 < s.M && k0 + kA3 < kEnd ? a[aBase + (long)(row0 + mA3) * s.Am + (long)(k0 + kA3) * s.Ak] : 0f;
            pb3 = k0 + kB3 < kEnd && col0 + nB3 < s.N ? b[bBase + (long)(k0 + kB3) * s.Bk + (long)(col0 + nB3) * s.Bn] : 0f;
        }
        // This thread's quads: rows ty·4 … ty·4 + 3 (+ 64·h) of A and columns tx·4 … tx·4 + 3 (+ 64·h) of B.
        var readA = tileA.SubView(ty);
        var readB = tileB.SubView(tx);
        for (int step = 0; step < total; step++)
        {
            stageA[kA0 * (LargePitch * 4) + mA0] = pa0; stageB[kB0 * (LargePitch * 4) + nB0] = pb0;
            stageA[kA1 * (LargePitch * 4) + mA1] = pa1; stageB[kB1 * (LargePitch * 4) + nB1] = pb1;
            stageA[kA2 * (LargePitch * 4) + mA2] = pa2; stageB[kB2 * (LargePitch * 4) + nB2] = pb2;
            stageA[kA3 * (LargePitch * 4) + mA3] = pa3; stageB[kB3 * (LargePitch * 4) + nB3] = pb3;
            Group.Barrier();
            if (step + 1 < total)
            {
                int item = first + (step + 1) / kSteps, k0 = kBegin + (step + 1) % kSteps * LargeDepth;
                long aBase = item * s.Sa, bBase = item * s.Sb;
                pa0 = row0 + mA0 < s.M && k0 + kA0 < kEnd ? a[aBase + (long)(row0 + mA0) * s.Am + (long)(k0 + kA0) * s.Ak] : 0f;
                pb0 = k0 + kB0 < kEnd && col0 + nB0 < s.N ? b[bBase + (long)(k0 + kB0) * s.Bk + (long)(col0 + nB0) * s.Bn] : 0f;
                pa1 = row0 + mA1 < s.M && k0 + kA1 < kEnd ? a[aBase + (long)(row0 + mA1) * s.Am + (long)(k0 + kA1) * s.Ak] : 0f;
                pb1 = k0 + kB1 < kEnd && col0 + nB1 < s.N ? b[bBase + (long)(k0 + kB1) * s.Bk + (long)(col0 + nB1) * s.Bn] : 0f;
                pa2 = row0 + mA2 < s.M && k0 + kA2 < kEnd ? a[aBase + (long)(row0 + mA2) * s.Am + (long)(k0 + kA2) * s.Ak] : 0f;
                pb2 = k0 + kB2 < kEnd && col0 + nB2 < s.N ? b[bBase + (long)(k0 + kB2) * s.Bk + (long)(col0 + nB2) * s.Bn] : 0f;
                pa3 = row0 + mA3 < s.M && k0 + kA3 < kEnd ? a[aBase + (long)(row0 + mA3) * s.Am + (long)(k0 + kA3) * s.Ak] : 0f;
                pb3 = k0 + kB3 < kEnd && col0 + nB3 < s.N ? b[bBase + (long)(k0 + kB3) * s.Bk + (long)(col0 + nB3) * s.Bn] : 0f;
            }
            // Every k of the step written out, so each shared load has a constant offset.
            {
                Quad qa0 = readA[0], qb0 = readB[0];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W;
            }
            {
                Quad qa0 = readA[1 * LargePitch + 0], qb0 = readB[1 * LargePitch + 0];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W;
            }
            {
                Quad qa0 = readA[2 * LargePitch + 0], qb0 = readB[2 * LargePitch + 0];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W;
            }
            {
                Quad qa0 = readA[3 * LargePitch + 0], qb0 = readB[3 * LargePitch + 0];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W;
            }
            {
                Quad qa0 = readA[4 * LargePitch + 0], qb0 = readB[4 * LargePitch + 0];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W;
            }
            {
                Quad qa0 = readA[5 * LargePitch + 0], qb0 = readB[5 * LargePitch + 0];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W;
            }
            {
                Quad qa0 = readA[6 * LargePitch + 0], qb0 = readB[6 * LargePitch + 0];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W;
            }
            {
                Quad qa0 = readA[7 * LargePitch + 0], qb0 = readB[7 * LargePitch + 0];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W;
            }
            {
                Quad qa0 = readA[8 * LargePitch + 0], qb0 = readB[8 * LargePitch + 0];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W;
            }
            {
                Quad qa0 = readA[9 * LargePitch + 0], qb0 = readB[9 * LargePitch + 0];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W;
            }
            {
                Quad qa0 = readA[10 * LargePitch + 0], qb0 = readB[10 * LargePitch + 0];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W;
            }
            {
                Quad qa0 = readA[11 * LargePitch + 0], qb0 = readB[11 * LargePitch + 0];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W;
            }
            {
                Quad qa0 = readA[12 * LargePitch + 0], qb0 = readB[12 * LargePitch + 0];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W;
            }
            {
                Quad qa0 = readA[13 * LargePitch + 0], qb0 = readB[13 * LargePitch + 0];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W;
            }
            {
                Quad qa0 = readA[14 * LargePitch + 0], qb0 = readB[14 * LargePitch + 0];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W;
            }
            {
                Quad qa0 = readA[15 * LargePitch + 0], qb0 = readB[15 * LargePitch + 0];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W;
            }
            Group.Barrier();
        }
        var band = SharedMemory.Allocate<Quad>(32 * LargePitch); // [32][n / 4]: the epilogue's staging
        var cz = c.SubView(z * s.Sc);
        if (s.HasEpilogue)
        {
            // The stores, a band of 32 rows at a time through shared memory: the threads owning the band's rows write their
            // accumulators there as quads, then all 256 threads read it back along the rows, so a warp's stores of C (and D)
            // are consecutive, and the bias and activation are one loop rather than a copy per accumulator.
            var bandF = band.Cast<float>();
            var write = band.SubView((ty % 8) * 4 * LargePitch + tx);
            var dz = s.Activation != 0 ? d.SubView(z * s.Sc) : d;
            for (int part = 0; part < 2; part++)
            {
                Group.Barrier(); // the previous band is read (and the last step's tiles)
                if (ty / 8 == part % 2)
                {
                    write[0 * LargePitch + 0] = new Quad { X = c00, Y = c01, Z = c02, W = c03 };
                    write[1 * LargePitch + 0] = new Quad { X = c10, Y = c11, Z = c12, W = c13 };
                    write[2 * LargePitch + 0] = new Quad { X = c20, Y = c21, Z = c22, W = c23 };
                    write[3 * LargePitch + 0] = new Quad { X = c30, Y = c31, Z = c32, W = c33 };
                }
                Group.Barrier();
                for (int e = tid; e < 32 * LargeTile; e += 256)
                {
                    int r = e / LargeTile, col = e % LargeTile, m = row0 + part * 32 + r, n = col0 + col;
                    if (m >= s.M || n >= s.N) continue;
                    long at = (long)m * s.Ldc + n;
                    float v = bandF[r * (LargePitch * 4) + col];
                    Finish(cz, dz, bias, s, m, n, at, s.Accumulate != 0 ? cz[at] + v : v);
                }
            }
        }
        else
        {
            // No epilogue (the backward products): each thread stores its outputs directly.
            int r0 = row0 + ty * 4, q0 = col0 + tx * 4;
            Store(cz, s, r0 + 0, q0 + 0, c00); Store(cz, s, r0 + 0, q0 + 1, c01); Store(cz, s, r0 + 0, q0 + 2, c02); Store(cz, s, r0 + 0, q0 + 3, c03);
            Store(cz, s, r0 + 1, q0 + 0, c10); Store(cz, s, r0 + 1, q0 + 1, c11); Store(cz, s, r0 + 1, q0 + 2, c12); Store(cz, s, r0 + 1, q0 + 3, c13);
            Store(cz, s, r0 + 2, q0 + 0, c20); Store(cz, s, r0 + 2, q0 + 1, c21); Store(cz, s, r0 + 2, q0 + 2, c22); Store(cz, s, r0 + 2, q0 + 3, c23);
            Store(cz, s, r0 + 3, q0 + 0, c30); Store(cz, s, r0 + 3, q0 + 1, c31); Store(cz, s, r0 + 3, q0 + 2, c32); Store(cz, s, r0 + 3, q0 + 3, c33);
        }
    }

    /// <summary>The 128 tile, for products whose M and N both reach 128 (8×8 outputs per thread, 64 named accumulators: per k,
    /// four quad loads for 64 multiply-adds). Launch: grid (⌈N/128⌉, ⌈M/128⌉, slices), group (16, 16).</summary>
    public const int WideTile = 128, WideDepth = 16, WidePitch = WideTile / 4 + 1;

    public static void GemmWide<TProduct>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, ArrayView<float> d, GemmShape s)
        where TProduct : struct, IGemmGeometry
    {
        s = default(TProduct).Fix(s); // the sizes and strides the network's generated geometry knows become constants
        int tx = Group.IdxX, ty = Group.IdxY, tid = ty * LargeThreads + tx;
        int row0 = Grid.IdxY * WideTile, col0 = Grid.IdxX * WideTile, z = Grid.IdxZ;
        var tileA = SharedMemory.Allocate<Quad>(WideDepth * WidePitch); // [k][m / 4]
        var tileB = SharedMemory.Allocate<Quad>(WideDepth * WidePitch); // [k][n / 4]
        var stageA = tileA.Cast<float>(); // the same memory, a float at a time, for staging
        var stageB = tileB.Cast<float>();
        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f, c04 = 0f, c05 = 0f, c06 = 0f, c07 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f, c14 = 0f, c15 = 0f, c16 = 0f, c17 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f, c24 = 0f, c25 = 0f, c26 = 0f, c27 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f, c34 = 0f, c35 = 0f, c36 = 0f, c37 = 0f;
        float c40 = 0f, c41 = 0f, c42 = 0f, c43 = 0f, c44 = 0f, c45 = 0f, c46 = 0f, c47 = 0f;
        float c50 = 0f, c51 = 0f, c52 = 0f, c53 = 0f, c54 = 0f, c55 = 0f, c56 = 0f, c57 = 0f;
        float c60 = 0f, c61 = 0f, c62 = 0f, c63 = 0f, c64 = 0f, c65 = 0f, c66 = 0f, c67 = 0f;
        float c70 = 0f, c71 = 0f, c72 = 0f, c73 = 0f, c74 = 0f, c75 = 0f, c76 = 0f, c77 = 0f;
        bool aAlongK = s.Ak == 1, bAlongN = s.Bn == 1 || s.Bk != 1;
        int first, last, kBegin = 0, kEnd = s.K;
        if (s.KChunk > 0) { first = 0; last = 1; kBegin = z * s.KChunk; kEnd = XMath.Min(s.K, kBegin + s.KChunk); }
        else { first = z * s.Inner; last = XMath.Min(first + s.Inner, s.Items); }
        int kSteps = (kEnd - kBegin + WideDepth - 1) / WideDepth, total = XMath.Max(last - first, 0) * kSteps;
        // The 8 elements of each slice this thread stages: (m, k) of A and (k, n) of B for e = tid + 256·r, read along
        // the index with stride 1 so that consecutive threads read consecutive addresses.
        int e0 = tid + 0, mA0 = aAlongK ? e0 / WideDepth : e0 % WideTile, kA0 = aAlongK ? e0 % WideDepth : e0 / WideTile;
        int nB0 = bAlongN ? e0 % WideTile : e0 / WideDepth, kB0 = bAlongN ? e0 / WideTile : e0 % WideDepth;
        int e1 = tid + 256, mA1 = aAlongK ? e1 / WideDepth : e1 % WideTile, kA1 = aAlongK ? e1 % WideDepth : e1 / WideTile;
        int nB1 = bAlongN ? e1 % WideTile : e1 / WideDepth, kB1 = bAlongN ? e1 / WideTile : e1 % WideDepth;
        int e2 = tid + 512, mA2 = aAlongK ? e2 / WideDepth : e2 % WideTile, kA2 = aAlongK ? e2 % WideDepth : e2 / WideTile;
        int nB2 = bAlongN ? e2 % WideTile : e2 / WideDepth, kB2 = bAlongN ? e2 / WideTile : e2 % WideDepth;
        int e3 = tid + 768, mA3 = aAlongK ? e3 / WideDepth : e3 % WideTile, kA3 = aAlongK ? e3 % WideDepth : e3 / WideTile;
        int nB3 = bAlongN ? e3 % WideTile : e3 / WideDepth, kB3 = bAlongN ? e3 / WideTile : e3 % WideDepth;
        int e4 = tid + 1024, mA4 = aAlongK ? e4 / WideDepth : e4 % WideTile, kA4 = aAlongK ? e4 % WideDepth : e4 / WideTile;
        int nB4 = bAlongN ? e4 % WideTile : e4 / WideDepth, kB4 = bAlongN ? e4 / WideTile : e4 % WideDepth;
        int e5 = tid + 1280, mA5 = aAlongK ? e5 / WideDepth : e5 % WideTile, kA5 = aAlongK ? e5 % WideDepth : e5 / WideTile;
        int nB5 = bAlongN ? e5 % WideTile : e5 / WideDepth, kB5 = bAlongN ? e5 / WideTile : e5 % WideDepth;
        int e6 = tid + 1536, mA6 = aAlongK ? e6 / WideDepth : e6 % WideTile, kA6 = aAlongK ? e6 % WideDepth : e6 / WideTile;
        int nB6 = bAlongN ? e6 % WideTile : e6 / WideDepth, kB6 = bAlongN ? e6 / WideTile : e6 % WideDepth;
        int e7 = tid + 1792, mA7 = aAlongK ? e7 / WideDepth : e7 % WideTile, kA7 = aAlongK ? e7 % WideDepth : e7 / WideTile;
        int nB7 = bAlongN ? e7 % WideTile : e7 / WideDepth, kB7 = bAlongN ? e7 / WideTile : e7 % WideDepth;
        float pa0 = 0f, pa1 = 0f, pa2 = 0f, pa3 = 0f, pa4 = 0f, pa5 = 0f, pa6 = 0f, pa7 = 0f;
        float pb0 = 0f, pb1 = 0f, pb2 = 0f, pb3 = 0f, pb4 = 0f, pb5 = 0f, pb6 = 0f, pb7 = 0f;
        if (total > 0)
        {
            int item = first + 0 / kSteps, k0 = kBegin + 0 % kSteps * WideDepth;
            long aBase = item * s.Sa, bBase = item * s.Sb;
            pa0 = row0 + mA0 < s.M && k0 + kA0 < kEnd ? a[aBase + (long)(row0 + mA0) * s.Am + (long)(k0 + kA0) * s.Ak] : 0f;
            pb0 = k0 + kB0 < kEnd && col0 + nB0 < s.N ? b[bBase + (long)(k0 + kB0) * s.Bk + (long)(col0 + nB0) * s.Bn] : 0f;
            pa1 = row0 + mA1 < s.M && k0 + kA1 < kEnd ? a[aBase + (long)(row0 + mA1) * s.Am + (long)(k0 + kA1) * s.Ak] : 0f;
            pb1 = k0 + kB1 < kEnd && col0 + nB1 < s.N ? b[bBase + (long)(k0 + kB1) * s.Bk + (long)(col0 + nB1) * s.Bn] : 0f;
            pa2 = row0 + mA2 < s.M && k0 + kA2 < kEnd ? a[aBase + (long)(row0 + mA2) * s.Am + (long)(k0 + kA2) * s.Ak] : 0f;
            pb2 = k0 + kB2 < kEnd && col0 + nB2 < s.N ? b[bBase + (long)(k0 + kB2) * s.Bk + (long)(col0 + nB2) * s.Bn] : 0f;
            pa3 = row0 + mA3 < s.M && k0 + kA3 < kEnd ? a[aBase + (long)(row0 + mA3) * s.Am + (long)(k0 + kA3) * s.Ak] : 0f;
            pb3 = k0 + kB3 < kEnd && col0 + nB3 < s.N ? b[bBase + (long)(k0 + kB3) * s.Bk + (long)(col0 + nB3) * s.Bn] : 0f;
            pa4 = row0 + mA4 < s.M && k0 + kA4 < kEnd ? a[aBase + (long)(row0 + mA4) * s.Am + (long)(k0 + kA4) * s.Ak] : 0f;
            pb4 = k0 + kB4 < kEnd && col0 + nB4 < s.N ? b[bBase + (long)(k0 + kB4) * s.Bk + (long)(col0 + nB4) * s.Bn] : 0f;
            pa5 = row0 + mA5 < s.M && k0 + kA5 < kEnd ? a[aBase + (long)(row0 + mA5) * s.Am + (long)(k0 + kA5) * s.Ak] : 0f;
            pb5 = k0 + kB5 < kEnd && col0 + nB5 < s.N ? b[bBase + (long)(k0 + kB5) * s.Bk + (long)(col0 + nB5) * s.Bn] : 0f;
            pa6 = row0 + mA6 < s.M && k0 + kA6 < kEnd ? a[aBase + (long)(row0 + mA6) * s.Am + (long)(k0 + kA6) * s.Ak] : 0f;
            pb6 = k0 + kB6 < kEnd && col0 + nB6 < s.N ? b[bBase + (long)(k0 + kB6) * s.Bk + (long)(col0 + nB6) * s.Bn] : 0f;
            pa7 = row0 + mA7 < s.M && k0 + kA7 < kEnd ? a[aBase + (long)(row0 + mA7) * s.Am + (long)(k0 + kA7) * s.Ak] : 0f;
            pb7 = k0 + kB7 < kEnd && col0 + nB7 < s.N ? b[bBase + (long)(k0 + kB7) * s.Bk + (long)(col0 + nB7) * s.Bn] : 0f;
        }
        // This thread's quads: rows ty·4 … ty·4 + 3 (+ 64·h) of A and columns tx·4 … tx·4 + 3 (+ 64·h) of B.
        var readA = tileA.SubView(ty);
        var readB = tileB.SubView(tx);
        for (int step = 0; step < total; step++)
        {
            stageA[kA0 * (WidePitch * 4) + mA0] = pa0; stageB[kB0 * (WidePitch * 4) + nB0] = pb0;
            stageA[kA1 * (WidePitch * 4) + mA1] = pa1; stageB[kB1 * (WidePitch * 4) + nB1] = pb1;
            stageA[kA2 * (WidePitch * 4) + mA2] = pa2; stageB[kB2 * (WidePitch * 4) + nB2] = pb2;
            stageA[kA3 * (WidePitch * 4) + mA3] = pa3; stageB[kB3 * (WidePitch * 4) + nB3] = pb3;
            stageA[kA4 * (WidePitch * 4) + mA4] = pa4; stageB[kB4 * (WidePitch * 4) + nB4] = pb4;
            stageA[kA5 * (WidePitch * 4) + mA5] = pa5; stageB[kB5 * (WidePitch * 4) + nB5] = pb5;
            stageA[kA6 * (WidePitch * 4) + mA6] = pa6; stageB[kB6 * (WidePitch * 4) + nB6] = pb6;
            stageA[kA7 * (WidePitch * 4) + mA7] = pa7; stageB[kB7 * (WidePitch * 4) + nB7] = pb7;
            Group.Barrier();
            if (step + 1 < total)
            {
                int item = first + (step + 1) / kSteps, k0 = kBegin + (step + 1) % kSteps * WideDepth;
                long aBase = item * s.Sa, bBase = item * s.Sb;
                pa0 = row0 + mA0 < s.M && k0 + kA0 < kEnd ? a[aBase + (long)(row0 + mA0) * s.Am + (long)(k0 + kA0) * s.Ak] : 0f;
                pb0 = k0 + kB0 < kEnd && col0 + nB0 < s.N ? b[bBase + (long)(k0 + kB0) * s.Bk + (long)(col0 + nB0) * s.Bn] : 0f;
                pa1 = row0 + mA1 < s.M && k0 + kA1 < kEnd ? a[aBase + (long)(row0 + mA1) * s.Am + (long)(k0 + kA1) * s.Ak] : 0f;
                pb1 = k0 + kB1 < kEnd && col0 + nB1 < s.N ? b[bBase + (long)(k0 + kB1) * s.Bk + (long)(col0 + nB1) * s.Bn] : 0f;
                pa2 = row0 + mA2 < s.M && k0 + kA2 < kEnd ? a[aBase + (long)(row0 + mA2) * s.Am + (long)(k0 + kA2) * s.Ak] : 0f;
                pb2 = k0 + kB2 < kEnd && col0 + nB2 < s.N ? b[bBase + (long)(k0 + kB2) * s.Bk + (long)(col0 + nB2) * s.Bn] : 0f;
                pa3 = row0 + mA3 < s.M && k0 + kA3 < kEnd ? a[aBase + (long)(row0 + mA3) * s.Am + (long)(k0 + kA3) * s.Ak] : 0f;
                pb3 = k0 + kB3 < kEnd && col0 + nB3 < s.N ? b[bBase + (long)(k0 + kB3) * s.Bk + (long)(col0 + nB3) * s.Bn] : 0f;
                pa4 = row0 + mA4 < s.M && k0 + kA4 < kEnd ? a[aBase + (long)(row0 + mA4) * s.Am + (long)(k0 + kA4) * s.Ak] : 0f;
                pb4 = k0 + kB4 < kEnd && col0 + nB4 < s.N ? b[bBase + (long)(k0 + kB4) * s.Bk + (long)(col0 + nB4) * s.Bn] : 0f;
                pa5 = row0 + mA5 < s.M && k0 + kA5 < kEnd ? a[aBase + (long)(row0 + mA5) * s.Am + (long)(k0 + kA5) * s.Ak] : 0f;
                pb5 = k0 + kB5 < kEnd && col0 + nB5 < s.N ? b[bBase + (long)(k0 + kB5) * s.Bk + (long)(col0 + nB5) * s.Bn] : 0f;
                pa6 = row0 + mA6 < s.M && k0 + kA6 < kEnd ? a[aBase + (long)(row0 + mA6) * s.Am + (long)(k0 + kA6) * s.Ak] : 0f;
                pb6 = k0 + kB6 < kEnd && col0 + nB6 < s.N ? b[bBase + (long)(k0 + kB6) * s.Bk + (long)(col0 + nB6) * s.Bn] : 0f;
                pa7 = row0 + mA7 < s.M && k0 + kA7 < kEnd ? a[aBase + (long)(row0 + mA7) * s.Am + (long)(k0 + kA7) * s.Ak] : 0f;
                pb7 = k0 + kB7 < kEnd && col0 + nB7 < s.N ? b[bBase + (long)(k0 + kB7) * s.Bk + (long)(col0 + nB7) * s.Bn] : 0f;
            }
            // Every k of the step written out, so each shared load has a constant offset.
            {
                Quad qa0 = readA[0], qb0 = readB[0]; Quad qa1 = readA[16], qb1 = readB[16];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W; c04 += qa0.X * qb1.X; c05 += qa0.X * qb1.Y; c06 += qa0.X * qb1.Z; c07 += qa0.X * qb1.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W; c14 += qa0.Y * qb1.X; c15 += qa0.Y * qb1.Y; c16 += qa0.Y * qb1.Z; c17 += qa0.Y * qb1.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W; c24 += qa0.Z * qb1.X; c25 += qa0.Z * qb1.Y; c26 += qa0.Z * qb1.Z; c27 += qa0.Z * qb1.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W; c34 += qa0.W * qb1.X; c35 += qa0.W * qb1.Y; c36 += qa0.W * qb1.Z; c37 += qa0.W * qb1.W;
                c40 += qa1.X * qb0.X; c41 += qa1.X * qb0.Y; c42 += qa1.X * qb0.Z; c43 += qa1.X * qb0.W; c44 += qa1.X * qb1.X; c45 += qa1.X * qb1.Y; c46 += qa1.X * qb1.Z; c47 += qa1.X * qb1.W;
                c50 += qa1.Y * qb0.X; c51 += qa1.Y * qb0.Y; c52 += qa1.Y * qb0.Z; c53 += qa1.Y * qb0.W; c54 += qa1.Y * qb1.X; c55 += qa1.Y * qb1.Y; c56 += qa1.Y * qb1.Z; c57 += qa1.Y * qb1.W;
                c60 += qa1.Z * qb0.X; c61 += qa1.Z * qb0.Y; c62 += qa1.Z * qb0.Z; c63 += qa1.Z * qb0.W; c64 += qa1.Z * qb1.X; c65 += qa1.Z * qb1.Y; c66 += qa1.Z * qb1.Z; c67 += qa1.Z * qb1.W;
                c70 += qa1.W * qb0.X; c71 += qa1.W * qb0.Y; c72 += qa1.W * qb0.Z; c73 += qa1.W * qb0.W; c74 += qa1.W * qb1.X; c75 += qa1.W * qb1.Y; c76 += qa1.W * qb1.Z; c77 += qa1.W * qb1.W;
            }
            {
                Quad qa0 = readA[1 * WidePitch + 0], qb0 = readB[1 * WidePitch + 0]; Quad qa1 = readA[1 * WidePitch + 16], qb1 = readB[1 * WidePitch + 16];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W; c04 += qa0.X * qb1.X; c05 += qa0.X * qb1.Y; c06 += qa0.X * qb1.Z; c07 += qa0.X * qb1.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W; c14 += qa0.Y * qb1.X; c15 += qa0.Y * qb1.Y; c16 += qa0.Y * qb1.Z; c17 += qa0.Y * qb1.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W; c24 += qa0.Z * qb1.X; c25 += qa0.Z * qb1.Y; c26 += qa0.Z * qb1.Z; c27 += qa0.Z * qb1.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W; c34 += qa0.W * qb1.X; c35 += qa0.W * qb1.Y; c36 += qa0.W * qb1.Z; c37 += qa0.W * qb1.W;
                c40 += qa1.X * qb0.X; c41 += qa1.X * qb0.Y; c42 += qa1.X * qb0.Z; c43 += qa1.X * qb0.W; c44 += qa1.X * qb1.X; c45 += qa1.X * qb1.Y; c46 += qa1.X * qb1.Z; c47 += qa1.X * qb1.W;
                c50 += qa1.Y * qb0.X; c51 += qa1.Y * qb0.Y; c52 += qa1.Y * qb0.Z; c53 += qa1.Y * qb0.W; c54 += qa1.Y * qb1.X; c55 += qa1.Y * qb1.Y; c56 += qa1.Y * qb1.Z; c57 += qa1.Y * qb1.W;
                c60 += qa1.Z * qb0.X; c61 += qa1.Z * qb0.Y; c62 += qa1.Z * qb0.Z; c63 += qa1.Z * qb0.W; c64 += qa1.Z * qb1.X; c65 += qa1.Z * qb1.Y; c66 += qa1.Z * qb1.Z; c67 += qa1.Z * qb1.W;
                c70 += qa1.W * qb0.X; c71 += qa1.W * qb0.Y; c72 += qa1.W * qb0.Z; c73 += qa1.W * qb0.W; c74 += qa1.W * qb1.X; c75 += qa1.W * qb1.Y; c76 += qa1.W * qb1.Z; c77 += qa1.W * qb1.W;
            }
            {
                Quad qa0 = readA[2 * WidePitch + 0], qb0 = readB[2 * WidePitch + 0]; Quad qa1 = readA[2 * WidePitch + 16], qb1 = readB[2 * WidePitch + 16];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W; c04 += qa0.X * qb1.X; c05 += qa0.X * qb1.Y; c06 += qa0.X * qb1.Z; c07 += qa0.X * qb1.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W; c14 += qa0.Y * qb1.X; c15 += qa0.Y * qb1.Y; c16 += qa0.Y * qb1.Z; c17 += qa0.Y * qb1.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W; c24 += qa0.Z * qb1.X; c25 += qa0.Z * qb1.Y; c26 += qa0.Z * qb1.Z; c27 += qa0.Z * qb1.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W; c34 += qa0.W * qb1.X; c35 += qa0.W * qb1.Y; c36 += qa0.W * qb1.Z; c37 += qa0.W * qb1.W;
                c40 += qa1.X * qb0.X; c41 += qa1.X * qb0.Y; c42 += qa1.X * qb0.Z; c43 += qa1.X * qb0.W; c44 += qa1.X * qb1.X; c45 += qa1.X * qb1.Y; c46 += qa1.X * qb1.Z; c47 += qa1.X * qb1.W;
                c50 += qa1.Y * qb0.X; c51 += qa1.Y * qb0.Y; c52 += qa1.Y * qb0.Z; c53 += qa1.Y * qb0.W; c54 += qa1.Y * qb1.X; c55 += qa1.Y * qb1.Y; c56 += qa1.Y * qb1.Z; c57 += qa1.Y * qb1.W;
                c60 += qa1.Z * qb0.X; c61 += qa1.Z * qb0.Y; c62 += qa1.Z * qb0.Z; c63 += qa1.Z * qb0.W; c64 += qa1.Z * qb1.X; c65 += qa1.Z * qb1.Y; c66 += qa1.Z * qb1.Z; c67 += qa1.Z * qb1.W;
                c70 += qa1.W * qb0.X; c71 += qa1.W * qb0.Y; c72 += qa1.W * qb0.Z; c73 += qa1.W * qb0.W; c74 += qa1.W * qb1.X; c75 += qa1.W * qb1.Y; c76 += qa1.W * qb1.Z; c77 += qa1.W * qb1.W;
            }
            {
                Quad qa0 = readA[3 * WidePitch + 0], qb0 = readB[3 * WidePitch + 0]; Quad qa1 = readA[3 * WidePitch + 16], qb1 = readB[3 * WidePitch + 16];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W; c04 += qa0.X * qb1.X; c05 += qa0.X * qb1.Y; c06 += qa0.X * qb1.Z; c07 += qa0.X * qb1.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W; c14 += qa0.Y * qb1.X; c15 += qa0.Y * qb1.Y; c16 += qa0.Y * qb1.Z; c17 += qa0.Y * qb1.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W; c24 += qa0.Z * qb1.X; c25 += qa0.Z * qb1.Y; c26 += qa0.Z * qb1.Z; c27 += qa0.Z * qb1.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W; c34 += qa0.W * qb1.X; c35 += qa0.W * qb1.Y; c36 += qa0.W * qb1.Z; c37 += qa0.W * qb1.W;
                c40 += qa1.X * qb0.X; c41 += qa1.X * qb0.Y; c42 += qa1.X * qb0.Z; c43 += qa1.X * qb0.W; c44 += qa1.X * qb1.X; c45 += qa1.X * qb1.Y; c46 += qa1.X * qb1.Z; c47 += qa1.X * qb1.W;
                c50 += qa1.Y * qb0.X; c51 += qa1.Y * qb0.Y; c52 += qa1.Y * qb0.Z; c53 += qa1.Y * qb0.W; c54 += qa1.Y * qb1.X; c55 += qa1.Y * qb1.Y; c56 += qa1.Y * qb1.Z; c57 += qa1.Y * qb1.W;
                c60 += qa1.Z * qb0.X; c61 += qa1.Z * qb0.Y; c62 += qa1.Z * qb0.Z; c63 += qa1.Z * qb0.W; c64 += qa1.Z * qb1.X; c65 += qa1.Z * qb1.Y; c66 += qa1.Z * qb1.Z; c67 += qa1.Z * qb1.W;
                c70 += qa1.W * qb0.X; c71 += qa1.W * qb0.Y; c72 += qa1.W * qb0.Z; c73 += qa1.W * qb0.W; c74 += qa1.W * qb1.X; c75 += qa1.W * qb1.Y; c76 += qa1.W * qb1.Z; c77 += qa1.W * qb1.W;
            }
            {
                Quad qa0 = readA[4 * WidePitch + 0], qb0 = readB[4 * WidePitch + 0]; Quad qa1 = readA[4 * WidePitch + 16], qb1 = readB[4 * WidePitch + 16];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W; c04 += qa0.X * qb1.X; c05 += qa0.X * qb1.Y; c06 += qa0.X * qb1.Z; c07 += qa0.X * qb1.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W; c14 += qa0.Y * qb1.X; c15 += qa0.Y * qb1.Y; c16 += qa0.Y * qb1.Z; c17 += qa0.Y * qb1.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W; c24 += qa0.Z * qb1.X; c25 += qa0.Z * qb1.Y; c26 += qa0.Z * qb1.Z; c27 += qa0.Z * qb1.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W; c34 += qa0.W * qb1.X; c35 += qa0.W * qb1.Y; c36 += qa0.W * qb1.Z; c37 += qa0.W * qb1.W;
                c40 += qa1.X * qb0.X; c41 += qa1.X * qb0.Y; c42 += qa1.X * qb0.Z; c43 += qa1.X * qb0.W; c44 += qa1.X * qb1.X; c45 += qa1.X * qb1.Y; c46 += qa1.X * qb1.Z; c47 += qa1.X * qb1.W;
                c50 += qa1.Y * qb0.X; c51 += qa1.Y * qb0.Y; c52 += qa1.Y * qb0.Z; c53 += qa1.Y * qb0.W; c54 += qa1.Y * qb1.X; c55 += qa1.Y * qb1.Y; c56 += qa1.Y * qb1.Z; c57 += qa1.Y * qb1.W;
                c60 += qa1.Z * qb0.X; c61 += qa1.Z * qb0.Y; c62 += qa1.Z * qb0.Z; c63 += qa1.Z * qb0.W; c64 += qa1.Z * qb1.X; c65 += qa1.Z * qb1.Y; c66 += qa1.Z * qb1.Z; c67 += qa1.Z * qb1.W;
                c70 += qa1.W * qb0.X; c71 += qa1.W * qb0.Y; c72 += qa1.W * qb0.Z; c73 += qa1.W * qb0.W; c74 += qa1.W * qb1.X; c75 += qa1.W * qb1.Y; c76 += qa1.W * qb1.Z; c77 += qa1.W * qb1.W;
            }
            {
                Quad qa0 = readA[5 * WidePitch + 0], qb0 = readB[5 * WidePitch + 0]; Quad qa1 = readA[5 * WidePitch + 16], qb1 = readB[5 * WidePitch + 16];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W; c04 += qa0.X * qb1.X; c05 += qa0.X * qb1.Y; c06 += qa0.X * qb1.Z; c07 += qa0.X * qb1.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W; c14 += qa0.Y * qb1.X; c15 += qa0.Y * qb1.Y; c16 += qa0.Y * qb1.Z; c17 += qa0.Y * qb1.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W; c24 += qa0.Z * qb1.X; c25 += qa0.Z * qb1.Y; c26 += qa0.Z * qb1.Z; c27 += qa0.Z * qb1.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W; c34 += qa0.W * qb1.X; c35 += qa0.W * qb1.Y; c36 += qa0.W * qb1.Z; c37 += qa0.W * qb1.W;
                c40 += qa1.X * qb0.X; c41 += qa1.X * qb0.Y; c42 += qa1.X * qb0.Z; c43 += qa1.X * qb0.W; c44 += qa1.X * qb1.X; c45 += qa1.X * qb1.Y; c46 += qa1.X * qb1.Z; c47 += qa1.X * qb1.W;
                c50 += qa1.Y * qb0.X; c51 += qa1.Y * qb0.Y; c52 += qa1.Y * qb0.Z; c53 += qa1.Y * qb0.W; c54 += qa1.Y * qb1.X; c55 += qa1.Y * qb1.Y; c56 += qa1.Y * qb1.Z; c57 += qa1.Y * qb1.W;
                c60 += qa1.Z * qb0.X; c61 += qa1.Z * qb0.Y; c62 += qa1.Z * qb0.Z; c63 += qa1.Z * qb0.W; c64 += qa1.Z * qb1.X; c65 += qa1.Z * qb1.Y; c66 += qa1.Z * qb1.Z; c67 += qa1.Z * qb1.W;
                c70 += qa1.W * qb0.X; c71 += qa1.W * qb0.Y; c72 += qa1.W * qb0.Z; c73 += qa1.W * qb0.W; c74 += qa1.W * qb1.X; c75 += qa1.W * qb1.Y; c76 += qa1.W * qb1.Z; c77 += qa1.W * qb1.W;
            }
            {
                Quad qa0 = readA[6 * WidePitch + 0], qb0 = readB[6 * WidePitch + 0]; Quad qa1 = readA[6 * WidePitch + 16], qb1 = readB[6 * WidePitch + 16];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W; c04 += qa0.X * qb1.X; c05 += qa0.X * qb1.Y; c06 += qa0.X * qb1.Z; c07 += qa0.X * qb1.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W; c14 += qa0.Y * qb1.X; c15 += qa0.Y * qb1.Y; c16 += qa0.Y * qb1.Z; c17 += qa0.Y * qb1.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W; c24 += qa0.Z * qb1.X; c25 += qa0.Z * qb1.Y; c26 += qa0.Z * qb1.Z; c27 += qa0.Z * qb1.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W; c34 += qa0.W * qb1.X; c35 += qa0.W * qb1.Y; c36 += qa0.W * qb1.Z; c37 += qa0.W * qb1.W;
                c40 += qa1.X * qb0.X; c41 += qa1.X * qb0.Y; c42 += qa1.X * qb0.Z; c43 += qa1.X * qb0.W; c44 += qa1.X * qb1.X; c45 += qa1.X * qb1.Y; c46 += qa1.X * qb1.Z; c47 += qa1.X * qb1.W;
                c50 += qa1.Y * qb0.X; c51 += qa1.Y * qb0.Y; c52 += qa1.Y * qb0.Z; c53 += qa1.Y * qb0.W; c54 += qa1.Y * qb1.X; c55 += qa1.Y * qb1.Y; c56 += qa1.Y * qb1.Z; c57 += qa1.Y * qb1.W;
                c60 += qa1.Z * qb0.X; c61 += qa1.Z * qb0.Y; c62 += qa1.Z * qb0.Z; c63 += qa1.Z * qb0.W; c64 += qa1.Z * qb1.X; c65 += qa1.Z * qb1.Y; c66 += qa1.Z * qb1.Z; c67 += qa1.Z * qb1.W;
                c70 += qa1.W * qb0.X; c71 += qa1.W * qb0.Y; c72 += qa1.W * qb0.Z; c73 += qa1.W * qb0.W; c74 += qa1.W * qb1.X; c75 += qa1.W * qb1.Y; c76 += qa1.W * qb1.Z; c77 += qa1.W * qb1.W;
            }
            {
                Quad qa0 = readA[7 * WidePitch + 0], qb0 = readB[7 * WidePitch + 0]; Quad qa1 = readA[7 * WidePitch + 16], qb1 = readB[7 * WidePitch + 16];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W; c04 += qa0.X * qb1.X; c05 += qa0.X * qb1.Y; c06 += qa0.X * qb1.Z; c07 += qa0.X * qb1.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W; c14 += qa0.Y * qb1.X; c15 += qa0.Y * qb1.Y; c16 += qa0.Y * qb1.Z; c17 += qa0.Y * qb1.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W; c24 += qa0.Z * qb1.X; c25 += qa0.Z * qb1.Y; c26 += qa0.Z * qb1.Z; c27 += qa0.Z * qb1.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W; c34 += qa0.W * qb1.X; c35 += qa0.W * qb1.Y; c36 += qa0.W * qb1.Z; c37 += qa0.W * qb1.W;
                c40 += qa1.X * qb0.X; c41 += qa1.X * qb0.Y; c42 += qa1.X * qb0.Z; c43 += qa1.X * qb0.W; c44 += qa1.X * qb1.X; c45 += qa1.X * qb1.Y; c46 += qa1.X * qb1.Z; c47 += qa1.X * qb1.W;
                c50 += qa1.Y * qb0.X; c51 += qa1.Y * qb0.Y; c52 += qa1.Y * qb0.Z; c53 += qa1.Y * qb0.W; c54 += qa1.Y * qb1.X; c55 += qa1.Y * qb1.Y; c56 += qa1.Y * qb1.Z; c57 += qa1.Y * qb1.W;
                c60 += qa1.Z * qb0.X; c61 += qa1.Z * qb0.Y; c62 += qa1.Z * qb0.Z; c63 += qa1.Z * qb0.W; c64 += qa1.Z * qb1.X; c65 += qa1.Z * qb1.Y; c66 += qa1.Z * qb1.Z; c67 += qa1.Z * qb1.W;
                c70 += qa1.W * qb0.X; c71 += qa1.W * qb0.Y; c72 += qa1.W * qb0.Z; c73 += qa1.W * qb0.W; c74 += qa1.W * qb1.X; c75 += qa1.W * qb1.Y; c76 += qa1.W * qb1.Z; c77 += qa1.W * qb1.W;
            }
            {
                Quad qa0 = readA[8 * WidePitch + 0], qb0 = readB[8 * WidePitch + 0]; Quad qa1 = readA[8 * WidePitch + 16], qb1 = readB[8 * WidePitch + 16];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W; c04 += qa0.X * qb1.X; c05 += qa0.X * qb1.Y; c06 += qa0.X * qb1.Z; c07 += qa0.X * qb1.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W; c14 += qa0.Y * qb1.X; c15 += qa0.Y * qb1.Y; c16 += qa0.Y * qb1.Z; c17 += qa0.Y * qb1.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W; c24 += qa0.Z * qb1.X; c25 += qa0.Z * qb1.Y; c26 += qa0.Z * qb1.Z; c27 += qa0.Z * qb1.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W; c34 += qa0.W * qb1.X; c35 += qa0.W * qb1.Y; c36 += qa0.W * qb1.Z; c37 += qa0.W * qb1.W;
                c40 += qa1.X * qb0.X; c41 += qa1.X * qb0.Y; c42 += qa1.X * qb0.Z; c43 += qa1.X * qb0.W; c44 += qa1.X * qb1.X; c45 += qa1.X * qb1.Y; c46 += qa1.X * qb1.Z; c47 += qa1.X * qb1.W;
                c50 += qa1.Y * qb0.X; c51 += qa1.Y * qb0.Y; c52 += qa1.Y * qb0.Z; c53 += qa1.Y * qb0.W; c54 += qa1.Y * qb1.X; c55 += qa1.Y * qb1.Y; c56 += qa1.Y * qb1.Z; c57 += qa1.Y * qb1.W;
                c60 += qa1.Z * qb0.X; c61 += qa1.Z * qb0.Y; c62 += qa1.Z * qb0.Z; c63 += qa1.Z * qb0.W; c64 += qa1.Z * qb1.X; c65 += qa1.Z * qb1.Y; c66 += qa1.Z * qb1.Z; c67 += qa1.Z * qb1.W;
                c70 += qa1.W * qb0.X; c71 += qa1.W * qb0.Y; c72 += qa1.W * qb0.Z; c73 += qa1.W * qb0.W; c74 += qa1.W * qb1.X; c75 += qa1.W * qb1.Y; c76 += qa1.W * qb1.Z; c77 += qa1.W * qb1.W;
            }
            {
                Quad qa0 = readA[9 * WidePitch + 0], qb0 = readB[9 * WidePitch + 0]; Quad qa1 = readA[9 * WidePitch + 16], qb1 = readB[9 * WidePitch + 16];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W; c04 += qa0.X * qb1.X; c05 += qa0.X * qb1.Y; c06 += qa0.X * qb1.Z; c07 += qa0.X * qb1.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W; c14 += qa0.Y * qb1.X; c15 += qa0.Y * qb1.Y; c16 += qa0.Y * qb1.Z; c17 += qa0.Y * qb1.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W; c24 += qa0.Z * qb1.X; c25 += qa0.Z * qb1.Y; c26 += qa0.Z * qb1.Z; c27 += qa0.Z * qb1.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W; c34 += qa0.W * qb1.X; c35 += qa0.W * qb1.Y; c36 += qa0.W * qb1.Z; c37 += qa0.W * qb1.W;
                c40 += qa1.X * qb0.X; c41 += qa1.X * qb0.Y; c42 += qa1.X * qb0.Z; c43 += qa1.X * qb0.W; c44 += qa1.X * qb1.X; c45 += qa1.X * qb1.Y; c46 += qa1.X * qb1.Z; c47 += qa1.X * qb1.W;
                c50 += qa1.Y * qb0.X; c51 += qa1.Y * qb0.Y; c52 += qa1.Y * qb0.Z; c53 += qa1.Y * qb0.W; c54 += qa1.Y * qb1.X; c55 += qa1.Y * qb1.Y; c56 += qa1.Y * qb1.Z; c57 += qa1.Y * qb1.W;
                c60 += qa1.Z * qb0.X; c61 += qa1.Z * qb0.Y; c62 += qa1.Z * qb0.Z; c63 += qa1.Z * qb0.W; c64 += qa1.Z * qb1.X; c65 += qa1.Z * qb1.Y; c66 += qa1.Z * qb1.Z; c67 += qa1.Z * qb1.W;
                c70 += qa1.W * qb0.X; c71 += qa1.W * qb0.Y; c72 += qa1.W * qb0.Z; c73 += qa1.W * qb0.W; c74 += qa1.W * qb1.X; c75 += qa1.W * qb1.Y; c76 += qa1.W * qb1.Z; c77 += qa1.W * qb1.W;
            }
            {
                Quad qa0 = readA[10 * WidePitch + 0], qb0 = readB[10 * WidePitch + 0]; Quad qa1 = readA[10 * WidePitch + 16], qb1 = readB[10 * WidePitch + 16];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W; c04 += qa0.X * qb1.X; c05 += qa0.X * qb1.Y; c06 += qa0.X * qb1.Z; c07 += qa0.X * qb1.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W; c14 += qa0.Y * qb1.X; c15 += qa0.Y * qb1.Y; c16 += qa0.Y * qb1.Z; c17 += qa0.Y * qb1.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W; c24 += qa0.Z * qb1.X; c25 += qa0.Z * qb1.Y; c26 += qa0.Z * qb1.Z; c27 += qa0.Z * qb1.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W; c34 += qa0.W * qb1.X; c35 += qa0.W * qb1.Y; c36 += qa0.W * qb1.Z; c37 += qa0.W * qb1.W;
                c40 += qa1.X * qb0.X; c41 += qa1.X * qb0.Y; c42 += qa1.X * qb0.Z; c43 += qa1.X * qb0.W; c44 += qa1.X * qb1.X; c45 += qa1.X * qb1.Y; c46 += qa1.X * qb1.Z; c47 += qa1.X * qb1.W;
                c50 += qa1.Y * qb0.X; c51 += qa1.Y * qb0.Y; c52 += qa1.Y * qb0.Z; c53 += qa1.Y * qb0.W; c54 += qa1.Y * qb1.X; c55 += qa1.Y * qb1.Y; c56 += qa1.Y * qb1.Z; c57 += qa1.Y * qb1.W;
                c60 += qa1.Z * qb0.X; c61 += qa1.Z * qb0.Y; c62 += qa1.Z * qb0.Z; c63 += qa1.Z * qb0.W; c64 += qa1.Z * qb1.X; c65 += qa1.Z * qb1.Y; c66 += qa1.Z * qb1.Z; c67 += qa1.Z * qb1.W;
                c70 += qa1.W * qb0.X; c71 += qa1.W * qb0.Y; c72 += qa1.W * qb0.Z; c73 += qa1.W * qb0.W; c74 += qa1.W * qb1.X; c75 += qa1.W * qb1.Y; c76 += qa1.W * qb1.Z; c77 += qa1.W * qb1.W;
            }
            {
                Quad qa0 = readA[11 * WidePitch + 0], qb0 = readB[11 * WidePitch + 0]; Quad qa1 = readA[11 * WidePitch + 16], qb1 = readB[11 * WidePitch + 16];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W; c04 += qa0.X * qb1.X; c05 += qa0.X * qb1.Y; c06 += qa0.X * qb1.Z; c07 += qa0.X * qb1.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W; c14 += qa0.Y * qb1.X; c15 += qa0.Y * qb1.Y; c16 += qa0.Y * qb1.Z; c17 += qa0.Y * qb1.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W; c24 += qa0.Z * qb1.X; c25 += qa0.Z * qb1.Y; c26 += qa0.Z * qb1.Z; c27 += qa0.Z * qb1.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W; c34 += qa0.W * qb1.X; c35 += qa0.W * qb1.Y; c36 += qa0.W * qb1.Z; c37 += qa0.W * qb1.W;
                c40 += qa1.X * qb0.X; c41 += qa1.X * qb0.Y; c42 += qa1.X * qb0.Z; c43 += qa1.X * qb0.W; c44 += qa1.X * qb1.X; c45 += qa1.X * qb1.Y; c46 += qa1.X * qb1.Z; c47 += qa1.X * qb1.W;
                c50 += qa1.Y * qb0.X; c51 += qa1.Y * qb0.Y; c52 += qa1.Y * qb0.Z; c53 += qa1.Y * qb0.W; c54 += qa1.Y * qb1.X; c55 += qa1.Y * qb1.Y; c56 += qa1.Y * qb1.Z; c57 += qa1.Y * qb1.W;
                c60 += qa1.Z * qb0.X; c61 += qa1.Z * qb0.Y; c62 += qa1.Z * qb0.Z; c63 += qa1.Z * qb0.W; c64 += qa1.Z * qb1.X; c65 += qa1.Z * qb1.Y; c66 += qa1.Z * qb1.Z; c67 += qa1.Z * qb1.W;
                c70 += qa1.W * qb0.X; c71 += qa1.W * qb0.Y; c72 += qa1.W * qb0.Z; c73 += qa1.W * qb0.W; c74 += qa1.W * qb1.X; c75 += qa1.W * qb1.Y; c76 += qa1.W * qb1.Z; c77 += qa1.W * qb1.W;
            }
            {
                Quad qa0 = readA[12 * WidePitch + 0], qb0 = readB[12 * WidePitch + 0]; Quad qa1 = readA[12 * WidePitch + 16], qb1 = readB[12 * WidePitch + 16];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W; c04 += qa0.X * qb1.X; c05 += qa0.X * qb1.Y; c06 += qa0.X * qb1.Z; c07 += qa0.X * qb1.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W; c14 += qa0.Y * qb1.X; c15 += qa0.Y * qb1.Y; c16 += qa0.Y * qb1.Z; c17 += qa0.Y * qb1.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W; c24 += qa0.Z * qb1.X; c25 += qa0.Z * qb1.Y; c26 += qa0.Z * qb1.Z; c27 += qa0.Z * qb1.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W; c34 += qa0.W * qb1.X; c35 += qa0.W * qb1.Y; c36 += qa0.W * qb1.Z; c37 += qa0.W * qb1.W;
                c40 += qa1.X * qb0.X; c41 += qa1.X * qb0.Y; c42 += qa1.X * qb0.Z; c43 += qa1.X * qb0.W; c44 += qa1.X * qb1.X; c45 += qa1.X * qb1.Y; c46 += qa1.X * qb1.Z; c47 += qa1.X * qb1.W;
                c50 += qa1.Y * qb0.X; c51 += qa1.Y * qb0.Y; c52 += qa1.Y * qb0.Z; c53 += qa1.Y * qb0.W; c54 += qa1.Y * qb1.X; c55 += qa1.Y * qb1.Y; c56 += qa1.Y * qb1.Z; c57 += qa1.Y * qb1.W;
                c60 += qa1.Z * qb0.X; c61 += qa1.Z * qb0.Y; c62 += qa1.Z * qb0.Z; c63 += qa1.Z * qb0.W; c64 += qa1.Z * qb1.X; c65 += qa1.Z * qb1.Y; c66 += qa1.Z * qb1.Z; c67 += qa1.Z * qb1.W;
                c70 += qa1.W * qb0.X; c71 += qa1.W * qb0.Y; c72 += qa1.W * qb0.Z; c73 += qa1.W * qb0.W; c74 += qa1.W * qb1.X; c75 += qa1.W * qb1.Y; c76 += qa1.W * qb1.Z; c77 += qa1.W * qb1.W;
            }
            {
                Quad qa0 = readA[13 * WidePitch + 0], qb0 = readB[13 * WidePitch + 0]; Quad qa1 = readA[13 * WidePitch + 16], qb1 = readB[13 * WidePitch + 16];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W; c04 += qa0.X * qb1.X; c05 += qa0.X * qb1.Y; c06 += qa0.X * qb1.Z; c07 += qa0.X * qb1.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W; c14 += qa0.Y * qb1.X; c15 += qa0.Y * qb1.Y; c16 += qa0.Y * qb1.Z; c17 += qa0.Y * qb1.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W; c24 += qa0.Z * qb1.X; c25 += qa0.Z * qb1.Y; c26 += qa0.Z * qb1.Z; c27 += qa0.Z * qb1.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W; c34 += qa0.W * qb1.X; c35 += qa0.W * qb1.Y; c36 += qa0.W * qb1.Z; c37 += qa0.W * qb1.W;
                c40 += qa1.X * qb0.X; c41 += qa1.X * qb0.Y; c42 += qa1.X * qb0.Z; c43 += qa1.X * qb0.W; c44 += qa1.X * qb1.X; c45 += qa1.X * qb1.Y; c46 += qa1.X * qb1.Z; c47 += qa1.X * qb1.W;
                c50 += qa1.Y * qb0.X; c51 += qa1.Y * qb0.Y; c52 += qa1.Y * qb0.Z; c53 += qa1.Y * qb0.W; c54 += qa1.Y * qb1.X; c55 += qa1.Y * qb1.Y; c56 += qa1.Y * qb1.Z; c57 += qa1.Y * qb1.W;
                c60 += qa1.Z * qb0.X; c61 += qa1.Z * qb0.Y; c62 += qa1.Z * qb0.Z; c63 += qa1.Z * qb0.W; c64 += qa1.Z * qb1.X; c65 += qa1.Z * qb1.Y; c66 += qa1.Z * qb1.Z; c67 += qa1.Z * qb1.W;
                c70 += qa1.W * qb0.X; c71 += qa1.W * qb0.Y; c72 += qa1.W * qb0.Z; c73 += qa1.W * qb0.W; c74 += qa1.W * qb1.X; c75 += qa1.W * qb1.Y; c76 += qa1.W * qb1.Z; c77 += qa1.W * qb1.W;
            }
            {
                Quad qa0 = readA[14 * WidePitch + 0], qb0 = readB[14 * WidePitch + 0]; Quad qa1 = readA[14 * WidePitch + 16], qb1 = readB[14 * WidePitch + 16];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W; c04 += qa0.X * qb1.X; c05 += qa0.X * qb1.Y; c06 += qa0.X * qb1.Z; c07 += qa0.X * qb1.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W; c14 += qa0.Y * qb1.X; c15 += qa0.Y * qb1.Y; c16 += qa0.Y * qb1.Z; c17 += qa0.Y * qb1.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W; c24 += qa0.Z * qb1.X; c25 += qa0.Z * qb1.Y; c26 += qa0.Z * qb1.Z; c27 += qa0.Z * qb1.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W; c34 += qa0.W * qb1.X; c35 += qa0.W * qb1.Y; c36 += qa0.W * qb1.Z; c37 += qa0.W * qb1.W;
                c40 += qa1.X * qb0.X; c41 += qa1.X * qb0.Y; c42 += qa1.X * qb0.Z; c43 += qa1.X * qb0.W; c44 += qa1.X * qb1.X; c45 += qa1.X * qb1.Y; c46 += qa1.X * qb1.Z; c47 += qa1.X * qb1.W;
                c50 += qa1.Y * qb0.X; c51 += qa1.Y * qb0.Y; c52 += qa1.Y * qb0.Z; c53 += qa1.Y * qb0.W; c54 += qa1.Y * qb1.X; c55 += qa1.Y * qb1.Y; c56 += qa1.Y * qb1.Z; c57 += qa1.Y * qb1.W;
                c60 += qa1.Z * qb0.X; c61 += qa1.Z * qb0.Y; c62 += qa1.Z * qb0.Z; c63 += qa1.Z * qb0.W; c64 += qa1.Z * qb1.X; c65 += qa1.Z * qb1.Y; c66 += qa1.Z * qb1.Z; c67 += qa1.Z * qb1.W;
                c70 += qa1.W * qb0.X; c71 += qa1.W * qb0.Y; c72 += qa1.W * qb0.Z; c73 += qa1.W * qb0.W; c74 += qa1.W * qb1.X; c75 += qa1.W * qb1.Y; c76 += qa1.W * qb1.Z; c77 += qa1.W * qb1.W;
            }
            {
                Quad qa0 = readA[15 * WidePitch + 0], qb0 = readB[15 * WidePitch + 0]; Quad qa1 = readA[15 * WidePitch + 16], qb1 = readB[15 * WidePitch + 16];
                c00 += qa0.X * qb0.X; c01 += qa0.X * qb0.Y; c02 += qa0.X * qb0.Z; c03 += qa0.X * qb0.W; c04 += qa0.X * qb1.X; c05 += qa0.X * qb1.Y; c06 += qa0.X * qb1.Z; c07 += qa0.X * qb1.W;
                c10 += qa0.Y * qb0.X; c11 += qa0.Y * qb0.Y; c12 += qa0.Y * qb0.Z; c13 += qa0.Y * qb0.W; c14 += qa0.Y * qb1.X; c15 += qa0.Y * qb1.Y; c16 += qa0.Y * qb1.Z; c17 += qa0.Y * qb1.W;
                c20 += qa0.Z * qb0.X; c21 += qa0.Z * qb0.Y; c22 += qa0.Z * qb0.Z; c23 += qa0.Z * qb0.W; c24 += qa0.Z * qb1.X; c25 += qa0.Z * qb1.Y; c26 += qa0.Z * qb1.Z; c27 += qa0.Z * qb1.W;
                c30 += qa0.W * qb0.X; c31 += qa0.W * qb0.Y; c32 += qa0.W * qb0.Z; c33 += qa0.W * qb0.W; c34 += qa0.W * qb1.X; c35 += qa0.W * qb1.Y; c36 += qa0.W * qb1.Z; c37 += qa0.W * qb1.W;
                c40 += qa1.X * qb0.X; c41 += qa1.X * qb0.Y; c42 += qa1.X * qb0.Z; c43 += qa1.X * qb0.W; c44 += qa1.X * qb1.X; c45 += qa1.X * qb1.Y; c46 += qa1.X * qb1.Z; c47 += qa1.X * qb1.W;
                c50 += qa1.Y * qb0.X; c51 += qa1.Y * qb0.Y; c52 += qa1.Y * qb0.Z; c53 += qa1.Y * qb0.W; c54 += qa1.Y * qb1.X; c55 += qa1.Y * qb1.Y; c56 += qa1.Y * qb1.Z; c57 += qa1.Y * qb1.W;
                c60 += qa1.Z * qb0.X; c61 += qa1.Z * qb0.Y; c62 += qa1.Z * qb0.Z; c63 += qa1.Z * qb0.W; c64 += qa1.Z * qb1.X; c65 += qa1.Z * qb1.Y; c66 += qa1.Z * qb1.Z; c67 += qa1.Z * qb1.W;
                c70 += qa1.W * qb0.X; c71 += qa1.W * qb0.Y; c72 += qa1.W * qb0.Z; c73 += qa1.W * qb0.W; c74 += qa1.W * qb1.X; c75 += qa1.W * qb1.Y; c76 += qa1.W * qb1.Z; c77 += qa1.W * qb1.W;
            }
            Group.Barrier();
        }
        var band = SharedMemory.Allocate<Quad>(32 * WidePitch); // [32][n / 4]: the epilogue's staging
        var cz = c.SubView(z * s.Sc);
        if (s.HasEpilogue)
        {
            // The stores, a band of 32 rows at a time through shared memory: the threads owning the band's rows write their
            // accumulators there as quads, then all 256 threads read it back along the rows, so a warp's stores of C (and D)
            // are consecutive, and the bias and activation are one loop rather than a copy per accumulator.
            var bandF = band.Cast<float>();
            var write = band.SubView((ty % 8) * 4 * WidePitch + tx);
            var dz = s.Activation != 0 ? d.SubView(z * s.Sc) : d;
            for (int part = 0; part < 4; part++)
            {
                Group.Barrier(); // the previous band is read (and the last step's tiles)
                if (ty / 8 == part % 2)
                {
                    if (part / 2 == 0)
                    {
                        write[0 * WidePitch + 0] = new Quad { X = c00, Y = c01, Z = c02, W = c03 }; write[0 * WidePitch + 16] = new Quad { X = c04, Y = c05, Z = c06, W = c07 };
                        write[1 * WidePitch + 0] = new Quad { X = c10, Y = c11, Z = c12, W = c13 }; write[1 * WidePitch + 16] = new Quad { X = c14, Y = c15, Z = c16, W = c17 };
                        write[2 * WidePitch + 0] = new Quad { X = c20, Y = c21, Z = c22, W = c23 }; write[2 * WidePitch + 16] = new Quad { X = c24, Y = c25, Z = c26, W = c27 };
                        write[3 * WidePitch + 0] = new Quad { X = c30, Y = c31, Z = c32, W = c33 }; write[3 * WidePitch + 16] = new Quad { X = c34, Y = c35, Z = c36, W = c37 };
                    }
                    if (part / 2 == 1)
                    {
                        write[0 * WidePitch + 0] = new Quad { X = c40, Y = c41, Z = c42, W = c43 }; write[0 * WidePitch + 16] = new Quad { X = c44, Y = c45, Z = c46, W = c47 };
                        write[1 * WidePitch + 0] = new Quad { X = c50, Y = c51, Z = c52, W = c53 }; write[1 * WidePitch + 16] = new Quad { X = c54, Y = c55, Z = c56, W = c57 };
                        write[2 * WidePitch + 0] = new Quad { X = c60, Y = c61, Z = c62, W = c63 }; write[2 * WidePitch + 16] = new Quad { X = c64, Y = c65, Z = c66, W = c67 };
                        write[3 * WidePitch + 0] = new Quad { X = c70, Y = c71, Z = c72, W = c73 }; write[3 * WidePitch + 16] = new Quad { X = c74, Y = c75, Z = c76, W = c77 };
                    }
                }
                Group.Barrier();
                for (int e = tid; e < 32 * WideTile; e += 256)
                {
                    int r = e / WideTile, col = e % WideTile, m = row0 + part * 32 + r, n = col0 + col;
                    if (m >= s.M || n >= s.N) continue;
                    long at = (long)m * s.Ldc + n;
                    float v = bandF[r * (WidePitch * 4) + col];
                    Finish(cz, dz, bias, s, m, n, at, s.Accumulate != 0 ? cz[at] + v : v);
                }
            }
        }
        else
        {
            // No epilogue (the backward products): each thread stores its outputs directly.
            int r0 = row0 + ty * 4, q0 = col0 + tx * 4;
            Store(cz, s, r0 + 0, q0 + 0, c00); Store(cz, s, r0 + 0, q0 + 1, c01); Store(cz, s, r0 + 0, q0 + 2, c02); Store(cz, s, r0 + 0, q0 + 3, c03); Store(cz, s, r0 + 0, q0 + 64, c04); Store(cz, s, r0 + 0, q0 + 65, c05); Store(cz, s, r0 + 0, q0 + 66, c06); Store(cz, s, r0 + 0, q0 + 67, c07);
            Store(cz, s, r0 + 1, q0 + 0, c10); Store(cz, s, r0 + 1, q0 + 1, c11); Store(cz, s, r0 + 1, q0 + 2, c12); Store(cz, s, r0 + 1, q0 + 3, c13); Store(cz, s, r0 + 1, q0 + 64, c14); Store(cz, s, r0 + 1, q0 + 65, c15); Store(cz, s, r0 + 1, q0 + 66, c16); Store(cz, s, r0 + 1, q0 + 67, c17);
            Store(cz, s, r0 + 2, q0 + 0, c20); Store(cz, s, r0 + 2, q0 + 1, c21); Store(cz, s, r0 + 2, q0 + 2, c22); Store(cz, s, r0 + 2, q0 + 3, c23); Store(cz, s, r0 + 2, q0 + 64, c24); Store(cz, s, r0 + 2, q0 + 65, c25); Store(cz, s, r0 + 2, q0 + 66, c26); Store(cz, s, r0 + 2, q0 + 67, c27);
            Store(cz, s, r0 + 3, q0 + 0, c30); Store(cz, s, r0 + 3, q0 + 1, c31); Store(cz, s, r0 + 3, q0 + 2, c32); Store(cz, s, r0 + 3, q0 + 3, c33); Store(cz, s, r0 + 3, q0 + 64, c34); Store(cz, s, r0 + 3, q0 + 65, c35); Store(cz, s, r0 + 3, q0 + 66, c36); Store(cz, s, r0 + 3, q0 + 67, c37);
            Store(cz, s, r0 + 64, q0 + 0, c40); Store(cz, s, r0 + 64, q0 + 1, c41); Store(cz, s, r0 + 64, q0 + 2, c42); Store(cz, s, r0 + 64, q0 + 3, c43); Store(cz, s, r0 + 64, q0 + 64, c44); Store(cz, s, r0 + 64, q0 + 65, c45); Store(cz, s, r0 + 64, q0 + 66, c46); Store(cz, s, r0 + 64, q0 + 67, c47);
            Store(cz, s, r0 + 65, q0 + 0, c50); Store(cz, s, r0 + 65, q0 + 1, c51); Store(cz, s, r0 + 65, q0 + 2, c52); Store(cz, s, r0 + 65, q0 + 3, c53); Store(cz, s, r0 + 65, q0 + 64, c54); Store(cz, s, r0 + 65, q0 + 65, c55); Store(cz, s, r0 + 65, q0 + 66, c56); Store(cz, s, r0 + 65, q0 + 67, c57);
            Store(cz, s, r0 + 66, q0 + 0, c60); Store(cz, s, r0 + 66, q0 + 1, c61); Store(cz, s, r0 + 66, q0 + 2, c62); Store(cz, s, r0 + 66, q0 + 3, c63); Store(cz, s, r0 + 66, q0 + 64, c64); Store(cz, s, r0 + 66, q0 + 65, c65); Store(cz, s, r0 + 66, q0 + 66, c66); Store(cz, s, r0 + 66, q0 + 67, c67);
            Store(cz, s, r0 + 67, q0 + 0, c70); Store(cz, s, r0 + 67, q0 + 1, c71); Store(cz, s, r0 + 67, q0 + 2, c72); Store(cz, s, r0 + 67, q0 + 3, c73); Store(cz, s, r0 + 67, q0 + 64, c74); Store(cz, s, r0 + 67, q0 + 65, c75); Store(cz, s, r0 + 67, q0 + 66, c76); Store(cz, s, r0 + 67, q0 + 67, c77);
        }
    }

    /// <summary>The narrow tiles, for products with few rows and many columns (a convolution's output channels by its output
    /// positions): 32 rows × 128 columns (group (32, 8)) and 16 rows × 256 columns (group (64, 4)), 4×4 outputs per thread as
    /// on the 64 tile. A 64-row tile over a 16-channel layer computes four times the outputs it keeps. Launch: grid
    /// (⌈N/columns⌉, ⌈M/rows⌉, slices).</summary>
    public const int Narrow32Rows = 32, Narrow32Columns = 128, Narrow16Rows = 16, Narrow16Columns = 256, NarrowDepth = 16;
    public const int Narrow32PitchA = Narrow32Rows / 4 + 1, Narrow32PitchB = Narrow32Columns / 4 + 1, Narrow16PitchA = Narrow16Rows / 4 + 1, Narrow16PitchB = Narrow16Columns / 4 + 1;

    public static void GemmNarrow32<TProduct>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, ArrayView<float> d, GemmShape s)
        where TProduct : struct, IGemmGeometry
    {
        s = default(TProduct).Fix(s); // the sizes and strides the network's generated geometry knows become constants
        int tx = Group.IdxX, ty = Group.IdxY, tid = ty * 32 + tx;
        int row0 = Grid.IdxY * Narrow32Rows, col0 = Grid.IdxX * Narrow32Columns, z = Grid.IdxZ;
        var tileA = SharedMemory.Allocate<Quad>(NarrowDepth * Narrow32PitchA); // [k][m / 4]
        var tileB = SharedMemory.Allocate<Quad>(NarrowDepth * Narrow32PitchB); // [k][n / 4]
        var stageA = tileA.Cast<float>(); // the same memory, a float at a time, for staging
        var stageB = tileB.Cast<float>();
        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;
        bool aAlongK = s.Ak == 1, bAlongN = s.Bn == 1 || s.Bk != 1;
        int first, last, kBegin = 0, kEnd = s.K;
        if (s.KChunk > 0) { first = 0; last = 1; kBegin = z * s.KChunk; kEnd = XMath.Min(s.K, kBegin + s.KChunk); }
        else { first = z * s.Inner; last = XMath.Min(first + s.Inner, s.Items); }
        int kSteps = (kEnd - kBegin + NarrowDepth - 1) / NarrowDepth, total = XMath.Max(last - first, 0) * kSteps;
        // The 2 element(s) of A's slice and the 8 of B's this thread stages: (m, k) of A and (k, n) of B for
        // e = tid + 256·r, read along the index with stride 1 so that consecutive threads read consecutive addresses.
        int eA0 = tid + 0, mA0 = aAlongK ? eA0 / NarrowDepth : eA0 % Narrow32Rows, kA0 = aAlongK ? eA0 % NarrowDepth : eA0 / Narrow32Rows;
        int eA1 = tid + 256, mA1 = aAlongK ? eA1 / NarrowDepth : eA1 % Narrow32Rows, kA1 = aAlongK ? eA1 % NarrowDepth : eA1 / Narrow32Rows;
        int eB0 = tid + 0, nB0 = bAlongN ? eB0 % Narrow32Columns : eB0 / NarrowDepth, kB0 = bAlongN ? eB0 / Narrow32Columns : eB0 % NarrowDepth;
        int eB1 = tid + 256, nB1 = bAlongN ? eB1 % Narrow32Columns : eB1 / NarrowDepth, kB1 = bAlongN ? eB1 / Narrow32Columns : eB1 % NarrowDepth;
        int eB2 = tid + 512, nB2 = bAlongN ? eB2 % Narrow32Columns : eB2 / NarrowDepth, kB2 = bAlongN ? eB2 / Narrow32Columns : eB2 % NarrowDepth;
        int eB3 = tid + 768, nB3 = bAlongN ? eB3 % Narrow32Columns : eB3 / NarrowDepth, kB3 = bAlongN ? eB3 / Narrow32Columns : eB3 % NarrowDepth;
        int eB4 = tid + 1024, nB4 = bAlongN ? eB4 % Narrow32Columns : eB4 / NarrowDepth, kB4 = bAlongN ? eB4 / Narrow32Columns : eB4 % NarrowDepth;
        int eB5 = tid + 1280, nB5 = bAlongN ? eB5 % Narrow32Columns : eB5 / NarrowDepth, kB5 = bAlongN ? eB5 / Narrow32Columns : eB5 % NarrowDepth;
        int eB6 = tid + 1536, nB6 = bAlongN ? eB6 % Narrow32Columns : eB6 / NarrowDepth, kB6 = bAlongN ? eB6 / Narrow32Columns : eB6 % NarrowDepth;
        int eB7 = tid + 1792, nB7 = bAlongN ? eB7 % Narrow32Columns : eB7 / NarrowDepth, kB7 = bAlongN ? eB7 / Narrow32Columns : eB7 % NarrowDepth;
        float pa0 = 0f, pa1 = 0f;
        float pb0 = 0f, pb1 = 0f, pb2 = 0f, pb3 = 0f, pb4 = 0f, pb5 = 0f, pb6 = 0f, pb7 = 0f;
        if (total > 0)
        {
            int item = first + 0 / kSteps, k0 = kBegin + 0 % kSteps * NarrowDepth;
            long aBase = item * s.Sa, bBase = item * s.Sb;
            pa0 = row0 + mA0 < s.M && k0 + kA0 < kEnd ? a[aBase + (long)(row0 + mA0) * s.Am + (long)(k0 + kA0) * s.Ak] : 0f;
            pa1 = row0 + mA1 < s.M && k0 + kA1 < kEnd ? a[aBase + (long)(row0 + mA1) * s.Am + (long)(k0 + kA1) * s.Ak] : 0f;
            pb0 = k0 + kB0 < kEnd && col0 + nB0 < s.N ? b[bBase + (long)(k0 + kB0) * s.Bk + (long)(col0 + nB0) * s.Bn] : 0f;
            pb1 = k0 + kB1 < kEnd && col0 + nB1 < s.N ? b[bBase + (long)(k0 + kB1) * s.Bk + (long)(col0 + nB1) * s.Bn] : 0f;
            pb2 = k0 + kB2 < kEnd && col0 + nB2 < s.N ? b[bBase + (long)(k0 + kB2) * s.Bk + (long)(col0 + nB2) * s.Bn] : 0f;
            pb3 = k0 + kB3 < kEnd && col0 + nB3 < s.N ? b[bBase + (long)(k0 + kB3) * s.Bk + (long)(col0 + nB3) * s.Bn] : 0f;
            pb4 = k0 + kB4 < kEnd && col0 + nB4 < s.N ? b[bBase + (long)(k0 + kB4) * s.Bk + (long)(col0 + nB4) * s.Bn] : 0f;
            pb5 = k0 + kB5 < kEnd && col0 + nB5 < s.N ? b[bBase + (long)(k0 + kB5) * s.Bk + (long)(col0 + nB5) * s.Bn] : 0f;
            pb6 = k0 + kB6 < kEnd && col0 + nB6 < s.N ? b[bBase + (long)(k0 + kB6) * s.Bk + (long)(col0 + nB6) * s.Bn] : 0f;
            pb7 = k0 + kB7 < kEnd && col0 + nB7 < s.N ? b[bBase + (long)(k0 + kB7) * s.Bk + (long)(col0 + nB7) * s.Bn] : 0f;
        }
        // This thread's quads: rows ty·4 … ty·4 + 3 of A and columns tx·4 … tx·4 + 3 of B.
        var readA = tileA.SubView(ty);
        var readB = tileB.SubView(tx);
        for (int step = 0; step < total; step++)
        {
            stageA[kA0 * (Narrow32PitchA * 4) + mA0] = pa0;
            stageA[kA1 * (Narrow32PitchA * 4) + mA1] = pa1;
            stageB[kB0 * (Narrow32PitchB * 4) + nB0] = pb0;
            stageB[kB1 * (Narrow32PitchB * 4) + nB1] = pb1;
            stageB[kB2 * (Narrow32PitchB * 4) + nB2] = pb2;
            stageB[kB3 * (Narrow32PitchB * 4) + nB3] = pb3;
            stageB[kB4 * (Narrow32PitchB * 4) + nB4] = pb4;
            stageB[kB5 * (Narrow32PitchB * 4) + nB5] = pb5;
            stageB[kB6 * (Narrow32PitchB * 4) + nB6] = pb6;
            stageB[kB7 * (Narrow32PitchB * 4) + nB7] = pb7;
            Group.Barrier();
            if (step + 1 < total)
            {
                int item = first + (step + 1) / kSteps, k0 = kBegin + (step + 1) % kSteps * NarrowDepth;
                long aBase = item * s.Sa, bBase = item * s.Sb;
                pa0 = row0 + mA0 < s.M && k0 + kA0 < kEnd ? a[aBase + (long)(row0 + mA0) * s.Am + (long)(k0 + kA0) * s.Ak] : 0f;
                pa1 = row0 + mA1 < s.M && k0 + kA1 < kEnd ? a[aBase + (long)(row0 + mA1) * s.Am + (long)(k0 + kA1) * s.Ak] : 0f;
                pb0 = k0 + kB0 < kEnd && col0 + nB0 < s.N ? b[bBase + (long)(k0 + kB0) * s.Bk + (long)(col0 + nB0) * s.Bn] : 0f;
                pb1 = k0 + kB1 < kEnd && col0 + nB1 < s.N ? b[bBase + (long)(k0 + kB1) * s.Bk + (long)(col0 + nB1) * s.Bn] : 0f;
                pb2 = k0 + kB2 < kEnd && col0 + nB2 < s.N ? b[bBase + (long)(k0 + kB2) * s.Bk + (long)(col0 + nB2) * s.Bn] : 0f;
                pb3 = k0 + kB3 < kEnd && col0 + nB3 < s.N ? b[bBase + (long)(k0 + kB3) * s.Bk + (long)(col0 + nB3) * s.Bn] : 0f;
                pb4 = k0 + kB4 < kEnd && col0 + nB4 < s.N ? b[bBase + (long)(k0 + kB4) * s.Bk + (long)(col0 + nB4) * s.Bn] : 0f;
                pb5 = k0 + kB5 < kEnd && col0 + nB5 < s.N ? b[bBase + (long)(k0 + kB5) * s.Bk + (long)(col0 + nB5) * s.Bn] : 0f;
                pb6 = k0 + kB6 < kEnd && col0 + nB6 < s.N ? b[bBase + (long)(k0 + kB6) * s.Bk + (long)(col0 + nB6) * s.Bn] : 0f;
                pb7 = k0 + kB7 < kEnd && col0 + nB7 < s.N ? b[bBase + (long)(k0 + kB7) * s.Bk + (long)(col0 + nB7) * s.Bn] : 0f;
            }
            // Every k of the step written out, so each shared load has a constant offset.
            {
                Quad qa = readA[0], qb = readB[0];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[1 * Narrow32PitchA], qb = readB[1 * Narrow32PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[2 * Narrow32PitchA], qb = readB[2 * Narrow32PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[3 * Narrow32PitchA], qb = readB[3 * Narrow32PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[4 * Narrow32PitchA], qb = readB[4 * Narrow32PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[5 * Narrow32PitchA], qb = readB[5 * Narrow32PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[6 * Narrow32PitchA], qb = readB[6 * Narrow32PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[7 * Narrow32PitchA], qb = readB[7 * Narrow32PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[8 * Narrow32PitchA], qb = readB[8 * Narrow32PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[9 * Narrow32PitchA], qb = readB[9 * Narrow32PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[10 * Narrow32PitchA], qb = readB[10 * Narrow32PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[11 * Narrow32PitchA], qb = readB[11 * Narrow32PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[12 * Narrow32PitchA], qb = readB[12 * Narrow32PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[13 * Narrow32PitchA], qb = readB[13 * Narrow32PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[14 * Narrow32PitchA], qb = readB[14 * Narrow32PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[15 * Narrow32PitchA], qb = readB[15 * Narrow32PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            Group.Barrier();
        }
        var band = SharedMemory.Allocate<Quad>(Narrow32Rows * Narrow32PitchB); // [m][n / 4]: the epilogue's staging, the whole tile
        var cz = c.SubView(z * s.Sc);
        if (s.HasEpilogue)
        {
            // The stores through shared memory, as the square tiles make them: the threads write their accumulators there as
            // quads, then all 256 read the tile back along its rows, so a warp's stores of C (and D) are consecutive.
            var bandF = band.Cast<float>();
            var write = band.SubView(ty * 4 * Narrow32PitchB + tx);
            var dz = s.Activation != 0 ? d.SubView(z * s.Sc) : d;
            Group.Barrier(); // the last step's tiles are read
            write[0 * Narrow32PitchB] = new Quad { X = c00, Y = c01, Z = c02, W = c03 };
            write[1 * Narrow32PitchB] = new Quad { X = c10, Y = c11, Z = c12, W = c13 };
            write[2 * Narrow32PitchB] = new Quad { X = c20, Y = c21, Z = c22, W = c23 };
            write[3 * Narrow32PitchB] = new Quad { X = c30, Y = c31, Z = c32, W = c33 };
            Group.Barrier();
            for (int e = tid; e < Narrow32Rows * Narrow32Columns; e += 256)
            {
                int r = e / Narrow32Columns, col = e % Narrow32Columns, m = row0 + r, n = col0 + col;
                if (m >= s.M || n >= s.N) continue;
                long at = (long)m * s.Ldc + n;
                float v = bandF[r * (Narrow32PitchB * 4) + col];
                Finish(cz, dz, bias, s, m, n, at, s.Accumulate != 0 ? cz[at] + v : v);
            }
        }
        else
        {
            // No epilogue (the backward products): each thread stores its outputs directly.
            int r0 = row0 + ty * 4, q0 = col0 + tx * 4;
            Store(cz, s, r0 + 0, q0 + 0, c00); Store(cz, s, r0 + 0, q0 + 1, c01); Store(cz, s, r0 + 0, q0 + 2, c02); Store(cz, s, r0 + 0, q0 + 3, c03);
            Store(cz, s, r0 + 1, q0 + 0, c10); Store(cz, s, r0 + 1, q0 + 1, c11); Store(cz, s, r0 + 1, q0 + 2, c12); Store(cz, s, r0 + 1, q0 + 3, c13);
            Store(cz, s, r0 + 2, q0 + 0, c20); Store(cz, s, r0 + 2, q0 + 1, c21); Store(cz, s, r0 + 2, q0 + 2, c22); Store(cz, s, r0 + 2, q0 + 3, c23);
            Store(cz, s, r0 + 3, q0 + 0, c30); Store(cz, s, r0 + 3, q0 + 1, c31); Store(cz, s, r0 + 3, q0 + 2, c32); Store(cz, s, r0 + 3, q0 + 3, c33);
        }
    }

    public static void GemmNarrow16<TProduct>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, ArrayView<float> d, GemmShape s)
        where TProduct : struct, IGemmGeometry
    {
        s = default(TProduct).Fix(s); // the sizes and strides the network's generated geometry knows become constants
        int tx = Group.IdxX, ty = Group.IdxY, tid = ty * 64 + tx;
        int row0 = Grid.IdxY * Narrow16Rows, col0 = Grid.IdxX * Narrow16Columns, z = Grid.IdxZ;
        var tileA = SharedMemory.Allocate<Quad>(NarrowDepth * Narrow16PitchA); // [k][m / 4]
        var tileB = SharedMemory.Allocate<Quad>(NarrowDepth * Narrow16PitchB); // [k][n / 4]
        var stageA = tileA.Cast<float>(); // the same memory, a float at a time, for staging
        var stageB = tileB.Cast<float>();
        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;
        bool aAlongK = s.Ak == 1, bAlongN = s.Bn == 1 || s.Bk != 1;
        int first, last, kBegin = 0, kEnd = s.K;
        if (s.KChunk > 0) { first = 0; last = 1; kBegin = z * s.KChunk; kEnd = XMath.Min(s.K, kBegin + s.KChunk); }
        else { first = z * s.Inner; last = XMath.Min(first + s.Inner, s.Items); }
        int kSteps = (kEnd - kBegin + NarrowDepth - 1) / NarrowDepth, total = XMath.Max(last - first, 0) * kSteps;
        // The 1 element(s) of A's slice and the 16 of B's this thread stages: (m, k) of A and (k, n) of B for
        // e = tid + 256·r, read along the index with stride 1 so that consecutive threads read consecutive addresses.
        int eA0 = tid + 0, mA0 = aAlongK ? eA0 / NarrowDepth : eA0 % Narrow16Rows, kA0 = aAlongK ? eA0 % NarrowDepth : eA0 / Narrow16Rows;
        int eB0 = tid + 0, nB0 = bAlongN ? eB0 % Narrow16Columns : eB0 / NarrowDepth, kB0 = bAlongN ? eB0 / Narrow16Columns : eB0 % NarrowDepth;
        int eB1 = tid + 256, nB1 = bAlongN ? eB1 % Narrow16Columns : eB1 / NarrowDepth, kB1 = bAlongN ? eB1 / Narrow16Columns : eB1 % NarrowDepth;
        int eB2 = tid + 512, nB2 = bAlongN ? eB2 % Narrow16Columns : eB2 / NarrowDepth, kB2 = bAlongN ? eB2 / Narrow16Columns : eB2 % NarrowDepth;
        int eB3 = tid + 768, nB3 = bAlongN ? eB3 % Narrow16Columns : eB3 / NarrowDepth, kB3 = bAlongN ? eB3 / Narrow16Columns : eB3 % NarrowDepth;
        int eB4 = tid + 1024, nB4 = bAlongN ? eB4 % Narrow16Columns : eB4 / NarrowDepth, kB4 = bAlongN ? eB4 / Narrow16Columns : eB4 % NarrowDepth;
        int eB5 = tid + 1280, nB5 = bAlongN ? eB5 % Narrow16Columns : eB5 / NarrowDepth, kB5 = bAlongN ? eB5 / Narrow16Columns : eB5 % NarrowDepth;
        int eB6 = tid + 1536, nB6 = bAlongN ? eB6 % Narrow16Columns : eB6 / NarrowDepth, kB6 = bAlongN ? eB6 / Narrow16Columns : eB6 % NarrowDepth;
        int eB7 = tid + 1792, nB7 = bAlongN ? eB7 % Narrow16Columns : eB7 / NarrowDepth, kB7 = bAlongN ? eB7 / Narrow16Columns : eB7 % NarrowDepth;
        int eB8 = tid + 2048, nB8 = bAlongN ? eB8 % Narrow16Columns : eB8 / NarrowDepth, kB8 = bAlongN ? eB8 / Narrow16Columns : eB8 % NarrowDepth;
        int eB9 = tid + 2304, nB9 = bAlongN ? eB9 % Narrow16Columns : eB9 / NarrowDepth, kB9 = bAlongN ? eB9 / Narrow16Columns : eB9 % NarrowDepth;
        int eB10 = tid + 2560, nB10 = bAlongN ? eB10 % Narrow16Columns : eB10 / NarrowDepth, kB10 = bAlongN ? eB10 / Narrow16Columns : eB10 % NarrowDepth;
        int eB11 = tid + 2816, nB11 = bAlongN ? eB11 % Narrow16Columns : eB11 / NarrowDepth, kB11 = bAlongN ? eB11 / Narrow16Columns : eB11 % NarrowDepth;
        int eB12 = tid + 3072, nB12 = bAlongN ? eB12 % Narrow16Columns : eB12 / NarrowDepth, kB12 = bAlongN ? eB12 / Narrow16Columns : eB12 % NarrowDepth;
        int eB13 = tid + 3328, nB13 = bAlongN ? eB13 % Narrow16Columns : eB13 / NarrowDepth, kB13 = bAlongN ? eB13 / Narrow16Columns : eB13 % NarrowDepth;
        int eB14 = tid + 3584, nB14 = bAlongN ? eB14 % Narrow16Columns : eB14 / NarrowDepth, kB14 = bAlongN ? eB14 / Narrow16Columns : eB14 % NarrowDepth;
        int eB15 = tid + 3840, nB15 = bAlongN ? eB15 % Narrow16Columns : eB15 / NarrowDepth, kB15 = bAlongN ? eB15 / Narrow16Columns : eB15 % NarrowDepth;
        float pa0 = 0f;
        float pb0 = 0f, pb1 = 0f, pb2 = 0f, pb3 = 0f, pb4 = 0f, pb5 = 0f, pb6 = 0f, pb7 = 0f, pb8 = 0f, pb9 = 0f, pb10 = 0f, pb11 = 0f, pb12 = 0f, pb13 = 0f, pb14 = 0f, pb15 = 0f;
        if (total > 0)
        {
            int item = first + 0 / kSteps, k0 = kBegin + 0 % kSteps * NarrowDepth;
            long aBase = item * s.Sa, bBase = item * s.Sb;
            pa0 = row0 + mA0 < s.M && k0 + kA0 < kEnd ? a[aBase + (long)(row0 + mA0) * s.Am + (long)(k0 + kA0) * s.Ak] : 0f;
            pb0 = k0 + kB0 < kEnd && col0 + nB0 < s.N ? b[bBase + (long)(k0 + kB0) * s.Bk + (long)(col0 + nB0) * s.Bn] : 0f;
            pb1 = k0 + kB1 < kEnd && col0 + nB1 < s.N ? b[bBase + (long)(k0 + kB1) * s.Bk + (long)(col0 + nB1) * s.Bn] : 0f;
            pb2 = k0 + kB2 < kEnd && col0 + nB2 < s.N ? b[bBase + (long)(k0 + kB2) * s.Bk + (long)(col0 + nB2) * s.Bn] : 0f;
            pb3 = k0 + kB3 < kEnd && col0 + nB3 < s.N ? b[bBase + (long)(k0 + kB3) * s.Bk + (long)(col0 + nB3) * s.Bn] : 0f;
            pb4 = k0 + kB4 < kEnd && col0 + nB4 < s.N ? b[bBase + (long)(k0 + kB4) * s.Bk + (long)(col0 + nB4) * s.Bn] : 0f;
            pb5 = k0 + kB5 < kEnd && col0 + nB5 < s.N ? b[bBase + (long)(k0 + kB5) * s.Bk + (long)(col0 + nB5) * s.Bn] : 0f;
            pb6 = k0 + kB6 < kEnd && col0 + nB6 < s.N ? b[bBase + (long)(k0 + kB6) * s.Bk + (long)(col0 + nB6) * s.Bn] : 0f;
            pb7 = k0 + kB7 < kEnd && col0 + nB7 < s.N ? b[bBase + (long)(k0 + kB7) * s.Bk + (long)(col0 + nB7) * s.Bn] : 0f;
            pb8 = k0 + kB8 < kEnd && col0 + nB8 < s.N ? b[bBase + (long)(k0 + kB8) * s.Bk + (long)(col0 + nB8) * s.Bn] : 0f;
            pb9 = k0 + kB9 < kEnd && col0 + nB9 < s.N ? b[bBase + (long)(k0 + kB9) * s.Bk + (long)(col0 + nB9) * s.Bn] : 0f;
            pb10 = k0 + kB10 < kEnd && col0 + nB10 < s.N ? b[bBase + (long)(k0 + kB10) * s.Bk + (long)(col0 + nB10) * s.Bn] : 0f;
            pb11 = k0 + kB11 < kEnd && col0 + nB11 < s.N ? b[bBase + (long)(k0 + kB11) * s.Bk + (long)(col0 + nB11) * s.Bn] : 0f;
            pb12 = k0 + kB12 < kEnd && col0 + nB12 < s.N ? b[bBase + (long)(k0 + kB12) * s.Bk + (long)(col0 + nB12) * s.Bn] : 0f;
            pb13 = k0 + kB13 < kEnd && col0 + nB13 < s.N ? b[bBase + (long)(k0 + kB13) * s.Bk + (long)(col0 + nB13) * s.Bn] : 0f;
            pb14 = k0 + kB14 < kEnd && col0 + nB14 < s.N ? b[bBase + (long)(k0 + kB14) * s.Bk + (long)(col0 + nB14) * s.Bn] : 0f;
            pb15 = k0 + kB15 < kEnd && col0 + nB15 < s.N ? b[bBase + (long)(k0 + kB15) * s.Bk + (long)(col0 + nB15) * s.Bn] : 0f;
        }
        // This thread's quads: rows ty·4 … ty·4 + 3 of A and columns tx·4 … tx·4 + 3 of B.
        var readA = tileA.SubView(ty);
        var readB = tileB.SubView(tx);
        for (int step = 0; step < total; step++)
        {
            stageA[kA0 * (Narrow16PitchA * 4) + mA0] = pa0;
            stageB[kB0 * (Narrow16PitchB * 4) + nB0] = pb0;
            stageB[kB1 * (Narrow16PitchB * 4) + nB1] = pb1;
            stageB[kB2 * (Narrow16PitchB * 4) + nB2] = pb2;
            stageB[kB3 * (Narrow16PitchB * 4) + nB3] = pb3;
            stageB[kB4 * (Narrow16PitchB * 4) + nB4] = pb4;
            stageB[kB5 * (Narrow16PitchB * 4) + nB5] = pb5;
            stageB[kB6 * (Narrow16PitchB * 4) + nB6] = pb6;
            stageB[kB7 * (Narrow16PitchB * 4) + nB7] = pb7;
            stageB[kB8 * (Narrow16PitchB * 4) + nB8] = pb8;
            stageB[kB9 * (Narrow16PitchB * 4) + nB9] = pb9;
            stageB[kB10 * (Narrow16PitchB * 4) + nB10] = pb10;
            stageB[kB11 * (Narrow16PitchB * 4) + nB11] = pb11;
            stageB[kB12 * (Narrow16PitchB * 4) + nB12] = pb12;
            stageB[kB13 * (Narrow16PitchB * 4) + nB13] = pb13;
            stageB[kB14 * (Narrow16PitchB * 4) + nB14] = pb14;
            stageB[kB15 * (Narrow16PitchB * 4) + nB15] = pb15;
            Group.Barrier();
            if (step + 1 < total)
            {
                int item = first + (step + 1) / kSteps, k0 = kBegin + (step + 1) % kSteps * NarrowDepth;
                long aBase = item * s.Sa, bBase = item * s.Sb;
                pa0 = row0 + mA0 < s.M && k0 + kA0 < kEnd ? a[aBase + (long)(row0 + mA0) * s.Am + (long)(k0 + kA0) * s.Ak] : 0f;
                pb0 = k0 + kB0 < kEnd && col0 + nB0 < s.N ? b[bBase + (long)(k0 + kB0) * s.Bk + (long)(col0 + nB0) * s.Bn] : 0f;
                pb1 = k0 + kB1 < kEnd && col0 + nB1 < s.N ? b[bBase + (long)(k0 + kB1) * s.Bk + (long)(col0 + nB1) * s.Bn] : 0f;
                pb2 = k0 + kB2 < kEnd && col0 + nB2 < s.N ? b[bBase + (long)(k0 + kB2) * s.Bk + (long)(col0 + nB2) * s.Bn] : 0f;
                pb3 = k0 + kB3 < kEnd && col0 + nB3 < s.N ? b[bBase + (long)(k0 + kB3) * s.Bk + (long)(col0 + nB3) * s.Bn] : 0f;
                pb4 = k0 + kB4 < kEnd && col0 + nB4 < s.N ? b[bBase + (long)(k0 + kB4) * s.Bk + (long)(col0 + nB4) * s.Bn] : 0f;
                pb5 = k0 + kB5 < kEnd && col0 + nB5 < s.N ? b[bBase + (long)(k0 + kB5) * s.Bk + (long)(col0 + nB5) * s.Bn] : 0f;
                pb6 = k0 + kB6 < kEnd && col0 + nB6 < s.N ? b[bBase + (long)(k0 + kB6) * s.Bk + (long)(col0 + nB6) * s.Bn] : 0f;
                pb7 = k0 + kB7 < kEnd && col0 + nB7 < s.N ? b[bBase + (long)(k0 + kB7) * s.Bk + (long)(col0 + nB7) * s.Bn] : 0f;
                pb8 = k0 + kB8 < kEnd && col0 + nB8 < s.N ? b[bBase + (long)(k0 + kB8) * s.Bk + (long)(col0 + nB8) * s.Bn] : 0f;
                pb9 = k0 + kB9 < kEnd && col0 + nB9 < s.N ? b[bBase + (long)(k0 + kB9) * s.Bk + (long)(col0 + nB9) * s.Bn] : 0f;
                pb10 = k0 + kB10 < kEnd && col0 + nB10 < s.N ? b[bBase + (long)(k0 + kB10) * s.Bk + (long)(col0 + nB10) * s.Bn] : 0f;
                pb11 = k0 + kB11 < kEnd && col0 + nB11 < s.N ? b[bBase + (long)(k0 + kB11) * s.Bk + (long)(col0 + nB11) * s.Bn] : 0f;
                pb12 = k0 + kB12 < kEnd && col0 + nB12 < s.N ? b[bBase + (long)(k0 + kB12) * s.Bk + (long)(col0 + nB12) * s.Bn] : 0f;
                pb13 = k0 + kB13 < kEnd && col0 + nB13 < s.N ? b[bBase + (long)(k0 + kB13) * s.Bk + (long)(col0 + nB13) * s.Bn] : 0f;
                pb14 = k0 + kB14 < kEnd && col0 + nB14 < s.N ? b[bBase + (long)(k0 + kB14) * s.Bk + (long)(col0 + nB14) * s.Bn] : 0f;
                pb15 = k0 + kB15 < kEnd && col0 + nB15 < s.N ? b[bBase + (long)(k0 + kB15) * s.Bk + (long)(col0 + nB15) * s.Bn] : 0f;
            }
            // Every k of the step written out, so each shared load has a constant offset.
            {
                Quad qa = readA[0], qb = readB[0];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[1 * Narrow16PitchA], qb = readB[1 * Narrow16PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[2 * Narrow16PitchA], qb = readB[2 * Narrow16PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[3 * Narrow16PitchA], qb = readB[3 * Narrow16PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[4 * Narrow16PitchA], qb = readB[4 * Narrow16PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[5 * Narrow16PitchA], qb = readB[5 * Narrow16PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[6 * Narrow16PitchA], qb = readB[6 * Narrow16PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[7 * Narrow16PitchA], qb = readB[7 * Narrow16PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[8 * Narrow16PitchA], qb = readB[8 * Narrow16PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[9 * Narrow16PitchA], qb = readB[9 * Narrow16PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[10 * Narrow16PitchA], qb = readB[10 * Narrow16PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[11 * Narrow16PitchA], qb = readB[11 * Narrow16PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[12 * Narrow16PitchA], qb = readB[12 * Narrow16PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[13 * Narrow16PitchA], qb = readB[13 * Narrow16PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[14 * Narrow16PitchA], qb = readB[14 * Narrow16PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            {
                Quad qa = readA[15 * Narrow16PitchA], qb = readB[15 * Narrow16PitchB];
                c00 += qa.X * qb.X; c01 += qa.X * qb.Y; c02 += qa.X * qb.Z; c03 += qa.X * qb.W;
                c10 += qa.Y * qb.X; c11 += qa.Y * qb.Y; c12 += qa.Y * qb.Z; c13 += qa.Y * qb.W;
                c20 += qa.Z * qb.X; c21 += qa.Z * qb.Y; c22 += qa.Z * qb.Z; c23 += qa.Z * qb.W;
                c30 += qa.W * qb.X; c31 += qa.W * qb.Y; c32 += qa.W * qb.Z; c33 += qa.W * qb.W;
            }
            Group.Barrier();
        }
        var band = SharedMemory.Allocate<Quad>(Narrow16Rows * Narrow16PitchB); // [m][n / 4]: the epilogue's staging, the whole tile
        var cz = c.SubView(z * s.Sc);
        if (s.HasEpilogue)
        {
            // The stores through shared memory, as the square tiles make them: the threads write their accumulators there as
            // quads, then all 256 read the tile back along its rows, so a warp's stores of C (and D) are consecutive.
            var bandF = band.Cast<float>();
            var write = band.SubView(ty * 4 * Narrow16PitchB + tx);
            var dz = s.Activation != 0 ? d.SubView(z * s.Sc) : d;
            Group.Barrier(); // the last step's tiles are read
            write[0 * Narrow16PitchB] = new Quad { X = c00, Y = c01, Z = c02, W = c03 };
            write[1 * Narrow16PitchB] = new Quad { X = c10, Y = c11, Z = c12, W = c13 };
            write[2 * Narrow16PitchB] = new Quad { X = c20, Y = c21, Z = c22, W = c23 };
            write[3 * Narrow16PitchB] = new Quad { X = c30, Y = c31, Z = c32, W = c33 };
            Group.Barrier();
            for (int e = tid; e < Narrow16Rows * Narrow16Columns; e += 256)
            {
                int r = e / Narrow16Columns, col = e % Narrow16Columns, m = row0 + r, n = col0 + col;
                if (m >= s.M || n >= s.N) continue;
                long at = (long)m * s.Ldc + n;
                float v = bandF[r * (Narrow16PitchB * 4) + col];
                Finish(cz, dz, bias, s, m, n, at, s.Accumulate != 0 ? cz[at] + v : v);
            }
        }
        else
        {
            // No epilogue (the backward products): each thread stores its outputs directly.
            int r0 = row0 + ty * 4, q0 = col0 + tx * 4;
            Store(cz, s, r0 + 0, q0 + 0, c00); Store(cz, s, r0 + 0, q0 + 1, c01); Store(cz, s, r0 + 0, q0 + 2, c02); Store(cz, s, r0 + 0, q0 + 3, c03);
            Store(cz, s, r0 + 1, q0 + 0, c10); Store(cz, s, r0 + 1, q0 + 1, c11); Store(cz, s, r0 + 1, q0 + 2, c12); Store(cz, s, r0 + 1, q0 + 3, c13);
            Store(cz, s, r0 + 2, q0 + 0, c20); Store(cz, s, r0 + 2, q0 + 1, c21); Store(cz, s, r0 + 2, q0 + 2, c22); Store(cz, s, r0 + 2, q0 + 3, c23);
            Store(cz, s, r0 + 3, q0 + 0, c30); Store(cz, s, r0 + 3, q0 + 1, c31); Store(cz, s, r0 + 3, q0 + 2, c32); Store(cz, s, r0 + 3, q0 + 3, c33);
        }
    }

    private static void Store(ArrayView<float> c, GemmShape s, int m, int n, float value)
    {
        if (m >= s.M || n >= s.N) return;
        long at = (long)m * s.Ldc + n;
        c[at] = s.Accumulate != 0 ? c[at] + value : value;
    }

    /// <summary>The epilogue of one output: C = value + bias (the same addition the separate bias pass made), and D = f(C).</summary>
    private static void Finish(ArrayView<float> c, ArrayView<float> d, ArrayView<float> bias, GemmShape s, int m, int n, long at, float value)
    {
        if (s.BiasAlong == 1) value += bias[m];
        else if (s.BiasAlong == 2) value += bias[n];
        c[at] = value;
        if (s.Activation != 0) d[at] = Activate(value, s.Activation - 1, s.Slope);
    }

    /// <summary>C[j] (+)= Σ_z partial[z·M·N + j] for z = 0 … slices − 1, in that order (split-K's deterministic reduction),
    /// then the shape's epilogue. C is dense (Ldc = N).</summary>
    public static void SumSlices<TProduct>(Index1D j, ArrayView<float> partial, ArrayView<float> c, ArrayView<float> bias, ArrayView<float> d, int slices, GemmShape s)
        where TProduct : struct, IGemmGeometry
    {
        s = default(TProduct).Fix(s);
        long length = (long)s.M * s.N;
        float sum = 0f;
        for (int z = 0; z < slices; z++) sum += partial[z * length + j];
        Finish(c, d, bias, s, j / s.N, j % s.N, j, s.Accumulate != 0 ? c[j] + sum : sum);
    }

    /// <summary>The epilogue alone, over a dense C that another GEMM (cuBLAS) wrote.</summary>
    public static void GemmEpilogue<TProduct>(Index1D j, ArrayView<float> c, ArrayView<float> bias, ArrayView<float> d, GemmShape s)
        where TProduct : struct, IGemmGeometry
    {
        s = default(TProduct).Fix(s);
        Finish(c, d, bias, s, j / s.N, j % s.N, j, c[j]);
    }

    // ------------------------------------------------------------------ activations

    public static void Activation(Index1D i, ArrayView<float> x, ArrayView<float> y, int kind, float a) => y[i] = Activate(x[i], kind, a);

    /// <summary>One activation (<see cref="ActivationKind"/>, parameter <paramref name="a"/>); the GEMM epilogue uses it too.</summary>
    private static float Activate(float v, int kind, float a)
    {
        // NaN stays NaN (v != v), as in PyTorch and the CPU kernels (Vec.Relu); −0 gives +0
        if (kind == ActivationKind.ReLU) return v > 0f || v != v ? v : 0f;
        if (kind == ActivationKind.LeakyReLU) return v > 0f ? v : a * v;
        if (kind == ActivationKind.Tanh) return XMath.Tanh(v);
        if (kind == ActivationKind.Sigmoid) return 1f / (1f + XMath.Exp(-v));
        return v > 0f ? v : a * (XMath.Exp(v) - 1f);
    }

    public static void ActivationBackward(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int kind, float a)
    {
        float g = dy[i], r;
        if (kind == ActivationKind.ReLU) r = y[i] > 0f ? g : 0f;
        else if (kind == ActivationKind.LeakyReLU) r = x[i] > 0f ? g : a * g;
        else if (kind == ActivationKind.Tanh) { float v = y[i]; r = g * (1f - v * v); }
        else if (kind == ActivationKind.Sigmoid) { float v = y[i]; r = g * v * (1f - v); }
        else r = x[i] > 0f ? g : g * (y[i] + a);
        dx[i] = r;
    }

    /// <summary>Softmax over channels at each (sample, position): one thread per (n, p).</summary>
    public static void Softmax<TMap>(Index1D i, ArrayView<float> x, ArrayView<float> y) where TMap : struct, IMapGeometry
    {
        int channels = default(TMap).Shape.Channels, plane = default(TMap).Shape.Plane;
        int p = i % plane, n = i / plane;
        long b = (long)n * channels * plane + p;
        float max = float.NegativeInfinity;
        for (int c = 0; c < channels; c++) max = XMath.Max(max, x[b + c * plane]);
        float sum = 0f;
        for (int c = 0; c < channels; c++) { float e = XMath.Exp(x[b + c * plane] - max); y[b + c * plane] = e; sum += e; }
        for (int c = 0; c < channels; c++) y[b + c * plane] /= sum;
    }

    /// <summary>dx = y ⊙ (dy − Σ_c dy ⊙ y).</summary>
    public static void SoftmaxBackward<TMap>(Index1D i, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx) where TMap : struct, IMapGeometry
    {
        int channels = default(TMap).Shape.Channels, plane = default(TMap).Shape.Plane;
        int p = i % plane, n = i / plane;
        long b = (long)n * channels * plane + p;
        float dot = 0f;
        for (int c = 0; c < channels; c++) dot += dy[b + c * plane] * y[b + c * plane];
        for (int c = 0; c < channels; c++) dx[b + c * plane] = y[b + c * plane] * (dy[b + c * plane] - dot);
    }

    // ------------------------------------------------------------------ pooling

    private static int AvgDivisor(int h0, int w0, PoolShape s)
    {
        if (s.IncludePad != 0)
            return (XMath.Min(h0 + s.KH, s.H + s.PH) - h0) * (XMath.Min(w0 + s.KW, s.W + s.PW) - w0);
        int h1 = XMath.Min(h0 + s.KH, s.H), hs = XMath.Max(h0, 0), w1 = XMath.Min(w0 + s.KW, s.W), ws = XMath.Max(w0, 0);
        return (h1 - hs) * (w1 - ws);
    }

    public static void PoolForward<TPool>(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<int> arg) where TPool : struct, IPoolGeometry
    {
        var s = default(TPool).Shape;
        int ow = i % s.OW, t = i / s.OW, oh = t % s.OH, plane = t / s.OH;
        long xBase = (long)plane * s.H * s.W;
        int h0 = oh * s.SH - s.PH, h1 = XMath.Min(h0 + s.KH, s.H), hs = XMath.Max(h0, 0);
        int w0 = ow * s.SW - s.PW, w1 = XMath.Min(w0 + s.KW, s.W), ws = XMath.Max(w0, 0);
        if (s.Mode <= 1)
        {
            bool min = s.Mode == 1;
            float best = min ? float.PositiveInfinity : float.NegativeInfinity;
            int bestIndex = hs * s.W + ws;
            for (int ih = hs; ih < h1; ih++)
                for (int iw = ws; iw < w1; iw++)
                {
                    float v = x[xBase + ih * s.W + iw];
                    if ((min ? v < best : v > best) || float.IsNaN(v)) { best = v; bestIndex = ih * s.W + iw; }
                }
            y[i] = best;
            arg[i] = bestIndex;
            return;
        }
        float sum = 0f;
        if (s.Mode == 2 || s.Mode == 4)
        {
            for (int ih = hs; ih < h1; ih++)
                for (int iw = ws; iw < w1; iw++) sum += x[xBase + ih * s.W + iw];
            y[i] = s.Mode == 4 ? sum : sum / AvgDivisor(h0, w0, s); // 4: sum pooling
            return;
        }
        for (int ih = hs; ih < h1; ih++)
            for (int iw = ws; iw < w1; iw++) { float v = x[xBase + ih * s.W + iw]; sum += v * v; }
        int count = (h1 - hs) * (w1 - ws), window = s.KH * s.KW;
        y[i] = XMath.Sqrt(count == window ? sum : sum / count * window);
    }

    /// <summary>dx[n, c, h, w]: gathers dy from every window that reads (h, w) (overwrites dx).</summary>
    public static void PoolBackward<TPool>(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<int> arg, ArrayView<float> dx) where TPool : struct, IPoolGeometry
    {
        var s = default(TPool).Shape;
        int iw = i % s.W, t = i / s.W, ih = t % s.H, plane = t / s.H;
        long yBase = (long)plane * s.OH * s.OW;
        // Windows oh with oh·SH − PH ≤ ih < oh·SH − PH + KH.
        int ohFirst = XMath.Max(0, (ih + s.PH - s.KH + s.SH) / s.SH), ohLast = XMath.Min(s.OH - 1, (ih + s.PH) / s.SH);
        int owFirst = XMath.Max(0, (iw + s.PW - s.KW + s.SW) / s.SW), owLast = XMath.Min(s.OW - 1, (iw + s.PW) / s.SW);
        if (ih + s.PH - s.KH + s.SH < 0) ohFirst = 0;
        if (iw + s.PW - s.KW + s.SW < 0) owFirst = 0;
        float sum = 0f;
        int self = ih * s.W + iw, window = s.KH * s.KW;
        for (int oh = ohFirst; oh <= ohLast; oh++)
        {
            int h0 = oh * s.SH - s.PH;
            if (ih < h0 || ih >= h0 + s.KH) continue;
            for (int ow = owFirst; ow <= owLast; ow++)
            {
                int w0 = ow * s.SW - s.PW;
                if (iw < w0 || iw >= w0 + s.KW) continue;
                long o = yBase + oh * s.OW + ow;
                if (s.Mode <= 1) { if (arg[o] == self) sum += dy[o]; }
                else if (s.Mode == 2) sum += dy[o] / AvgDivisor(h0, w0, s);
                else if (s.Mode == 4) sum += dy[o];
                else
                {
                    float norm = y[o];
                    if (norm == 0f) continue;
                    float g = dy[o] / norm;
                    int count = (XMath.Min(h0 + s.KH, s.H) - h0) * (XMath.Min(w0 + s.KW, s.W) - w0);
                    if (count != window) g *= (float)window / count;
                    sum += g * x[(long)plane * s.H * s.W + self];
                }
            }
        }
        dx[i] = sum;
    }

    /// <summary>y[n, c] = mean of the plane.</summary>
    public static void GlobalAvgForward<TMap>(Index1D i, ArrayView<float> x, ArrayView<float> y) where TMap : struct, IMapGeometry
    {
        int plane = default(TMap).Shape.Plane;
        float sum = 0f;
        long b = (long)(int)i * plane;
        for (int p = 0; p < plane; p++) sum += x[b + p];
        y[i] = sum / plane;
    }

    public static void GlobalAvgBackward<TMap>(Index1D i, ArrayView<float> dy, ArrayView<float> dx) where TMap : struct, IMapGeometry
    {
        int plane = default(TMap).Shape.Plane;
        dx[i] = dy[i / plane] / plane;
    }

    // ------------------------------------------------------------------ PReLU, maxout

    public static void PRelu<TMap>(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<float> slope, int perChannel) where TMap : struct, IMapGeometry
    {
        int channels = default(TMap).Shape.Channels, plane = default(TMap).Shape.Plane;
        float a = slope[perChannel != 0 ? i / plane % channels : 0], v = x[i];
        y[i] = v > 0f ? v : a * v;
    }

    public static void PReluBackwardData<TMap>(Index1D i, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> slope, ArrayView<float> dx, int perChannel) where TMap : struct, IMapGeometry
    {
        int channels = default(TMap).Shape.Channels, plane = default(TMap).Shape.Plane;
        float a = slope[perChannel != 0 ? i / plane % channels : 0];
        dx[i] = x[i] > 0f ? dy[i] : a * dy[i];
    }

    /// <summary>dSlope[k] += Σ dy·x over the elements with x ≤ 0 that slope k covers (one channel, or all).</summary>
    public static void PReluBackwardSlope<TMap>(Index1D k, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dSlope, int batch, int perChannel) where TMap : struct, IMapGeometry
    {
        int channels = default(TMap).Shape.Channels, plane = default(TMap).Shape.Plane;
        float sum = 0f;
        int c0 = perChannel != 0 ? (int)k : 0, c1 = perChannel != 0 ? (int)k + 1 : channels;
        for (int n = 0; n < batch; n++)
            for (int c = c0; c < c1; c++)
            {
                long b = ((long)n * channels + c) * plane;
                for (int p = 0; p < plane; p++) { float v = x[b + p]; if (!(v > 0f)) sum += dy[b + p] * v; }
            }
        dSlope[k] += sum;
    }

    /// <summary>y[n, u] = max over the unit's pieces of z[n, u, k] (the first maximum wins); winner = that k.</summary>
    public static void MaxoutSelect(Index1D i, ArrayView<float> z, ArrayView<float> y, ArrayView<int> winner, int pieces)
    {
        long b = (long)(int)i * pieces;
        int best = 0;
        float value = z[b];
        for (int k = 1; k < pieces; k++) { float v = z[b + k]; if (v > value) { value = v; best = k; } }
        y[i] = value;
        winner[i] = best;
    }

    /// <summary>dz[n, u, k] = k is the winner ? dy[n, u] : 0.</summary>
    public static void MaxoutScatter(Index1D i, ArrayView<float> dy, ArrayView<int> winner, ArrayView<float> dz, int pieces)
    {
        int k = i % pieces, unit = i / pieces;
        dz[i] = winner[unit] == k ? dy[unit] : 0f;
    }

    /// <summary>Channel-wise maxout: y[n, g, p] = max over k &lt; pieces of x[n, g·pieces + k, p] (the first maximum wins; NaN
    /// propagates); winner = that k. One thread per output element.</summary>
    public static void ChannelMaxoutForward<TMap>(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<int> winner) where TMap : struct, IMapGeometry
    {
        int groups = default(TMap).Shape.Channels, plane = default(TMap).Shape.Plane, pieces = default(TMap).Shape.Pieces; // the output map
        int p = i % plane, t = i / plane, g = t % groups, n = t / groups;
        long b = ((long)n * groups * pieces + (long)g * pieces) * plane + p;
        int best = 0;
        float value = x[b];
        for (int k = 1; k < pieces; k++)
        {
            float v = x[b + (long)k * plane];
            if (v > value || (float.IsNaN(v) && !float.IsNaN(value))) { value = v; best = k; }
        }
        y[i] = value;
        winner[i] = best;
    }

    /// <summary>dx[n, c, p] = c is its group's winner ? dy[n, c / pieces, p] : 0. One thread per input element.</summary>
    public static void ChannelMaxoutBackward<TMap>(Index1D i, ArrayView<float> dy, ArrayView<int> winner, ArrayView<float> dx) where TMap : struct, IMapGeometry
    {
        int groups = default(TMap).Shape.Channels, plane = default(TMap).Shape.Plane, pieces = default(TMap).Shape.Pieces; // the output map
        int p = i % plane, t = i / plane, c = t % (groups * pieces), n = t / (groups * pieces);
        long o = ((long)n * groups + c / pieces) * plane + p;
        dx[i] = winner[o] == c % pieces ? dy[o] : 0f;
    }

    // ------------------------------------------------------------------ batch norm, LRN

    /// <summary>Per channel: training, the batch mean and 1/√(biased var + ε) from <see cref="ChannelPartialSums"/>' Σx and Σx²,
    /// and the running statistics updated with the unbiased variance (PyTorch); eval, the running statistics.
    /// <paramref name="state"/> is [running_mean | running_var].</summary>
    public static void BatchNormStatistics<TMap>(Index1D c, ArrayView<double> partial, ArrayView<float> stats, ArrayView<float> state, int parts,
        int count, float momentum, float epsilon, int training) where TMap : struct, IMapGeometry
    {
        int channels = default(TMap).Shape.Channels;
        if (training == 0)
        {
            stats[c] = state[c];
            stats[channels + c] = 1f / XMath.Sqrt(state[channels + c] + epsilon);
            return;
        }
        double m = ChannelTotal(partial, c, parts, 0) / count, variance = XMath.Max(ChannelTotal(partial, c, parts, 1) / count - m * m, 0.0);
        stats[c] = (float)m;
        stats[channels + c] = (float)(1.0 / XMath.Sqrt(variance + epsilon));
        state[c] = (1f - momentum) * state[c] + momentum * (float)m;
        state[channels + c] = (1f - momentum) * state[channels + c] + momentum * (float)(variance * count / (count - 1));
    }

    /// <summary>xhat = (x − mean)·invStd; y = γ·xhat + β. <paramref name="stats"/> is [mean | invStd | ΣDy | ΣDy·xhat].</summary>
    public static void BatchNormForward<TMap>(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<float> xhat, ArrayView<float> stats,
        ArrayView<float> gamma, ArrayView<float> beta) where TMap : struct, IMapGeometry
    {
        int channels = default(TMap).Shape.Channels, plane = default(TMap).Shape.Plane;
        int c = i / plane % channels;
        float h = (x[i] - stats[c]) * stats[channels + c];
        xhat[i] = h;
        y[i] = gamma[c] * h + beta[c];
    }

    /// <summary>Per channel: ΣDy and ΣDy·xhat over the batch from <see cref="ChannelPartialSums"/> (kept in stats);
    /// dγ += ΣDy·xhat, dβ += ΣDy when <paramref name="addParameters"/>.</summary>
    public static void BatchNormBackwardReduce<TMap>(Index1D c, ArrayView<double> partial, ArrayView<float> stats, ArrayView<float> dGamma,
        ArrayView<float> dBeta, int parts, int addParameters) where TMap : struct, IMapGeometry
    {
        int channels = default(TMap).Shape.Channels;
        double sDy = ChannelTotal(partial, c, parts, 0), sDyXhat = ChannelTotal(partial, c, parts, 1);
        stats[2 * channels + c] = (float)sDy;
        stats[3 * channels + c] = (float)sDyXhat;
        if (addParameters != 0)
        {
            dGamma[c] += (float)sDyXhat;
            dBeta[c] += (float)sDy;
        }
    }

    /// <summary>dx = γ·invStd·(dy − ΣDy/M − xhat·ΣDy·xhat/M) in training, γ·invStd·dy in eval.</summary>
    public static void BatchNormBackward<TMap>(Index1D i, ArrayView<float> dy, ArrayView<float> xhat, ArrayView<float> gamma, ArrayView<float> stats,
        ArrayView<float> dx, float count, int training) where TMap : struct, IMapGeometry
    {
        int channels = default(TMap).Shape.Channels, plane = default(TMap).Shape.Plane;
        int c = i / plane % channels;
        float scale = gamma[c] * stats[channels + c];
        dx[i] = training != 0
            ? scale * (dy[i] - stats[2 * channels + c] / count - xhat[i] * (stats[3 * channels + c] / count))
            : scale * dy[i];
    }

    /// <summary>s = k + α/size·Σ x² over the channel window [c − size/2, c + (size−1)/2]; y = x·s^−β.</summary>
    public static void LrnForward<TMap>(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<float> scale, int size,
        float alphaOverSize, float negBeta, float k) where TMap : struct, IMapGeometry
    {
        int channels = default(TMap).Shape.Channels, plane = default(TMap).Shape.Plane;
        int p = i % plane, t = i / plane, c = t % channels, n = t / channels;
        long b = (long)n * channels * plane + p;
        int lo = XMath.Max(0, c - size / 2), hi = XMath.Min(channels - 1, c + (size - 1) / 2);
        float sum = 0f;
        for (int j = lo; j <= hi; j++) { float v = x[b + j * plane]; sum += v * v; }
        float s = k + alphaOverSize * sum;
        scale[i] = s;
        y[i] = x[i] * XMath.Pow(s, negBeta);
    }

    public static void LrnBackward<TMap>(Index1D i, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> scale, ArrayView<float> dx,
        int size, float negBeta, float negBetaMinusOne, float coeff) where TMap : struct, IMapGeometry
    {
        int channels = default(TMap).Shape.Channels, plane = default(TMap).Shape.Plane;
        int p = i % plane, t = i / plane, j = t % channels, n = t / channels;
        long b = (long)n * channels * plane + p;
        int lo = XMath.Max(0, j - (size - 1) / 2), hi = XMath.Min(channels - 1, j + size / 2);
        float sum = 0f;
        for (int c = lo; c <= hi; c++) { long o = b + c * plane; sum += dy[o] * x[o] * XMath.Pow(scale[o], negBetaMinusOne); }
        dx[i] = dy[i] * XMath.Pow(scale[i], negBeta) - coeff * x[i] * sum;
    }

    /// <summary>Within-channel LRN: scale = k + α/size²·Σ x² over the size×size neighbourhood (rows r − size/2 … r + (size−1)/2,
    /// columns alike, zero outside) in the same plane, y = x·scale^−β. One thread per element.</summary>
    public static void LrnWithinForward<TMap>(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<float> scale, int size,
        float alphaOverArea, float negBeta, float k) where TMap : struct, IMapGeometry
    {
        int height = default(TMap).Shape.Height, width = default(TMap).Shape.Width;
        int plane = height * width, p = i % plane, r = p / width, c = p % width;
        long b = (long)((int)i - p);
        int r0 = XMath.Max(0, r - size / 2), r1 = XMath.Min(height - 1, r + (size - 1) / 2);
        int c0 = XMath.Max(0, c - size / 2), c1 = XMath.Min(width - 1, c + (size - 1) / 2);
        float sum = 0f;
        for (int u = r0; u <= r1; u++)
            for (int v = c0; v <= c1; v++) { float a = x[b + u * width + v]; sum += a * a; }
        float s = k + alphaOverArea * sum;
        scale[i] = s;
        y[i] = x[i] * XMath.Pow(s, negBeta);
    }

    /// <summary>Backward of <see cref="LrnWithinForward"/>: dx_p = dy_p·s_p^−β − coeff·x_p·Σ_{q whose window holds p} dy_q·x_q·s_q^(−β−1).</summary>
    public static void LrnWithinBackward<TMap>(Index1D i, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> scale, ArrayView<float> dx,
        int size, float negBeta, float negBetaMinusOne, float coeff) where TMap : struct, IMapGeometry
    {
        int height = default(TMap).Shape.Height, width = default(TMap).Shape.Width;
        int plane = height * width, p = i % plane, r = p / width, c = p % width;
        long b = (long)((int)i - p);
        int r0 = XMath.Max(0, r - (size - 1) / 2), r1 = XMath.Min(height - 1, r + size / 2);
        int c0 = XMath.Max(0, c - (size - 1) / 2), c1 = XMath.Min(width - 1, c + size / 2);
        float sum = 0f;
        for (int u = r0; u <= r1; u++)
            for (int v = c0; v <= c1; v++) { long o = b + u * width + v; sum += dy[o] * x[o] * XMath.Pow(scale[o], negBetaMinusOne); }
        dx[i] = dy[i] * XMath.Pow(scale[i], negBeta) - coeff * x[i] * sum;
    }

    // ------------------------------------------------------------------ dropout

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The CPU's counter-based draw (<c>Rng.Uniform</c>), bit for bit: the twin draws the CPU network's masks.</summary>
    public static void Dropout(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<float> mask, ulong key, float p, float scale, int draw)
    {
        if (draw != 0)
        {
            float u = (Mix(key ^ Mix((ulong)(long)(int)i + 0x632BE59BD9B4E019UL)) >> 40) * (1f / (1 << 24));
            mask[i] = u < p ? 0f : scale;
        }
        y[i] = x[i] * mask[i];
    }

    // ------------------------------------------------------------------ plumbing, joins

    public static void Copy(Index1D i, ArrayView<float> src, ArrayView<float> dst) => dst[i] = src[i];

    /// <summary>dst[n, j] = samples[indices[n], j] (a batch gathered from <see cref="DeviceSamples"/>), <paramref name="sampleSize"/> floats a sample.</summary>
    public static void GatherSamples(Index1D i, ArrayView<float> samples, ArrayView<int> indices, ArrayView<float> dst, int sampleSize)
        => dst[i] = samples[(long)indices[i / sampleSize] * sampleSize + i % sampleSize];
    public static void Multiply(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> dst) => dst[i] = a[i] * b[i];
    public static void AddInto(Index1D i, ArrayView<float> src, ArrayView<float> dst) => dst[i] += src[i];

    /// <summary>dst[n, offset + j] = src[n, j] (Concat forward): src has <paramref name="part"/> floats per sample, dst <paramref name="total"/>.</summary>
    public static void CopyToSlice(Index1D i, ArrayView<float> src, ArrayView<float> dst, int part, int total, int offset)
    {
        int j = i % part, n = i / part;
        dst[(long)n * total + offset + j] = src[i];
    }

    /// <summary>dst[n, j] = src[n, offset + j] (Concat backward).</summary>
    public static void CopyFromSlice(Index1D i, ArrayView<float> src, ArrayView<float> dst, int part, int total, int offset)
    {
        int j = i % part, n = i / part;
        dst[i] = src[(long)n * total + offset + j];
    }

    // ------------------------------------------------------------------ losses (one thread per sample, or per pixel)

    /// <summary>Softmax cross-entropy over a column of <c>Classes</c> values <c>Pixels</c> apart (plain: one pixel; per-pixel:
    /// C·H·W outputs with H·W pixels): with a label, grad = (softmax − onehot)·w[y]·Scale, row loss w[y]·(lse − x[y]); with
    /// soft targets, grad = (softmax·Σw t − w t)·Scale, row loss Σ w t (lse − x).</summary>
    private static void CrossEntropyRow(int r, ArrayView<float> x, ArrayView<float> targets, ArrayView<int> labels, ArrayView<float> weights,
        ArrayView<float> grad, ArrayView<float> rowLoss, LossConfig c)
    {
        int p = r % c.Pixels, n = r / c.Pixels, s = c.Pixels;
        long b = (long)n * c.Classes * s + p;
        float max = float.NegativeInfinity;
        for (int j = 0; j < c.Classes; j++) max = XMath.Max(max, x[b + j * s]);
        float sum = 0f;
        for (int j = 0; j < c.Classes; j++) sum += XMath.Exp(x[b + j * s] - max);
        float lse = max + XMath.Log(sum);
        if (c.UseLabels != 0)
        {
            int y = labels[r];
            float w = c.Weighted != 0 ? weights[y] : 1f;
            rowLoss[r] = w * (lse - x[b + y * s]);
            float scale = w * c.Scale;
            for (int j = 0; j < c.Classes; j++) grad[b + j * s] = XMath.Exp(x[b + j * s] - lse) * scale;
            grad[b + y * s] -= scale;
            return;
        }
        float mass = 0f, loss = 0f;
        for (int k = 0; k < c.Classes; k++)
        {
            float wk = (c.Weighted != 0 ? weights[k] : 1f) * targets[b + k * s];
            mass += wk;
            loss += wk * (lse - x[b + k * s]);
        }
        rowLoss[r] = loss;
        for (int j = 0; j < c.Classes; j++)
        {
            float wj = (c.Weighted != 0 ? weights[j] : 1f) * targets[b + j * s];
            grad[b + j * s] = (XMath.Exp(x[b + j * s] - lse) * mass - wj) * c.Scale;
        }
    }

    /// <summary>Every loss of <c>NetDsl.Training.Losses</c> on the device: writes dL/d(output) and one partial sum per row,
    /// which the host adds up and divides (batch, batch·features or Σ w[label], as the CPU loss does).</summary>
    public static void LossRows(Index1D r, ArrayView<float> x, ArrayView<float> targets, ArrayView<int> labels, ArrayView<float> weights,
        ArrayView<float> grad, ArrayView<float> rowLoss, LossConfig c)
    {
        if (c.Kind == LossKind.CrossEntropy) { CrossEntropyRow(r, x, targets, labels, weights, grad, rowLoss, c); return; }
        int features = c.Classes;
        long b = (long)(int)r * features;
        float loss = 0f;
        if (c.Kind == LossKind.SquaredError)
        {
            for (int j = 0; j < features; j++)
            {
                float t = c.UseLabels != 0 ? (labels[r] == j ? 1f : 0f) : targets[b + j];
                float d = x[b + j] - t;
                loss += d * d;
                grad[b + j] = c.Scale * d;
            }
        }
        else if (c.Kind == LossKind.BinaryCrossEntropy)
        {
            // (1−t)x + lw·softplus(−x), lw = 1 + (pw−1)t; softplus(−x) = log1p(e^−|x|) + max(−x, 0).
            for (int j = 0; j < features; j++)
            {
                float v = x[b + j];
                float t = c.UseLabels != 0 ? (labels[r] == j ? 1f : 0f) : targets[b + j];
                float lw = c.Weighted != 0 ? 1f + (weights[j] - 1f) * t : 1f;
                float e = XMath.Exp(-XMath.Abs(v));
                float softplusNeg = XMath.Log(1f + e) + XMath.Max(-v, 0f);
                float sigmaNeg = v >= 0f ? e / (1f + e) : 1f / (1f + e);
                grad[b + j] = ((1f - t) - lw * sigmaNeg) * c.Scale;
                loss += (1f - t) * v + lw * softplusNeg;
            }
        }
        else if (c.Kind == LossKind.NegativeLogLikelihood)
        {
            if (c.UseLabels != 0)
            {
                int y = labels[r];
                float w = c.Weighted != 0 ? weights[y] : 1f;
                for (int j = 0; j < features; j++) grad[b + j] = 0f;
                grad[b + y] = -w * c.Scale;
                loss = -w * x[b + y];
            }
            else
                for (int j = 0; j < features; j++)
                {
                    float wt = (c.Weighted != 0 ? weights[j] : 1f) * targets[b + j];
                    loss -= wt * x[b + j];
                    grad[b + j] = -wt * c.Scale;
                }
        }
        else
        {
            // Multi-margin: Σ_{j≠y} w[y]·max(0, margin − x[y] + x[j])^p, strict z > 0 as PyTorch.
            int y = labels[r];
            float w = c.Weighted != 0 ? weights[y] : 1f, xy = x[b + y], gy = 0f;
            for (int j = 0; j < features; j++)
            {
                float z = c.Margin - xy + x[b + j];
                if (j == y || !(z > 0f)) { grad[b + j] = 0f; continue; }
                loss += c.P == 1 ? w * z : w * z * z;
                float gj = (c.P == 1 ? w : 2f * w * z) * c.Scale;
                grad[b + j] = gj;
                gy -= gj;
            }
            grad[b + y] = gy;
        }
        rowLoss[r] = loss;
    }

    // ------------------------------------------------------------------ optimizers (one thread per parameter)

    /// <summary>PyTorch 1.13 SGD: d = g + wd·p; b = first ? d : μb + (1 − dampening)d; p −= lr·(nesterov ? d + μb : b).</summary>
    public static void Sgd(Index1D i, ArrayView<float> p, ArrayView<float> g, ArrayView<float> buf, float lr, float wd, float mu, float keep, int nesterov, int first)
    {
        float d = g[i] + wd * p[i];
        if (mu == 0f) { p[i] -= lr * d; return; }
        float b = first != 0 ? d : mu * buf[i] + keep * d;
        buf[i] = b;
        p[i] -= lr * (nesterov != 0 ? d + mu * b : b);
    }

    /// <summary>PyTorch 1.13 Adagrad: sum += g²; p −= clr·g/(√sum + eps).</summary>
    public static void Adagrad(Index1D i, ArrayView<float> p, ArrayView<float> g, ArrayView<float> sum, float clr, float wd, float eps)
    {
        float gi = g[i] + wd * p[i];
        float s = sum[i] + gi * gi;
        sum[i] = s;
        p[i] -= clr * (gi / (XMath.Sqrt(s) + eps));
    }

    /// <summary>PyTorch 1.13 Adadelta: eps inside both square roots.</summary>
    public static void Adadelta(Index1D i, ArrayView<float> p, ArrayView<float> g, ArrayView<float> sq, ArrayView<float> acc, float lr, float rho, float eps, float wd)
    {
        float gi = g[i] + wd * p[i];
        float v = sq[i] * rho + (1f - rho) * (gi * gi);
        float delta = XMath.Sqrt(acc[i] + eps) / XMath.Sqrt(v + eps) * gi;
        sq[i] = v;
        acc[i] = acc[i] * rho + (1f - rho) * (delta * delta);
        p[i] -= lr * delta;
    }

    /// <summary>PyTorch 1.13 RMSprop: eps outside the root; centered subtracts the mean²; momentum buffer from 0.</summary>
    public static void RmsProp(Index1D i, ArrayView<float> p, ArrayView<float> g, ArrayView<float> sq, ArrayView<float> buf, ArrayView<float> gavg,
        float lr, float alpha, float eps, float wd, float mu, int centered)
    {
        float gi = g[i] + wd * p[i];
        float v = sq[i] * alpha + (1f - alpha) * (gi * gi);
        sq[i] = v;
        if (centered != 0)
        {
            float m = gavg[i] * alpha + (1f - alpha) * gi;
            gavg[i] = m;
            v -= m * m;
        }
        float avg = XMath.Sqrt(v) + eps;
        if (mu > 0f)
        {
            float b = buf[i] * mu + gi / avg;
            buf[i] = b;
            p[i] -= lr * b;
        }
        else p[i] -= lr * (gi / avg);
    }

    /// <summary>PyTorch 1.13 Adam/AdamW: decay p first (AdamW), then m, v (and max v for AMSGrad), p −= stepSize·m/(√v/√bc2 + eps).</summary>
    public static void Adam(Index1D i, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, ArrayView<float> vmax,
        float stepSize, float beta1, float beta2, float eps, float coupledWd, float decay, float bc2Sqrt, int amsgrad)
    {
        float pi = p[i] * decay;
        float gi = g[i] + coupledWd * pi;
        float mi = m[i] * beta1 + (1f - beta1) * gi;
        float vi = v[i] * beta2 + (1f - beta2) * (gi * gi);
        m[i] = mi;
        v[i] = vi;
        if (amsgrad != 0) { vi = XMath.Max(vmax[i], vi); vmax[i] = vi; }
        float denom = XMath.Sqrt(vi) / bc2Sqrt + eps;
        p[i] = pi - stepSize * (mi / denom);
    }
}
