using System;
using System.Collections.Generic;
using ILGPU;
using ILGPU.Runtime;
using NetDsl.Training;

namespace NetDsl.Gpu;

/// <summary>The device side of a loss: per-row kernels write dL/d(output) and one partial sum per row; only those partial
/// sums come back (batch floats, batch·pixels for the per-pixel loss). Reads its settings from the same <see cref="Loss"/>
/// objects the CPU network takes.</summary>
internal sealed class DeviceLoss : IDisposable
{
    private readonly LoadedKernels _k;
    private readonly int _features;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _grad, _targets, _rowLoss, _weights;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _labels;
    private readonly PinnedStaging<float> _floats;
    private readonly PinnedStaging<int> _ints;
    private float[]? _uploadedWeights;

    public DeviceLoss(Accelerator accelerator, LoadedKernels kernels, int maxBatch, int features)
    {
        _k = kernels;
        _features = features;
        long size = (long)maxBatch * features;
        _grad = accelerator.Allocate1D<float>(size);
        _targets = accelerator.Allocate1D<float>(size);
        _rowLoss = accelerator.Allocate1D<float>(size);
        _weights = accelerator.Allocate1D<float>(features);
        _labels = accelerator.Allocate1D<int>(size);
        _floats = new PinnedStaging<float>(accelerator, size);
        _ints = new PinnedStaging<int>(accelerator, size);
    }

    /// <summary>dL/d(output) of the last <see cref="Compute"/>.</summary>
    public ArrayView<float> Gradient => _grad.View;

    private static string Name(Loss loss) => loss.GetType().Name;

    /// <summary>Uploads the labels (or targets), runs the loss on <paramref name="output"/> and returns its value.</summary>
    public float Compute(Loss loss, ArrayView<float> output, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, bool useLabels)
    {
        int features = _features;
        var c = new LossConfig { Classes = features, Pixels = 1, UseLabels = useLabels ? 1 : 0, P = 1 };
        int rows = batch;
        double divisor;
        ReadOnlySpan<float> weights = default;
        switch (loss)
        {
            case PixelwiseSoftmaxCrossEntropy px:
            {
                if (features % px.Classes != 0)
                    throw new ArgumentException($"features {features} (the output's C·H·W) is not a multiple of the {px.Classes} classes", nameof(loss));
                c.Kind = LossKind.CrossEntropy;
                c.Classes = px.Classes;
                c.Pixels = features / px.Classes;
                rows = batch * c.Pixels;
                weights = px.ClassWeights;
                if (useLabels && labels.Length != rows)
                    throw new ArgumentException($"labels has length {labels.Length}, expected one per pixel: batch·H·W = {batch}·{c.Pixels} = {rows}", nameof(labels));
                divisor = useLabels ? WeightSum(weights, labels, px.Classes) : rows;
                break;
            }
            case SoftmaxCrossEntropy ce:
                c.Kind = LossKind.CrossEntropy;
                weights = ce.ClassWeights;
                divisor = useLabels ? WeightSum(weights, labels, features) : batch;
                break;
            case MeanSquaredError:
                c.Kind = LossKind.SquaredError;
                divisor = (double)batch * features;
                c.Scale = (float)(2.0 / divisor);
                break;
            case SumSquaredError:
                c.Kind = LossKind.SquaredError;
                divisor = 1;
                c.Scale = 2f;
                break;
            case BinaryCrossEntropyWithLogits bce:
                c.Kind = LossKind.BinaryCrossEntropy;
                weights = bce.PosWeight;
                divisor = (double)batch * features;
                break;
            case NegativeLogLikelihood nll:
                c.Kind = LossKind.NegativeLogLikelihood;
                weights = nll.ClassWeights;
                divisor = useLabels ? WeightSum(weights, labels, features) : batch;
                break;
            case MultiMarginLoss mm:
                if (!useLabels) throw new NotSupportedException("MultiMarginLoss needs class labels; call the overload that takes ReadOnlySpan<int> labels");
                c.Kind = LossKind.MultiMargin;
                c.P = mm.P;
                c.Margin = mm.Margin;
                weights = mm.ClassWeights;
                divisor = (double)batch * features;
                break;
            default:
                throw new NotSupportedException($"{Name(loss)} has no device kernel; the GPU twin supports SoftmaxCrossEntropy, PixelwiseSoftmaxCrossEntropy, MeanSquaredError, SumSquaredError, BinaryCrossEntropyWithLogits, NegativeLogLikelihood and MultiMarginLoss.");
        }
        if (c.Kind is LossKind.CrossEntropy or LossKind.NegativeLogLikelihood or LossKind.BinaryCrossEntropy or LossKind.MultiMargin)
            c.Scale = (float)(1.0 / divisor);
        if (!weights.IsEmpty)
        {
            int expected = c.Kind == LossKind.CrossEntropy ? c.Classes : features;
            if (weights.Length != expected)
                throw new ArgumentException($"{Name(loss)}: the weights have length {weights.Length}, expected one per class = {expected}", nameof(loss));
            if (_uploadedWeights is null || !weights.SequenceEqual(_uploadedWeights))
            {
                _uploadedWeights = weights.ToArray();
                _weights.View.AsContiguous().SubView(0, weights.Length).CopyFromCPU(weights);
            }
            c.Weighted = 1;
        }
        if (useLabels)
        {
            int classes = c.Classes;
            if (c.Kind != LossKind.SquaredError)
                foreach (int y in labels)
                    if ((uint)y >= (uint)classes)
                        throw new ArgumentOutOfRangeException(nameof(labels), y, $"{Name(loss)}: label {y} is out of range for {classes} classes");
            _ints.Upload(labels, _labels.View);
        }
        else _floats.Upload(targets, _targets.View);
        _k.LossRows(rows, output, _targets.View, _labels.View, _weights.View, _grad.View, _rowLoss.View, c);
        var partial = new float[rows];
        _floats.Download(_rowLoss.View, partial);
        double sum = 0;
        foreach (float v in partial) sum += v;
        return (float)(sum / divisor);
    }

