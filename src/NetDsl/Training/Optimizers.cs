using System;
using System.Collections.Generic;
using System.Numerics;

namespace NetDsl.Training;

/// <summary>Argument and state checks shared by the optimizers.</summary>
internal static class OptChecks
{
    public static float NonNegative(float value, string name)
    {
        if (!(value >= 0) || float.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and >= 0, got {value}");
        return value;
    }

    public static float UnitOpen(float value, string name)
    {
        if (!(value >= 0 && value < 1))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [0, 1), got {value}");
        return value;
    }

    public static float UnitClosed(float value, string name)
    {
        if (!(value >= 0 && value <= 1))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [0, 1], got {value}");
        return value;
    }

    /// <summary>Validates one step's spans and the (settable) learning rate; returns the rate.</summary>
    public static float Step(Optimizer o, int parameters, int gradients)
    {
        if (gradients != parameters)
            throw new ArgumentException($"gradients has length {gradients}, expected the parameters' length {parameters}", nameof(gradients));
        float lr = o.LearningRate;
        if (!(lr >= 0) || float.IsInfinity(lr))
            throw new ArgumentOutOfRangeException(nameof(Optimizer.LearningRate), lr, $"LearningRate must be finite and >= 0, got {lr}");
        return lr;
    }

    /// <summary>Checks a range of a step taken in ranges: begun (BeginStep) over <paramref name="length"/> parameters, the
    /// spans of equal length and inside it.</summary>
    public static void Range(Optimizer o, int length, int parameters, int gradients, int offset)
    {
        if (length < 0) throw new InvalidOperationException($"{o.Kind}.StepRange: call BeginStep first");
        if (gradients != parameters)
            throw new ArgumentException($"gradients has length {gradients}, expected the parameters' length {parameters}", nameof(gradients));
        if (offset < 0 || offset > length - parameters)
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"{o.Kind}.StepRange: [{offset}, {offset + parameters}) is not inside the step's {length} parameters");
    }

    /// <summary>Allocates state on the first step; afterwards the buffer must keep its length.</summary>
    public static bool Ensure(ref float[]? state, int length, string name, float initial = 0f)
    {
        if (state is null)
        {
            state = new float[length];
            if (initial != 0) state.AsSpan().Fill(initial);
            return true;
        }
        if (state.Length != length)
            throw new ArgumentException(
                $"parameter buffer has length {length} but the optimizer state '{name}' has length {state.Length} from the first step; use one optimizer per buffer or call Reset()",
                "parameters");
        return false;
    }

    public static int VectorEnd(int length) => Vector.IsHardwareAccelerated ? length - length % Vector<float>.Count : 0;
}

/// <summary>Stochastic gradient descent with optional momentum, dampening, Nesterov and coupled weight decay (PyTorch 1.13 <c>SGD</c>).</summary>
public sealed class Sgd : Optimizer
{
    float[]? _momentumBuffer;

    public Sgd(float learningRate, float momentum = 0f, float dampening = 0f, bool nesterov = false, float weightDecay = 0f)
        : base(OptChecks.NonNegative(learningRate, nameof(learningRate)))
    {
        _momentum = OptChecks.NonNegative(momentum, nameof(momentum));
        if (!float.IsFinite(dampening)) throw new ArgumentOutOfRangeException(nameof(dampening), dampening, $"dampening must be finite, got {dampening}");
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentOutOfRangeException(nameof(nesterov), nesterov,
                $"Nesterov momentum requires momentum > 0 and dampening = 0, got momentum {momentum} and dampening {dampening}");
        Dampening = dampening;
        Nesterov = nesterov;
        WeightDecay = OptChecks.NonNegative(weightDecay, nameof(weightDecay));
    }

    /// <summary>μ. Settable between steps (a momentum schedule, e.g. 0.9 → 0.999), but not to or from 0, which would add or
    /// drop the momentum buffer; PyTorch's equivalent is changing <c>param_groups[0]["momentum"]</c>.</summary>
    public float Momentum
    {
        get => _momentum;
        set
        {
            OptChecks.NonNegative(value, nameof(Momentum));
            if ((value == 0) != (_momentum == 0))
                throw new ArgumentOutOfRangeException(nameof(Momentum), value, $"momentum can change between steps but not to or from 0 (it is {_momentum}); build the Sgd with the momentum it starts at");
            _momentum = value;
        }
    }
    float _momentum;
    public float Dampening { get; }
    public bool Nesterov { get; }
    public float WeightDecay { get; }

