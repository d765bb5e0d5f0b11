using System;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using NetDsl.Gpu;
using NetDsl.Tests.Networks;
using Xunit;

namespace NetDsl.Gpu.Tests;

/// <summary>
/// The twins' kernels are compiled for their layers' shapes: each generated geometry struct's constants must reach the
/// kernel as literals. Checked on the PTX that ILGPU's CUDA backend writes for sm_90 (no device needed): a kernel compiled
/// for a geometry reads no shape from its parameters (only its views and the launch bound) and divides by no register
/// (every divisor is a literal, which ptxas turns into a multiply); the GEMM compiled for a product has fewer instructions
/// than the same kernel given the shape at launch (<see cref="RuntimeProduct"/>), and its large tiles no longer choose a
/// staging order at run time.
/// </summary>
public sealed class SpecializedKernelTests : IDisposable
{
    private readonly Context _context = Context.Create(b => b.Default().EnableAlgorithms());
    private readonly PTXBackend _backend;

    public SpecializedKernelTests() => _backend = new PTXBackend(_context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null!);

    public void Dispose() => _context.Dispose();

    private sealed record Ptx(string Text, string[] Instructions)
    {
        public int ParameterLoads => Instructions.Count(i => i.StartsWith("ld.param", StringComparison.Ordinal));
        /// <summary>div or rem whose divisor (the last operand) is a register, not a literal.</summary>
        public int RegisterDivisions => Instructions.Count(i => Regex.IsMatch(i, @"^(div|rem)\.[su]\d+\s.*,\s*%r\w+;$"));
        public int Selects => Instructions.Count(i => i.StartsWith("selp", StringComparison.Ordinal));
        public int Calls => Instructions.Count(i => i.StartsWith("call", StringComparison.Ordinal));
    }

    private Ptx Compile(string kernel, Type geometry)
    {
        var method = typeof(GpuDevice).Assembly.GetType("NetDsl.Gpu.DeviceKernels")!
            .GetMethod(kernel, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(geometry);
        var entry = method.GetParameters()[0].ParameterType == typeof(Index1D)
            ? EntryPointDescription.FromImplicitlyGroupedKernel(method)
            : EntryPointDescription.FromExplicitlyGroupedKernel(method);
        var text = ((PTXCompiledKernel)_backend.Compile(entry, KernelSpecialization.Empty)).PTXAssembly;
        // NETDSL_PTX_DIR=dir keeps each kernel's PTX there, for ptxas's register counts on a GPU machine (benchmarks/gpu/ab-run.sh).
        if (Environment.GetEnvironmentVariable("NETDSL_PTX_DIR") is { Length: > 0 } dir)
            System.IO.File.WriteAllText(System.IO.Path.Combine(dir, $"{kernel}-{Regex.Replace(geometry.FullName ?? geometry.Name, "[^A-Za-z0-9]+", "_")}.ptx"), text);
        var instructions = text.Split('\n').Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith("//", StringComparison.Ordinal) && !l.StartsWith('.') && !l.EndsWith(':') && l is not "{" and not "}")
            .ToArray();
        return new Ptx(text, instructions);
    }