    private static double WeightSum(ReadOnlySpan<float> weights, ReadOnlySpan<int> labels, int classes)
    {
        if (weights.IsEmpty) return labels.Length;
        double sum = 0;
        foreach (int y in labels)
        {
            if ((uint)y >= (uint)classes) throw new ArgumentOutOfRangeException(nameof(labels), y, $"label {y} is out of range for {classes} classes");
            sum += weights[y];
        }
        return sum;
    }

    public void Dispose()
    {
        _grad.Dispose(); _targets.Dispose(); _rowLoss.Dispose(); _weights.Dispose(); _labels.Dispose();
        _floats.Dispose(); _ints.Dispose();
    }
}

/// <summary>The device side of the optimizers: one update kernel over the flat parameter buffer per optimizer kind, PyTorch
/// 1.13 formulas (as <c>NetDsl.Training.Optimizers</c>), the state on the device keyed by the optimizer object (whose
/// hyperparameters, learning rate included, are read at every step).</summary>
internal sealed class DeviceOptimizer : IDisposable
{
    private sealed class State
    {
        public int Steps;
        public MemoryBuffer1D<float, Stride1D.Dense>? A, B, C;
    }

    private readonly Accelerator _accelerator;
    private readonly LoadedKernels _k;
    private readonly Dictionary<Optimizer, State> _states = new(ReferenceEqualityComparer.Instance);

    public DeviceOptimizer(Accelerator accelerator, LoadedKernels kernels)
    {
        _accelerator = accelerator;
        _k = kernels;
    }

    private MemoryBuffer1D<float, Stride1D.Dense> Zeros(int n, float value = 0f)
    {
        var b = _accelerator.Allocate1D<float>(Math.Max(n, 1));
        if (value == 0f) b.MemSetToZero();
        else
        {
            var host = new float[Math.Max(n, 1)];
            Array.Fill(host, value);
            b.CopyFromCPU(host);
        }
        return b;
    }

    /// <summary>The number of steps taken with <paramref name="optimizer"/> on this device.</summary>
    public int Steps(Optimizer optimizer) => _states.TryGetValue(optimizer, out var s) ? s.Steps : 0;