    /// <summary>PyTorch's <c>momentum_buffer</c>; empty before the first step or without momentum.</summary>
    public ReadOnlySpan<float> MomentumBuffer => _momentumBuffer;

    public void Reset() { _momentumBuffer = null; StepCount = 0; }

    public override bool CanCheckpoint => true;
    public override string Settings => $"momentum={Text(Momentum)}, dampening={Text(Dampening)}, nesterov={Nesterov}, weight_decay={Text(WeightDecay)}";
    public override IReadOnlyList<string> StateNames => Momentum != 0 ? ["momentum_buffer"] : [];
    internal override ref float[]? Slot(string name)
    {
        if (name == "momentum_buffer" && Momentum != 0) return ref _momentumBuffer;
        throw UnknownState(name);
    }

    public override void Step(Span<float> parameters, ReadOnlySpan<float> gradients) => StepAsOneRange(parameters, gradients);

    bool _stepFirst; // this step seeds the momentum buffer (BeginStep → StepRange)

    public override bool SplitsIntoRanges => true;

    public override void BeginStep(int length)
    {
        float lr = OptChecks.Step(this, length, length);
        _stepFirst = Momentum != 0 && OptChecks.Ensure(ref _momentumBuffer, length, "momentum_buffer");
        BeganRanges(length, lr);
    }

    public override void StepRange(Span<float> parameters, ReadOnlySpan<float> gradients, int offset)
    {
        OptChecks.Range(this, RangeLength, parameters.Length, gradients.Length, offset);
        float lr = RangeLearningRate, wd = WeightDecay, mu = Momentum, keep = (float)(1.0 - Dampening);
        bool first = _stepFirst;
        int n = parameters.Length, i = 0;
        if (Momentum == 0)
        {
            int end = OptChecks.VectorEnd(n);
            var vlr = new Vector<float>(lr); var vwd = new Vector<float>(wd);
            for (; i < end; i += Vector<float>.Count)
            {
                var p = new Vector<float>(parameters.Slice(i));
                var d = new Vector<float>(gradients.Slice(i)) + vwd * p;
                (p - vlr * d).CopyTo(parameters.Slice(i));
            }
            for (; i < n; i++) parameters[i] -= lr * (gradients[i] + wd * parameters[i]);
            return;
        }
        var buf = _momentumBuffer.AsSpan(offset, n);
        if (!first)
        {
            int end = OptChecks.VectorEnd(n);
            var vlr = new Vector<float>(lr); var vwd = new Vector<float>(wd);
            var vmu = new Vector<float>(mu); var vkeep = new Vector<float>(keep);
            for (; i < end; i += Vector<float>.Count)
            {
                var p = new Vector<float>(parameters.Slice(i));
                var d = new Vector<float>(gradients.Slice(i)) + vwd * p;
                var b = vmu * new Vector<float>(buf.Slice(i)) + vkeep * d;
                b.CopyTo(buf.Slice(i));
                (p - vlr * (Nesterov ? d + vmu * b : b)).CopyTo(parameters.Slice(i));
            }
        }
        for (; i < n; i++)
        {
            float d = gradients[i] + wd * parameters[i];
            // PyTorch seeds the buffer with the first gradient, undampened.
            float b = first ? d : mu * buf[i] + keep * d;
            buf[i] = b;
            parameters[i] -= lr * (Nesterov ? d + mu * b : b);
        }
    }
}

/// <summary>State and hyperparameters shared by <see cref="Adam"/> and <see cref="AdamW"/>; they differ only in where weight decay goes.</summary>
public abstract class AdamBase : Optimizer
{
    float[]? _expAvg, _expAvgSq, _maxExpAvgSq;

    private protected AdamBase(float learningRate, float beta1, float beta2, float eps, float weightDecay, bool amsgrad)
        : base(OptChecks.NonNegative(learningRate, nameof(learningRate)))
    {
        Beta1 = OptChecks.UnitOpen(beta1, nameof(beta1));
        Beta2 = OptChecks.UnitOpen(beta2, nameof(beta2));
        Eps = OptChecks.NonNegative(eps, nameof(eps));
        WeightDecay = OptChecks.NonNegative(weightDecay, nameof(weightDecay));
        AmsGrad = amsgrad;
    }

