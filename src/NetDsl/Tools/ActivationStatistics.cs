using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using NetDsl.Training;

namespace NetDsl.Tools;

/// <summary>Mean, standard deviation (population) and fraction of exact zeros of a set of values.</summary>
public sealed record TensorStatistics(long Count, double Mean, double Std, double ZeroFraction, double MaxAbs)
{
    public override string ToString() => Count == 0 ? "-" : $"mean {Mean:G3} std {Std:G3} zeros {ZeroFraction:P0}";
}

/// <summary>One layer over one epoch: its outputs, dL/d(outputs), and its parameter gradients (null without parameters).</summary>
public sealed record LayerStatistics(int Epoch, int Index, string Layer, string Kind, TensorStatistics Output, TensorStatistics OutputGradient, TensorStatistics? ParameterGradient);

/// <summary>Per-layer activation and gradient statistics per epoch, to spot vanishing or exploding gradients and dead units.
/// Pass <see cref="Observe(StepInfo)"/> as <see cref="TrainingOptions.OnStep"/>: it reads the network's LayerOutput, LayerGradient
/// and Gradients after each backward pass (every <c>every</c>-th step), accumulating in double. Epochs are counted from 0.</summary>
public sealed class ActivationStatistics
{
    sealed class Acc
    {
        public long N, Zeros;
        public double Sum, SumSq, MaxAbs;

        public void Add(ReadOnlySpan<float> values)
        {
            foreach (float v in values)
            {
                Sum += v; SumSq += (double)v * v;
                if (v == 0f) Zeros++;
                MaxAbs = Math.Max(MaxAbs, Math.Abs((double)v));
            }
            N += values.Length;
        }

        public TensorStatistics Result()
        {
            if (N == 0) return new TensorStatistics(0, double.NaN, double.NaN, double.NaN, double.NaN);
            double mean = Sum / N;
            return new TensorStatistics(N, mean, Math.Sqrt(Math.Max(0, SumSq / N - mean * mean)), (double)Zeros / N, MaxAbs);
        }
    }

    readonly int _every;
    readonly SortedDictionary<int, (LayerInfo[] Layers, Acc[] Out, Acc[] Grad, Acc[] Param, int Observed)> _epochs = new();

    /// <param name="every">Observe every this many steps (1: all).</param>
    public ActivationStatistics(int every = 1)
    {
        if (every < 1) throw new ArgumentOutOfRangeException(nameof(every), every, "every must be >= 1");
        _every = every;
    }

    /// <summary>For <see cref="TrainingOptions.OnStep"/>.</summary>
    public void Observe(StepInfo step)
    {
        if (step.Step % _every == 0) Observe(step.Network, step.Epoch);
    }

    /// <summary>Adds the network's current LayerOutput/LayerGradient (of its last Forward and Backward) and Gradients to <paramref name="epoch"/>.</summary>
    public void Observe(INetwork network, int epoch)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "epoch must be >= 0");
        var layers = network.Layers.ToArray();
        if (!_epochs.TryGetValue(epoch, out var e))
        {
            e = (layers, New(layers.Length), New(layers.Length), New(layers.Length), 0);
        }
        else if (e.Layers.Length != layers.Length)
            throw new ArgumentException($"epoch {epoch} was observed on a network with {e.Layers.Length} layers, this one has {layers.Length}", nameof(network));
        var grads = network.Gradients;
        for (int i = 0; i < layers.Length; i++)
        {
            e.Out[i].Add(network.LayerOutput(i));
            e.Grad[i].Add(network.LayerGradient(i));
            if (layers[i].ParameterCount > 0) e.Param[i].Add(grads.Slice(layers[i].ParameterOffset, layers[i].ParameterCount));
        }
        _epochs[epoch] = (e.Layers, e.Out, e.Grad, e.Param, e.Observed + 1);
    }

    static Acc[] New(int n) => Enumerable.Range(0, n).Select(_ => new Acc()).ToArray();

    /// <summary>The epochs observed so far.</summary>
    public IReadOnlyList<int> Epochs => _epochs.Keys.ToArray();

    /// <summary>Steps observed in <paramref name="epoch"/>.</summary>
    public int Observations(int epoch) => _epochs.TryGetValue(epoch, out var e) ? e.Observed : 0;

    public IReadOnlyList<LayerStatistics> ForEpoch(int epoch)
    {
        if (!_epochs.TryGetValue(epoch, out var e))
            throw new ArgumentOutOfRangeException(nameof(epoch), epoch, $"epoch {epoch} was not observed; observed: {string.Join(", ", _epochs.Keys)}");
        var list = new List<LayerStatistics>();
        for (int i = 0; i < e.Layers.Length; i++)
            list.Add(new LayerStatistics(epoch, i, e.Layers[i].Name, e.Layers[i].Kind, e.Out[i].Result(), e.Grad[i].Result(),
                e.Layers[i].ParameterCount > 0 ? e.Param[i].Result() : null));
        return list;
    }

    /// <summary>A text table of one epoch.</summary>
    public string Format(int epoch)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"epoch {epoch + 1}: {"layer",-12} {"output mean/std/zeros",-32} {"dL/dout mean/std",-24} {"param grad std / max|g|",-24}");
        foreach (var s in ForEpoch(epoch))
        {
            string p = s.ParameterGradient is { } g ? $"{g.Std:G3} / {g.MaxAbs:G3}" : "";
            sb.AppendLine($"         {s.Layer,-12} {$"{s.Output.Mean:G3} / {s.Output.Std:G3} / {s.Output.ZeroFraction:P0}",-32} {$"{s.OutputGradient.Mean:G3} / {s.OutputGradient.Std:G3}",-24} {p,-24}");
        }
        return sb.ToString();
    }
}