    /// <summary>A host copy of state tensor <paramref name="index"/> (0, 1, 2: the kind's buffers in PyTorch's order), for tests.</summary>
    public float[]? StateCopy(Optimizer optimizer, int index)
    {
        if (!_states.TryGetValue(optimizer, out var s)) return null;
        var b = index switch { 0 => s.A, 1 => s.B, _ => s.C };
        return b?.GetAsArray1D();
    }

    public void Step(Optimizer optimizer, ArrayView<float> p, ArrayView<float> g, int n)
    {
        float lr = optimizer.LearningRate;
        if (!(lr >= 0) || float.IsInfinity(lr))
            throw new ArgumentOutOfRangeException(nameof(optimizer), lr, $"LearningRate must be finite and >= 0, got {lr}");
        if (!_states.TryGetValue(optimizer, out var s)) _states[optimizer] = s = new State();
        if (n == 0)
        {
            // A network without parameters (a pooling stage alone): nothing to update, and ILGPU refuses a launch of no threads.
            s.Steps++;
            return;
        }
        switch (optimizer)
        {
            case Sgd sgd:
            {
                bool first = sgd.Momentum != 0 && s.A is null;
                if (sgd.Momentum != 0) s.A ??= Zeros(n);
                s.Steps++;
                _k.Sgd(n, p, g, s.A is null ? p : s.A.View, lr, sgd.WeightDecay, sgd.Momentum, (float)(1.0 - sgd.Dampening), sgd.Nesterov ? 1 : 0, first ? 1 : 0);
                break;
            }
            case AdamBase adam:
            {
                s.A ??= Zeros(n);
                s.B ??= Zeros(n);
                if (adam.AmsGrad) s.C ??= Zeros(n);
                int t = ++s.Steps;
                double bc1 = 1 - Math.Pow(adam.Beta1, t), bc2 = 1 - Math.Pow(adam.Beta2, t);
                bool decoupled = adam is AdamW;
                float decay = decoupled && adam.WeightDecay != 0 ? 1f - lr * adam.WeightDecay : 1f;
                _k.Adam(n, p, g, s.A.View, s.B.View, (s.C ?? s.B).View, (float)(lr / bc1), adam.Beta1, adam.Beta2, adam.Eps,
                    decoupled ? 0f : adam.WeightDecay, decay, (float)Math.Sqrt(bc2), adam.AmsGrad ? 1 : 0);
                break;
            }
            case Adagrad ada:
            {
                s.A ??= Zeros(n, ada.InitialAccumulatorValue);
                int t = ++s.Steps;
                float clr = (float)(lr / (1 + (t - 1) * (double)ada.LrDecay));
                _k.Adagrad(n, p, g, s.A.View, clr, ada.WeightDecay, ada.Eps);
                break;
            }
            case Adadelta delta:
            {
                s.A ??= Zeros(n);
                s.B ??= Zeros(n);
                s.Steps++;
                _k.Adadelta(n, p, g, s.A.View, s.B.View, lr, delta.Rho, delta.Eps, delta.WeightDecay);
                break;
            }
            case RmsProp rms:
            {
                s.A ??= Zeros(n);
                if (rms.Momentum > 0) s.B ??= Zeros(n);
                if (rms.Centered) s.C ??= Zeros(n);
                s.Steps++;
                _k.RmsProp(n, p, g, s.A.View, (s.B ?? s.A).View, (s.C ?? s.A).View, lr, rms.Alpha, rms.Eps, rms.WeightDecay, rms.Momentum, rms.Centered ? 1 : 0);
                break;
            }
            default:
                throw new NotSupportedException($"{optimizer.Kind} has no device update kernel; the GPU twin supports Sgd, Adam, AdamW, Adagrad, Adadelta and RmsProp.");
        }
    }

    public void Dispose()
    {
        foreach (var s in _states.Values) { s.A?.Dispose(); s.B?.Dispose(); s.C?.Dispose(); }
        _states.Clear();
    }
}