    public float Beta1 { get; }
    public float Beta2 { get; }
    public float Eps { get; }
    public float WeightDecay { get; }
    public bool AmsGrad { get; }

    public ReadOnlySpan<float> ExpAvg => _expAvg;
    public ReadOnlySpan<float> ExpAvgSq => _expAvgSq;
    /// <summary>PyTorch's <c>max_exp_avg_sq</c>; only with AMSGrad.</summary>
    public ReadOnlySpan<float> MaxExpAvgSq => _maxExpAvgSq;

    public void Reset() { _expAvg = _expAvgSq = _maxExpAvgSq = null; StepCount = 0; }

    public override bool CanCheckpoint => true;
    public override string Settings => $"beta1={Text(Beta1)}, beta2={Text(Beta2)}, eps={Text(Eps)}, weight_decay={Text(WeightDecay)}, amsgrad={AmsGrad}";
    public override IReadOnlyList<string> StateNames => AmsGrad ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"];
    internal override ref float[]? Slot(string name)
    {
        if (name == "exp_avg") return ref _expAvg;
        if (name == "exp_avg_sq") return ref _expAvgSq;
        if (name == "max_exp_avg_sq" && AmsGrad) return ref _maxExpAvgSq;
        throw UnknownState(name);
    }

    /// <summary>Weight decay folded into the gradient (Adam) rather than applied to the parameters first (AdamW).</summary>
    private protected abstract bool CoupledDecay { get; }

    public override void Step(Span<float> parameters, ReadOnlySpan<float> gradients) => StepAsOneRange(parameters, gradients);

    public override bool SplitsIntoRanges => true;

    public override void BeginStep(int length)
    {
        float lr = OptChecks.Step(this, length, length);
        OptChecks.Ensure(ref _expAvg, length, "exp_avg");
        OptChecks.Ensure(ref _expAvgSq, length, "exp_avg_sq");
        if (AmsGrad) OptChecks.Ensure(ref _maxExpAvgSq, length, "max_exp_avg_sq");
        BeganRanges(length, lr);
    }

    public override void StepRange(Span<float> parameters, ReadOnlySpan<float> gradients, int offset)
    {
        OptChecks.Range(this, RangeLength, parameters.Length, gradients.Length, offset);
        float lr = RangeLearningRate;
        int n = parameters.Length;
        if (!CoupledDecay && WeightDecay != 0)
        {
            float decay = 1f - lr * WeightDecay;
            int i = 0, end = OptChecks.VectorEnd(n);
            for (; i < end; i += Vector<float>.Count) (new Vector<float>(parameters.Slice(i)) * decay).CopyTo(parameters.Slice(i));
            for (; i < n; i++) parameters[i] *= decay;
        }
        AdamKernel.Step(parameters, gradients, _expAvg.AsSpan(offset, n), _expAvgSq.AsSpan(offset, n), AmsGrad ? _maxExpAvgSq.AsSpan(offset, n) : default,
            lr, Beta1, Beta2, Eps, CoupledDecay ? WeightDecay : 0f, StepCount);
    }
}

/// <summary>Adam with coupled weight decay and optional AMSGrad (PyTorch 1.13 <c>Adam</c>).</summary>
public sealed class Adam : AdamBase
{
    public Adam(float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0f, bool amsgrad = false)
        : base(learningRate, beta1, beta2, eps, weightDecay, amsgrad) { }

    private protected override bool CoupledDecay => true;
}

/// <summary>Adam with decoupled weight decay: p ← p·(1 − lr·wd), then Adam on the raw gradient (PyTorch 1.13 <c>AdamW</c>).</summary>
public sealed class AdamW : AdamBase
{
    public AdamW(float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0.01f, bool amsgrad = false)
        : base(learningRate, beta1, beta2, eps, weightDecay, amsgrad) { }

    private protected override bool CoupledDecay => false;
}

