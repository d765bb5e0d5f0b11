using System;
using System.Collections.Generic;
using System.Globalization;

namespace NetDsl.Training;

/// <summary>Updates a flat parameter buffer from its gradient buffer. Formulas are PyTorch 1.13's single-tensor path.</summary>
public abstract class Optimizer
{
    public float LearningRate { get; set; }

    protected Optimizer(float learningRate) => LearningRate = learningRate;

    /// <summary>Number of steps taken (PyTorch's t).</summary>
    public int StepCount { get; protected internal set; }

    /// <summary>One update: parameters ← f(parameters, gradients, state). State is allocated on the first step and sized to the buffer.</summary>
    public abstract void Step(Span<float> parameters, ReadOnlySpan<float> gradients);

    /// <summary>
    /// Whether a step can be taken in ranges: <see cref="BeginStep"/> once, then <see cref="StepRange"/> over disjoint
    /// ranges that cover the buffer, from any threads, in any order; the result is <see cref="Step"/>'s, bit for bit. True
    /// where each element's update reads that element alone (<see cref="Sgd"/>, <see cref="Adam"/>, <see cref="AdamW"/>).
    /// A generated network's <c>Update</c> then spreads the step over its workers: the update reads and writes every
    /// parameter, gradient and state float once, which on one core took a tenth of a training step of the sample cnn.
    /// </summary>
    public virtual bool SplitsIntoRanges => false;

    /// <summary>Starts a step taken in ranges over <paramref name="length"/> parameters (see <see cref="SplitsIntoRanges"/>):
    /// the checks, the state allocated on the first step, the step counted, this step's scalars fixed.</summary>
    public virtual void BeginStep(int length) =>
        throw new NotSupportedException($"{Kind} does not take a step in ranges (SplitsIntoRanges is false); call Step");

    /// <summary>Updates parameters [<paramref name="offset"/>, offset + <paramref name="parameters"/>.Length) of the step
    /// <see cref="BeginStep"/> started, from their <paramref name="gradients"/> (the same range).</summary>
    public virtual void StepRange(Span<float> parameters, ReadOnlySpan<float> gradients, int offset) =>
        throw new NotSupportedException($"{Kind} does not take a step in ranges (SplitsIntoRanges is false); call Step");

    /// <summary>The learning rate and parameter count of the step in ranges <see cref="BeginStep"/> started (−1: none yet).</summary>
    private protected float RangeLearningRate;
    private protected int RangeLength = -1;

    /// <summary>The end of a <see cref="BeginStep"/>, once its checks passed and its state exists: the step's learning rate
    /// and length kept for <see cref="StepRange"/>, the step counted.</summary>
    private protected void BeganRanges(int length, float learningRate)
    {
        RangeLearningRate = learningRate;
        RangeLength = length;
        StepCount++;
    }

    /// <summary><see cref="Step"/> of an optimizer that takes steps in ranges: the whole buffer as one range.</summary>
    private protected void StepAsOneRange(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        OptChecks.Step(this, parameters.Length, gradients.Length);
        BeginStep(parameters.Length);
        StepRange(parameters, gradients, 0);
    }

    /// <summary>The kind a checkpoint records (the class name: Sgd, Adam, AdamW, Adagrad, Adadelta, RmsProp).</summary>
    public virtual string Kind => GetType().Name;

    /// <summary>The hyperparameters other than the learning rate, as text (invariant culture); resuming a checkpoint written
    /// with other settings is refused, since the run would not continue the same way.</summary>
    public virtual string Settings => "";

    /// <summary>The names (PyTorch's) of the state tensors this optimizer keeps with its settings, e.g. exp_avg, exp_avg_sq,
    /// max_exp_avg_sq for Adam with AMSGrad. Each is allocated on the first step.</summary>
    public virtual IReadOnlyList<string> StateNames => [];

    /// <summary>State tensor <paramref name="name"/> (one of <see cref="StateNames"/>); empty before the first step.</summary>
    public ReadOnlySpan<float> State(string name) => Slot(name);

    /// <summary>Whether <see cref="SetState"/> restores everything that decides the next steps; the built-in optimizers do,
    /// a derived class outside NetDsl does not, so checkpoints refuse it rather than resume it differently.</summary>
    public virtual bool CanCheckpoint => false;

    /// <summary>Restores <see cref="StepCount"/> and every state tensor (copied), as read from a checkpoint. With
    /// <paramref name="stepCount"/> 0 the state must be empty (nothing allocated yet); otherwise every name of
    /// <see cref="StateNames"/> must be present with <paramref name="length"/> floats, and no other.</summary>
    public void SetState(int stepCount, IReadOnlyDictionary<string, float[]> state, int length)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentOutOfRangeException.ThrowIfNegative(stepCount);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (!CanCheckpoint) throw new NotSupportedException($"{Kind} does not support checkpoints (CanCheckpoint is false)");
        var names = StateNames;
        foreach (var key in state.Keys)
            if (!Contains(names, key))
                throw new ArgumentException($"{Kind} ({Settings}) keeps no state '{key}'; it keeps {Describe(names)}", nameof(state));
        // A state that was never allocated (no step yet, or a buffer PyTorch creates lazily) may be absent.
        foreach (var name in names)
            if (state.TryGetValue(name, out var data))
            {
                ArgumentNullException.ThrowIfNull(data, $"state['{name}']");
                if (data.Length != length)
                    throw new ArgumentException($"{Kind} state '{name}' has {data.Length} floats, expected {length}", nameof(state));
            }
            else if (stepCount > 0 && state.Count > 0)
                throw new ArgumentException($"{Kind} state '{name}' is missing; after {stepCount} steps it keeps {Describe(names)}", nameof(state));
        foreach (var name in names)
            Slot(name) = state.TryGetValue(name, out var data) ? (float[])data.Clone() : null;
        StepCount = stepCount;
        OnStateSet(stepCount);
    }

    /// <summary>After <see cref="SetState"/>: a wrapper passes the step count on to what it wraps.</summary>
    private protected virtual void OnStateSet(int stepCount) { }

    /// <summary>The field that holds state tensor <paramref name="name"/>.</summary>
    internal virtual ref float[]? Slot(string name) =>
        throw new ArgumentException($"{Kind} keeps no state tensors; asked for '{name}'", nameof(name));

    private protected static string Text(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    private protected ArgumentException UnknownState(string name) =>
        new($"{Kind} ({Settings}) keeps no state '{name}'; it keeps {Describe(StateNames)}", nameof(name));

    static bool Contains(IReadOnlyList<string> names, string key)
    {
        foreach (var n in names) if (n == key) return true;
        return false;
    }

    static string Describe(IReadOnlyList<string> names) => names.Count == 0 ? "none" : string.Join(", ", names);
}