    [Theory]
    [InlineData("Im2Col", typeof(LeNet5.Gpu.Conv2Geometry), 2, 0)]
    [InlineData("Col2Im", typeof(LeNet5.Gpu.Conv2Geometry), 2, 0)]
    [InlineData("Im2Col", typeof(GroupedConvolutions.Gpu.GroupedGeometry), 2, 0)]
    [InlineData("Col2Im", typeof(GroupedConvolutions.Gpu.DepthwiseGeometry), 2, 0)]
    [InlineData("PoolForward", typeof(LeNet5.Gpu.Pool1Geometry), 3, 0)]
    [InlineData("PoolBackward", typeof(NotesLayers.Gpu.SumGeometry), 5, 0)]
    [InlineData("ConvForward", typeof(GroupedConvolutions.Gpu.DepthwiseGeometry), 4, 1)] // hasBias
    [InlineData("ConvBackwardData", typeof(LeNet5.Gpu.Conv1Geometry), 3, 0)]
    [InlineData("ConvBackwardWeight", typeof(GoldenConvTK3S2P1.Gpu.Deconv1Geometry), 3, 1)] // the batch
    [InlineData("BiasAdd", typeof(GoldenConvTK2S2.Gpu.Deconv1Map), 2, 0)]
    [InlineData("Softmax", typeof(GoldenSoftmax.Gpu.Softmax1Map), 2, 0)]
    [InlineData("SoftmaxBackward", typeof(GoldenSoftmax.Gpu.Softmax1Map), 3, 0)]
    [InlineData("BatchNormForward", typeof(SmallResNet.Gpu.Bn1Map), 6, 0)]
    [InlineData("BatchNormBackward", typeof(SmallResNet.Gpu.Bn4Map), 5, 2)] // count, training
    [InlineData("GlobalAvgForward", typeof(SmallResNet.Gpu.Bn4Map), 2, 0)]
    [InlineData("GlobalAvgBackward", typeof(SmallResNet.Gpu.Bn4Map), 2, 0)]
    [InlineData("ChannelMaxoutForward", typeof(NotesLayers.Gpu.MaxoutMap), 3, 0)]
    [InlineData("ChannelMaxoutBackward", typeof(NotesLayers.Gpu.MaxoutMap), 3, 0)]
    [InlineData("PRelu", typeof(GoldenPReluPerChannel.Gpu.Prelu1Map), 3, 1)] // per channel
    [InlineData("LrnForward", typeof(GoldenLrn.Gpu.Lrn1Map), 3, 4)] // size, α/size, −β, k
    [InlineData("LrnWithinBackward", typeof(NotesLayers.Gpu.NormMap), 4, 4)] // size, −β, −β − 1, coefficient
    [InlineData("ChannelPartialSums", typeof(SmallResNet.Gpu.Bn1Map), 3, 3)] // batch, chunk, mode (no launch bound: explicitly grouped)
    [InlineData("ChannelPartialSums", typeof(ConvOutputMap<LeNet5.Gpu.Conv2Geometry>), 3, 3)] // a convolution's bias gradient
    [InlineData("BatchNormStatistics", typeof(SmallResNet.Gpu.Bn4Map), 3, 5)] // parts, count, momentum, ε, training
    [InlineData("BatchNormBackwardReduce", typeof(SmallResNet.Gpu.Bn4Map), 4, 2)] // parts, addParameters
    public void A_kernel_compiled_for_a_geometry_reads_no_shape_at_launch(string kernel, Type geometry, int views, int scalars)
    {
        var ptx = Compile(kernel, geometry);
        // Each view is a pointer and a length, the launch bound one more; the scalars are the layer's other arguments.
        int expected = 2 * views + 1 + scalars;
        Assert.True(ptx.ParameterLoads <= expected, $"{kernel}<{geometry.Name}> loads {ptx.ParameterLoads} parameters, expected at most {expected}");
        Assert.Equal(0, ptx.RegisterDivisions);
        Assert.Equal(0, ptx.Calls);
    }

    [Theory]
    [InlineData("GemmLarge", typeof(ConvForwardProduct<LeNet5.Gpu.Conv2Geometry>))]
    [InlineData("GemmLarge", typeof(ConvWeightProduct<SmallResNet.Gpu.Conv2Geometry>))]
    [InlineData("GemmLarge", typeof(ConvDataProduct<GroupedConvolutions.Gpu.GroupedGeometry>))]
    [InlineData("GemmWide", typeof(DenseForwardProduct<LeNet5.Gpu.Fc1Geometry>))]
    [InlineData("GemmNarrow32", typeof(ConvForwardProduct<LeNet5.Gpu.Conv2Geometry>))]
    [InlineData("GemmNarrow16", typeof(ConvForwardProduct<SmallResNet.Gpu.Conv2Geometry>))]
    [InlineData("GemmNarrow16", typeof(ConvWeightProduct<SmallResNet.Gpu.Conv2Geometry>))]
    [InlineData("Gemm", typeof(DenseDataProduct<LeNet5.Gpu.Fc2Geometry>))]
    public void A_product_compiled_for_its_layer_folds_its_sizes_and_strides(string kernel, Type product)
    {
        var runtime = Compile(kernel, typeof(RuntimeProduct));
        var shaped = Compile(kernel, product);
        Assert.True(shaped.Instructions.Length < runtime.Instructions.Length,
            $"{kernel}: {shaped.Instructions.Length} instructions for {product.Name}, {runtime.Instructions.Length} with the shape at launch");
        // What stays a register is the launch's: the K range of a split (KChunk) and the items.
        Assert.True(shaped.RegisterDivisions <= runtime.RegisterDivisions,
            $"{kernel}: {shaped.RegisterDivisions} divisions by a register for {product.Name}, {runtime.RegisterDivisions} with the shape at launch");
        if (kernel != "Gemm")
            // The large tiles choose how to stage A and B from the strides (along k or along m, along n or along k): the
            // selects between the two orders fold away when the strides are constants.
            Assert.True(shaped.Selects < runtime.Selects, $"{kernel}: {shaped.Selects} selects for {product.Name}, {runtime.Selects} with the shape at launch");
        Assert.Equal(0, shaped.Calls);
    }

