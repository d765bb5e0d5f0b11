using System;
using System.Collections.Generic;
using System.Diagnostics;
using NetDsl.Data;
using NetDsl.Kernels;
using NetDsl.Training;

namespace NetDsl.Tools;

/// <summary>Adversarial examples from the network's input gradient (L∞ threat model): FGSM (Goodfellow et al. 2015),
/// x' = clip(x + ε·sign(∇ₓL(x, y)), min, max); PGD (Madry et al. 2018), from x (or a uniform random point of the ε-ball)
/// repeat x' ← clip(Π_ε(x' + α·sign(∇ₓL(x', y))), min, max), where Π_ε clips to [x − ε, x + ε]. sign(0) = 0 as in PyTorch.
/// The gradient comes from a training-mode forward pass (what <see cref="INetwork.Backward"/> needs): with dropout the
/// gradient is taken through one drawn mask, and batch norm uses the batch's statistics. The network's running statistics
/// (<see cref="INetwork.Buffers"/>) and dropout position are restored afterwards; its <see cref="INetwork.Gradients"/> are
/// overwritten.</summary>
public static class Adversarial
{
    /// <summary>dL/d(input) of <paramref name="batch"/> samples (batch ≤ MaxBatch) into <paramref name="gradient"/>; returns the loss.</summary>
    public static float InputGradient(INetwork network, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, int batch, Loss loss, Span<float> gradient)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(loss);
        Check(network, inputs, labels, batch, gradient.Length, nameof(gradient));
        var buffers = network.Buffers.ToArray();
        var dropout = network.DropoutState;
        bool wanted = network.ComputeInputGradient;
        try
        {
            network.ComputeInputGradient = true;
            network.ZeroGradients();
            var output = network.Forward(inputs, batch, training: true);
            var outputGradient = new float[batch * network.OutputSize];
            float value = loss.Compute(output, labels, batch, network.OutputSize, outputGradient);
            network.Backward(outputGradient, batch);
            network.InputGradient.Slice(0, batch * network.InputSize).CopyTo(gradient);
            return value;
        }
        finally
        {
            network.ComputeInputGradient = wanted;
            buffers.CopyTo(network.Buffers);
            network.DropoutState = dropout;
        }
    }

    /// <summary>FGSM: <paramref name="adversarial"/> = clip(x + ε·sign(∇ₓL), <paramref name="min"/>, <paramref name="max"/>).</summary>
    public static void Fgsm(INetwork network, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, int batch, Loss loss, float epsilon,
        Span<float> adversarial, float min = 0f, float max = 1f)
    {
        CheckEpsilon(epsilon, min, max);
        Check(network, inputs, labels, batch, adversarial.Length, nameof(adversarial));
        var gradient = new float[inputs.Length];
        InputGradient(network, inputs, labels, batch, loss, gradient);
        for (int i = 0; i < inputs.Length; i++)
            adversarial[i] = Math.Clamp(inputs[i] + epsilon * Sign(gradient[i]), min, max);
    }

    /// <summary>PGD under L∞: <paramref name="steps"/> signed-gradient steps of size <paramref name="stepSize"/>, each followed by
    /// the projection onto the ε-ball around x and the clip to [min, max]; with <paramref name="randomStart"/> it starts from
    /// x + U(−ε, ε) (clipped), drawn from <paramref name="seed"/>. With one step of size ε and no random start it is FGSM.</summary>
    public static void Pgd(INetwork network, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, int batch, Loss loss, float epsilon,
        int steps, float stepSize, bool randomStart, Span<float> adversarial, ulong seed = 1, float min = 0f, float max = 1f)
    {
        CheckEpsilon(epsilon, min, max);
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"steps must be >= 1, got {steps}");
        if (!(stepSize > 0) || !float.IsFinite(stepSize)) throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, $"stepSize must be finite and > 0, got {stepSize}");
        Check(network, inputs, labels, batch, adversarial.Length, nameof(adversarial));
        var x = adversarial.Slice(0, inputs.Length);
        inputs.CopyTo(x);
        if (randomStart)
        {
            var rng = new Rng(seed * 0x9E3779B97F4A7C15UL + 0x5EED);
            for (int i = 0; i < x.Length; i++) x[i] = Math.Clamp(x[i] + epsilon * (2 * rng.NextFloat() - 1), min, max);
        }
        var gradient = new float[inputs.Length];
        var current = new float[inputs.Length];
        for (int s = 0; s < steps; s++)
        {
            x.CopyTo(current);
            InputGradient(network, current, labels, batch, loss, gradient);
            for (int i = 0; i < x.Length; i++)
            {
                float moved = Math.Clamp(current[i] + stepSize * Sign(gradient[i]), inputs[i] - epsilon, inputs[i] + epsilon);
                x[i] = Math.Clamp(moved, min, max);
            }
        }
    }

    /// <summary>Accuracy on <paramref name="data"/> after perturbing each batch with <paramref name="attack"/> (which writes the
    /// perturbed batch into its last argument), or clean when it is null; in batches of MaxBatch.</summary>
    public static double Accuracy(INetwork network, LabeledImages data, Attack? attack)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        int batch = network.MaxBatch, size = network.InputSize;
        var perturbed = new float[batch * size];
        long right = 0;
        for (int start = 0; start < data.Count; start += batch)
        {
            int n = Math.Min(batch, data.Count - start);
            var x = data.Pixels.AsSpan(start * size, n * size);
            var y = data.Labels.AsSpan(start, n);
            if (attack is not null) { attack(network, x, y, n, perturbed); x = perturbed.AsSpan(0, n * size); }
            right += Metrics.CountCorrect(network.Forward(x, n), y, n, network.OutputSize);
        }
        return (double)right / data.Count;
    }

    /// <summary>Adversarial training (Goodfellow et al.'s mixed objective): each step minimizes
    /// α·L(x, y) + (1 − α)·L(x', y), where x' = <paramref name="attack"/>(x) is computed with the current weights; the two
    /// batches' gradients are accumulated with weights α and 1 − α before one optimizer step. Shuffled batches of
    /// <paramref name="batchSize"/> (≤ MaxBatch) from <paramref name="seed"/>. Returns one report per epoch (the train loss is
    /// the mixed objective, the train accuracy the clean one; the test figures are clean).</summary>
    public static IReadOnlyList<EpochReport> Train(INetwork network, LabeledImages train, LabeledImages? test, Loss loss, Optimizer optimizer,
        Attack attack, int epochs, int batchSize, double cleanWeight = 0.5, int seed = 1, Action<EpochReport>? onEpoch = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(attack);
        if (batchSize < 1 || batchSize > network.MaxBatch)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"batchSize must be in 1..MaxBatch = {network.MaxBatch}");
        if (!(cleanWeight >= 0 && cleanWeight <= 1)) throw new ArgumentOutOfRangeException(nameof(cleanWeight), cleanWeight, "cleanWeight (α) must be in [0, 1]");
        if (train.SampleSize != network.InputSize)
            throw new ArgumentException($"train: samples are {train.SampleSize} floats, the network takes {network.InputSize}", nameof(train));
        ArgumentOutOfRangeException.ThrowIfNegative(epochs);
        int size = network.InputSize, outputs = network.OutputSize;
        var sampler = new BatchSampler(train.Count, batchSize, seed);
        var x = new float[batchSize * size];
        var xAdv = new float[batchSize * size];
        var y = new int[batchSize];
        var grad = new float[batchSize * outputs];
        var accumulated = new float[network.ParameterCount];
        var reports = new List<EpochReport>();
        float alpha = (float)cleanWeight;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            if (epoch > 0) sampler.NewEpoch();
            var clock = Stopwatch.StartNew();
            double lossSum = 0;
            long right = 0;
            for (int b = 0; b < sampler.BatchCount; b++)
            {
                int n = sampler.CopyBatch(b, train, x, y);
                var xs = x.AsSpan(0, n * size);
                var ys = y.AsSpan(0, n);
                attack(network, xs, ys, n, xAdv);
                // Clean pass, weighted α; its gradients are kept aside because the adversarial pass zeroes them.
                network.ZeroGradients();
                var output = network.Forward(xs, n, training: true);
                float clean = loss.Compute(output, ys, n, outputs, grad.AsSpan(0, n * outputs));
                right += Metrics.CountCorrect(output, ys, n, outputs);
                Scale(grad.AsSpan(0, n * outputs), alpha);
                network.Backward(grad.AsSpan(0, n * outputs), n);
                network.Gradients.CopyTo(accumulated);
                network.ZeroGradients();
                float adversarial = loss.Compute(network.Forward(xAdv.AsSpan(0, n * size), n, training: true), ys, n, outputs, grad.AsSpan(0, n * outputs));
                Scale(grad.AsSpan(0, n * outputs), 1 - alpha);
                network.Backward(grad.AsSpan(0, n * outputs), n);
                var g = network.Gradients;
                for (int i = 0; i < g.Length; i++) g[i] += accumulated[i];
                network.Update(optimizer);
                lossSum += (alpha * (double)clean + (1 - alpha) * (double)adversarial) * n;
            }
            double seconds = clock.Elapsed.TotalSeconds;
            var (testLoss, testAccuracy) = test is null ? (double.NaN, double.NaN) : Trainer.Evaluate(network, test, loss);
            var report = new EpochReport(epoch + 1, lossSum / train.Count, (double)right / train.Count, testLoss, testAccuracy, seconds, train.Count / seconds, optimizer.LearningRate);
            reports.Add(report);
            onEpoch?.Invoke(report);
        }
        return reports;
    }

    static void Scale(Span<float> values, float factor)
    {
        for (int i = 0; i < values.Length; i++) values[i] *= factor;
    }

    static float Sign(float g) => g > 0 ? 1f : g < 0 ? -1f : 0f;

    static void CheckEpsilon(float epsilon, float min, float max)
    {
        if (!(epsilon >= 0) || !float.IsFinite(epsilon)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"epsilon must be finite and >= 0, got {epsilon}");
        if (!(min <= max)) throw new ArgumentOutOfRangeException(nameof(min), $"the valid range [min, max] = [{min}, {max}] is empty");
    }

    static void Check(INetwork network, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, int batch, int outputLength, string outputName)
    {
        if (batch < 1 || batch > network.MaxBatch)
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch must be in 1..MaxBatch = {network.MaxBatch}");
        if (inputs.Length != batch * network.InputSize)
            throw new ArgumentException($"inputs has length {inputs.Length}, expected batch·InputSize = {batch}·{network.InputSize}", nameof(inputs));
        if (labels.Length != batch) throw new ArgumentException($"labels has length {labels.Length}, expected batch = {batch}", nameof(labels));
        if (outputLength < inputs.Length)
            throw new ArgumentException($"{outputName} has length {outputLength}, needs at least {inputs.Length}", outputName);
    }
}

/// <summary>Writes adversarial versions of <paramref name="batch"/> inputs into <paramref name="adversarial"/>, e.g.
/// <c>(net, x, y, n, adv) =&gt; Adversarial.Fgsm(net, x, y, n, loss, 0.1f, adv)</c>.</summary>
public delegate void Attack(INetwork network, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, int batch, Span<float> adversarial);