internal static class AdamKernel
{
    /// <summary>m ← β1m + (1−β1)g; v ← β2v + (1−β2)g²; p ← p − (lr/bc1)·m/(√v/√bc2 + eps). Scalars in float64 as Python computes them.</summary>
    public static void Step(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, Span<float> vmax,
        float lr, float beta1, float beta2, float eps, float wd, int t)
    {
        double bc1 = 1 - Math.Pow(beta1, t), bc2 = 1 - Math.Pow(beta2, t);
        float stepSize = (float)(lr / bc1), bc2Sqrt = (float)Math.Sqrt(bc2);
        float a1 = 1f - beta1, a2 = 1f - beta2;
        bool ams = !vmax.IsEmpty;
        int i = 0;
        if (!ams)
        {
            int end = OptChecks.VectorEnd(p.Length);
            var vb1 = new Vector<float>(beta1); var vb2 = new Vector<float>(beta2);
            var va1 = new Vector<float>(a1); var va2 = new Vector<float>(a2);
            var vwd = new Vector<float>(wd); var veps = new Vector<float>(eps);
            var vstep = new Vector<float>(stepSize); var vbc2 = new Vector<float>(bc2Sqrt);
            for (; i < end; i += Vector<float>.Count)
            {
                var pv = new Vector<float>(p.Slice(i));
                var gv = new Vector<float>(g.Slice(i)) + vwd * pv;
                var mv = new Vector<float>(m.Slice(i)) * vb1 + va1 * gv;
                var sv = new Vector<float>(v.Slice(i)) * vb2 + va2 * (gv * gv);
                mv.CopyTo(m.Slice(i));
                sv.CopyTo(v.Slice(i));
                var denom = Vector.SquareRoot(sv) / vbc2 + veps;
                (pv - vstep * (mv / denom)).CopyTo(p.Slice(i));
            }
        }
        for (; i < p.Length; i++)
        {
            float gi = g[i] + wd * p[i];
            float mi = m[i] * beta1 + a1 * gi;
            float vi = v[i] * beta2 + a2 * (gi * gi);
            m[i] = mi;
            v[i] = vi;
            if (ams) vi = vmax[i] = MathF.Max(vmax[i], vi);
            float denom = MathF.Sqrt(vi) / bc2Sqrt + eps;
            p[i] -= stepSize * (mi / denom);
        }
    }
}

/// <summary>Adagrad (PyTorch 1.13): sum ← sum + g²; p ← p − clr·g/(√sum + eps), clr = lr/(1 + (t−1)·lrDecay).</summary>
public sealed class Adagrad : Optimizer
{
    float[]? _sum;

    public Adagrad(float learningRate = 0.01f, float lrDecay = 0f, float weightDecay = 0f, float initialAccumulatorValue = 0f, float eps = 1e-10f)
        : base(OptChecks.NonNegative(learningRate, nameof(learningRate)))
    {
        LrDecay = OptChecks.NonNegative(lrDecay, nameof(lrDecay));
        WeightDecay = OptChecks.NonNegative(weightDecay, nameof(weightDecay));
        InitialAccumulatorValue = OptChecks.NonNegative(initialAccumulatorValue, nameof(initialAccumulatorValue));
        Eps = OptChecks.NonNegative(eps, nameof(eps));
    }

    public float LrDecay { get; }
    public float WeightDecay { get; }
    public float InitialAccumulatorValue { get; }
    public float Eps { get; }

    /// <summary>PyTorch's <c>sum</c> (starts at <see cref="InitialAccumulatorValue"/>).</summary>
    public ReadOnlySpan<float> Sum => _sum;

    public void Reset() { _sum = null; StepCount = 0; }

    public override bool CanCheckpoint => true;
    public override string Settings => $"lr_decay={Text(LrDecay)}, weight_decay={Text(WeightDecay)}, initial_accumulator_value={Text(InitialAccumulatorValue)}, eps={Text(Eps)}";
    public override IReadOnlyList<string> StateNames => ["sum"];
    internal override ref float[]? Slot(string name)
    {
        if (name == "sum") return ref _sum;
        throw UnknownState(name);
    }