    [Fact]
    public void Layers_of_one_shape_share_a_geometry_and_its_kernels()
    {
        // SmallResNet: two 8→8 3×3 convolutions at 12×12 (one struct), two 16→16 at 6×6 (another), the stem and the strided one.
        var convs = typeof(SmallResNet.Gpu).GetNestedTypes().Where(t => typeof(IConvGeometry).IsAssignableFrom(t)).Select(t => t.Name).OrderBy(n => n).ToArray();
        Assert.Equal(new[] { "Conv1Geometry", "Conv2Geometry", "Conv4Geometry", "Conv5Geometry" }, convs);
        Assert.Equal(new ConvShape(8, 12, 12, 8, 12, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1), default(SmallResNet.Gpu.Conv2Geometry).Shape);
        Assert.Equal(16, SmallResNet.Gpu.Conv5Geometry.InChannels);
        Assert.Equal(2, SmallResNet.Gpu.Conv4Geometry.StrideHeight);
    }

    [Theory]
    [InlineData(typeof(ConvForwardProduct<GroupedConvolutions.Gpu.GroupedGeometry>))]
    [InlineData(typeof(ConvWeightProduct<GroupedConvolutions.Gpu.DepthwiseGeometry>))]
    [InlineData(typeof(ConvDataProduct<LeNet5.Gpu.Conv2Geometry>))]
    public void A_products_fixed_fields_keep_what_the_launch_decides(Type product)
    {
        // Fix sets sizes and strides only: the items, the split, the accumulation and the epilogue stay the launch's.
        var launch = new GemmShape(1000, 2, 3, 4, 5, 6, 7, 8, accumulate: true).Batched(9, 10, 11, 12).WithEpilogue(1, ActivationKind.Tanh, 0.5f).SplitK(16, 13);
        var fixedShape = ((IGemmGeometry)Activator.CreateInstance(product)!).Fix(launch);
        Assert.Equal((launch.Items, launch.Inner, launch.KChunk, launch.Sa, launch.Sb, launch.Sc, launch.Accumulate, launch.BiasAlong, launch.Activation, launch.Slope),
            (fixedShape.Items, fixedShape.Inner, fixedShape.KChunk, fixedShape.Sa, fixedShape.Sb, fixedShape.Sc, fixedShape.Accumulate, fixedShape.BiasAlong, fixedShape.Activation, fixedShape.Slope));
        Assert.NotEqual(launch.M, fixedShape.M);
    }
}

/// <summary>A twin's constructor compiles every shape-specialized kernel its steps launch: training and inference steps at
/// batch 1 and at the largest batch compile nothing more (the GEMM tiles, the split sums, the bias sums, the map kernels).</summary>
public sealed class TwinConstructorCompilesItsKernelsTests
{
    [Fact]
    public void StepsAfterTheConstructorCompileNoKernel()
    {
        using var device = GpuDevice.Cpu(threadsPerWarp: 4, warpsPerGroup: 4, processors: 2);
        var accelerator = device.Accelerator;
        using var notes = new NotesLayers.Gpu(device, 3, seed: 1);
        using var resnet = new SmallResNet.Gpu(device, 3, seed: 1);
        using var transposed = new GoldenConvTK2S2.Gpu(device, 3, seed: 1);
        using var lenet = new LeNet5.Gpu(device, 3, seed: 1);
        int compiled = ShapedKernelCount.CompiledOn(accelerator);
        Assert.True(compiled > 20, $"{compiled} kernels compiled by four constructors");
        foreach (IGpuNetwork net in new IGpuNetwork[] { notes, resnet, transposed, lenet })
            foreach (int batch in new[] { 1, 3 })
            {
                var input = new float[batch * net.InputSize];
                for (int i = 0; i < input.Length; i++) input[i] = (i % 7 - 3) * 0.1f;
                net.Forward(input, batch, training: true);
                net.ComputeInputGradient = true;
                net.Backward(new float[batch * net.OutputSize], batch);
                net.Forward(input, batch, training: false);
            }
        Assert.Equal(compiled, ShapedKernelCount.CompiledOn(accelerator));
    }
}
