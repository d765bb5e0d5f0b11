namespace NetDsl.Gpu;

// Shapes known when the network is generated. A generated twin declares one struct per distinct layer shape whose const
// fields are that layer's numbers, and passes it to the kernels as a type argument (Im2Col<Conv1Geometry>). ILGPU compiles
// one kernel per type argument and inlines the struct's members, so every bound, stride and divisor in the kernel is a
// literal: integer divisions by the output width become multiplications, bounds checks against constants fold, unit
// strides vanish from the address arithmetic. Only the batch (and how the launcher splits work) stays a launch argument.
// The same structs drive the host side (grid sizes, GEMM shapes), so a launch and its kernel cannot disagree.

/// <summary>A convolution's geometry as compile-time constants (also a dense layer as a 1×1 convolution, and the
/// convolution a transposed convolution is the adjoint of). Implemented by generated structs whose
/// <see cref="Shape"/> is built from const fields.</summary>
public interface IConvGeometry
{
    ConvShape Shape { get; }
}

/// <summary>A pooling layer's geometry as compile-time constants (generated structs).</summary>
public interface IPoolGeometry
{
    PoolShape Shape { get; }
}

/// <summary>A feature map's channels × height × width (the per-channel and per-plane kernels: bias, softmax, PReLU, batch
/// norm, LRN, channel maxout, global average pooling). Channel maxout's map is its output, and <see cref="Pieces"/> the input
/// channels per output channel (1 elsewhere).</summary>
public readonly struct MapShape
{
    public MapShape(int channels, int height, int width, int pieces = 1)
    {
        Channels = channels; Height = height; Width = width; Pieces = pieces;
    }

    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public int Pieces { get; }
    public int Plane => Height * Width;
}

/// <summary>A feature map's shape as compile-time constants (generated structs).</summary>
public interface IMapGeometry
{
    MapShape Shape { get; }
}

/// <summary>A convolution's output map (its bias gradient's per-channel sums).</summary>
public struct ConvOutputMap<TConv> : IMapGeometry where TConv : struct, IConvGeometry
{
    public readonly MapShape Shape
    {
        get
        {
            var c = default(TConv).Shape;
            return new(c.OC, c.OH, c.OW);
        }
    }
}

/// <summary>A dense layer's output as a map of 1×1 planes (its bias gradient's per-channel sums).</summary>
public struct DenseOutputMap<TDense> : IMapGeometry where TDense : struct, IDenseGeometry
{
    public readonly MapShape Shape => new(default(TDense).Outputs, 1, 1);
}

/// <summary>A dense layer's sizes as compile-time constants (generated structs).</summary>
public interface IDenseGeometry
{
    int Inputs { get; }
    int Outputs { get; }
}

/// <summary>What a product's kernel knows at compile time: <see cref="Fix"/> returns the launch's shape with the known
/// fields (sizes, strides, Ldc) replaced by constants. What the batch decides (a dense layer's M or K, the items, the
/// split) and the epilogue stay the launch's. The host builds its shapes through the same method.</summary>
public interface IGemmGeometry
{
    GemmShape Fix(GemmShape s);
}

/// <summary>No field known at compile time: every size comes from the launch (the GEMM alone in tests and benchmarks).</summary>
public struct RuntimeProduct : IGemmGeometry
{
    public readonly GemmShape Fix(GemmShape s) => s;
}

/// <summary>A convolution's forward, per group and sample: Y[opg, plane] = W[opg, kg]·cols[kg, plane].</summary>
public struct ConvForwardProduct<TConv> : IGemmGeometry where TConv : struct, IConvGeometry
{
    public readonly GemmShape Fix(GemmShape s)
    {
        var c = default(TConv).Shape;
        int plane = c.Plane, opg = c.OutPerGroup, kg = c.RowsPerGroup;
        s.M = opg; s.N = plane; s.K = kg; s.Am = kg; s.Ak = 1; s.Bk = plane; s.Bn = 1; s.Ldc = plane;
        return s;
    }
}

/// <summary>A convolution's weight gradient, per group, summed over the batch: dW[opg, kg] += dY[opg, plane]·colsᵀ.</summary>
public struct ConvWeightProduct<TConv> : IGemmGeometry where TConv : struct, IConvGeometry
{
    public readonly GemmShape Fix(GemmShape s)
    {
        var c = default(TConv).Shape;
        int plane = c.Plane, opg = c.OutPerGroup, kg = c.RowsPerGroup;
        s.M = opg; s.N = kg; s.K = plane; s.Am = plane; s.Ak = 1; s.Bk = 1; s.Bn = plane; s.Ldc = kg;
        return s;
    }
}

/// <summary>A convolution's column gradient, per group and sample: dcols[kg, plane] = Wᵀ·dY[opg, plane].</summary>
public struct ConvDataProduct<TConv> : IGemmGeometry where TConv : struct, IConvGeometry
{
    public readonly GemmShape Fix(GemmShape s)
    {
        var c = default(TConv).Shape;
        int plane = c.Plane, opg = c.OutPerGroup, kg = c.RowsPerGroup;
        s.M = kg; s.N = plane; s.K = opg; s.Am = 1; s.Ak = kg; s.Bk = plane; s.Bn = 1; s.Ldc = plane;
        return s;
    }
}

/// <summary>A dense layer's forward: Y[batch, outputs] = X[batch, inputs]·Wᵀ (M, the batch, from the launch).</summary>
public struct DenseForwardProduct<TDense> : IGemmGeometry where TDense : struct, IDenseGeometry
{
    public readonly GemmShape Fix(GemmShape s)
    {
        int inputs = default(TDense).Inputs, outputs = default(TDense).Outputs;
        s.N = outputs; s.K = inputs; s.Am = inputs; s.Ak = 1; s.Bk = 1; s.Bn = inputs; s.Ldc = outputs;
        return s;
    }
}

/// <summary>A dense layer's weight gradient: dW[outputs, inputs] += dYᵀ·X (K, the batch, from the launch).</summary>
public struct DenseWeightProduct<TDense> : IGemmGeometry where TDense : struct, IDenseGeometry
{
    public readonly GemmShape Fix(GemmShape s)
    {
        int inputs = default(TDense).Inputs, outputs = default(TDense).Outputs;
        s.M = outputs; s.N = inputs; s.Am = 1; s.Ak = outputs; s.Bk = inputs; s.Bn = 1; s.Ldc = inputs;
        return s;
    }
}

/// <summary>A dense layer's input gradient: dX[batch, inputs] = dY[batch, outputs]·W (M, the batch, from the launch).</summary>
public struct DenseDataProduct<TDense> : IGemmGeometry where TDense : struct, IDenseGeometry
{
    public readonly GemmShape Fix(GemmShape s)
    {
        int inputs = default(TDense).Inputs, outputs = default(TDense).Outputs;
        s.N = inputs; s.K = outputs; s.Am = outputs; s.Ak = 1; s.Bk = inputs; s.Bn = 1; s.Ldc = inputs;
        return s;
    }
}