    public override void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        float lr = OptChecks.Step(this, parameters.Length, gradients.Length);
        OptChecks.Ensure(ref _sum, parameters.Length, "sum", InitialAccumulatorValue);
        StepCount++;
        float clr = (float)(lr / (1 + (StepCount - 1) * (double)LrDecay));
        float wd = WeightDecay, eps = Eps;
        var sum = _sum.AsSpan();
        int i = 0, end = OptChecks.VectorEnd(parameters.Length);
        var vwd = new Vector<float>(wd); var veps = new Vector<float>(eps); var vclr = new Vector<float>(clr);
        for (; i < end; i += Vector<float>.Count)
        {
            var p = new Vector<float>(parameters.Slice(i));
            var g = new Vector<float>(gradients.Slice(i)) + vwd * p;
            var s = new Vector<float>(sum.Slice(i)) + g * g;
            s.CopyTo(sum.Slice(i));
            (p - vclr * (g / (Vector.SquareRoot(s) + veps))).CopyTo(parameters.Slice(i));
        }
        for (; i < parameters.Length; i++)
        {
            float g = gradients[i] + wd * parameters[i];
            float s = sum[i] + g * g;
            sum[i] = s;
            parameters[i] -= clr * (g / (MathF.Sqrt(s) + eps)); // eps outside the root
        }
    }
}

/// <summary>Adadelta (PyTorch 1.13): eps inside both square roots.</summary>
public sealed class Adadelta : Optimizer
{
    float[]? _squareAvg, _accDelta;

    public Adadelta(float learningRate = 1f, float rho = 0.9f, float eps = 1e-6f, float weightDecay = 0f)
        : base(OptChecks.NonNegative(learningRate, nameof(learningRate)))
    {
        Rho = OptChecks.UnitClosed(rho, nameof(rho));
        Eps = OptChecks.NonNegative(eps, nameof(eps));
        WeightDecay = OptChecks.NonNegative(weightDecay, nameof(weightDecay));
    }

    public float Rho { get; }
    public float Eps { get; }
    public float WeightDecay { get; }

    public ReadOnlySpan<float> SquareAvg => _squareAvg;
    public ReadOnlySpan<float> AccDelta => _accDelta;

    public void Reset() { _squareAvg = _accDelta = null; StepCount = 0; }

    public override bool CanCheckpoint => true;
    public override string Settings => $"rho={Text(Rho)}, eps={Text(Eps)}, weight_decay={Text(WeightDecay)}";
    public override IReadOnlyList<string> StateNames => ["square_avg", "acc_delta"];
    internal override ref float[]? Slot(string name)
    {
        if (name == "square_avg") return ref _squareAvg;
        if (name == "acc_delta") return ref _accDelta;
        throw UnknownState(name);
    }

    public override void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        float lr = OptChecks.Step(this, parameters.Length, gradients.Length);
        OptChecks.Ensure(ref _squareAvg, parameters.Length, "square_avg");
        OptChecks.Ensure(ref _accDelta, parameters.Length, "acc_delta");
        StepCount++;
        float rho = Rho, a = 1f - Rho, eps = Eps, wd = WeightDecay;
        var sq = _squareAvg.AsSpan();
        var acc = _accDelta.AsSpan();
        int i = 0, end = OptChecks.VectorEnd(parameters.Length);
        var vrho = new Vector<float>(rho); var va = new Vector<float>(a); var veps = new Vector<float>(eps);
        var vwd = new Vector<float>(wd); var vlr = new Vector<float>(lr);
        for (; i < end; i += Vector<float>.Count)
        {
            var p = new Vector<float>(parameters.Slice(i));
            var g = new Vector<float>(gradients.Slice(i)) + vwd * p;
            var v = new Vector<float>(sq.Slice(i)) * vrho + va * (g * g);
            var u = new Vector<float>(acc.Slice(i));
            var delta = Vector.SquareRoot(u + veps) / Vector.SquareRoot(v + veps) * g;
            v.CopyTo(sq.Slice(i));
            (u * vrho + va * (delta * delta)).CopyTo(acc.Slice(i));
            (p - vlr * delta).CopyTo(parameters.Slice(i));
        }
        for (; i < parameters.Length; i++)
        {
            float g = gradients[i] + wd * parameters[i];
            float v = sq[i] * rho + a * (g * g);
            float delta = MathF.Sqrt(acc[i] + eps) / MathF.Sqrt(v + eps) * g;
            sq[i] = v;
            acc[i] = acc[i] * rho + a * (delta * delta);
            parameters[i] -= lr * delta;
        }
    }
}

/// <summary>RMSprop (PyTorch 1.13): eps outside the square root; the momentum buffer starts at 0; centered subtracts the mean².</summary>
public sealed class RmsProp : Optimizer
{
    float[]? _squareAvg, _momentumBuffer, _gradAvg;

    public RmsProp(float learningRate = 0.01f, float alpha = 0.99f, float eps = 1e-8f, float weightDecay = 0f, float momentum = 0f, bool centered = false)
        : base(OptChecks.NonNegative(learningRate, nameof(learningRate)))
    {
        Alpha = OptChecks.UnitClosed(alpha, nameof(alpha));
        Eps = OptChecks.NonNegative(eps, nameof(eps));
        WeightDecay = OptChecks.NonNegative(weightDecay, nameof(weightDecay));
        Momentum = OptChecks.NonNegative(momentum, nameof(momentum));
        Centered = centered;
    }

    public float Alpha { get; }
    public float Eps { get; }
    public float WeightDecay { get; }
    public float Momentum { get; }
    public bool Centered { get; }

    public ReadOnlySpan<float> SquareAvg => _squareAvg;
    /// <summary>Only with momentum &gt; 0.</summary>
    public ReadOnlySpan<float> MomentumBuffer => _momentumBuffer;
    /// <summary>Only when centered.</summary>
    public ReadOnlySpan<float> GradAvg => _gradAvg;

    public void Reset() { _squareAvg = _momentumBuffer = _gradAvg = null; StepCount = 0; }

    public override bool CanCheckpoint => true;
    public override string Settings => $"alpha={Text(Alpha)}, eps={Text(Eps)}, weight_decay={Text(WeightDecay)}, momentum={Text(Momentum)}, centered={Centered}";
    public override IReadOnlyList<string> StateNames => (Momentum > 0, Centered) switch
    {
        (true, true) => ["square_avg", "momentum_buffer", "grad_avg"],
        (true, false) => ["square_avg", "momentum_buffer"],
        (false, true) => ["square_avg", "grad_avg"],
        _ => ["square_avg"],
    };
    internal override ref float[]? Slot(string name)
    {
        if (name == "square_avg") return ref _squareAvg;
        if (name == "momentum_buffer" && Momentum > 0) return ref _momentumBuffer;
        if (name == "grad_avg" && Centered) return ref _gradAvg;
        throw UnknownState(name);
    }

    public override void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        float lr = OptChecks.Step(this, parameters.Length, gradients.Length);
        OptChecks.Ensure(ref _squareAvg, parameters.Length, "square_avg");
        if (Momentum > 0) OptChecks.Ensure(ref _momentumBuffer, parameters.Length, "momentum_buffer");
        if (Centered) OptChecks.Ensure(ref _gradAvg, parameters.Length, "grad_avg");
        StepCount++;
        float alpha = Alpha, a = 1f - Alpha, eps = Eps, wd = WeightDecay, mu = Momentum;
        var sq = _squareAvg.AsSpan();
        int i = 0;
        if (!Centered && mu == 0)
        {
            int end = OptChecks.VectorEnd(parameters.Length);
            var valpha = new Vector<float>(alpha); var va = new Vector<float>(a); var veps = new Vector<float>(eps);
            var vwd = new Vector<float>(wd); var vlr = new Vector<float>(lr);
            for (; i < end; i += Vector<float>.Count)
            {
                var p = new Vector<float>(parameters.Slice(i));
                var g = new Vector<float>(gradients.Slice(i)) + vwd * p;
                var v = new Vector<float>(sq.Slice(i)) * valpha + va * (g * g);
                v.CopyTo(sq.Slice(i));
                (p - vlr * (g / (Vector.SquareRoot(v) + veps))).CopyTo(parameters.Slice(i));
            }
        }
        var buf = _momentumBuffer.AsSpan();
        var gavg = _gradAvg.AsSpan();
        for (; i < parameters.Length; i++)
        {
            float g = gradients[i] + wd * parameters[i];
            float v = sq[i] * alpha + a * (g * g);
            sq[i] = v;
            if (Centered)
            {
                float m = gavg[i] * alpha + a * g;
                gavg[i] = m;
                v -= m * m;
            }
            float avg = MathF.Sqrt(v) + eps;
            if (mu > 0)
            {
                float b = buf[i] * mu + g / avg;
                buf[i] = b;
                parameters[i] -= lr * b;
            }
            else parameters[i] -= lr * (g / avg);
        }
    }
}
