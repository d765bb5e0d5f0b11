using System;

namespace NetDsl.Training;

/// <summary>Updates a flat parameter buffer from its gradient buffer. Formulas are PyTorch 1.13's single-tensor path.</summary>
public abstract class Optimizer
{
    public float LearningRate { get; set; }

    protected Optimizer(float learningRate) => LearningRate = learningRate;

    /// <summary>Number of steps taken (PyTorch's t).</summary>
    public int StepCount { get; protected set; }

    /// <summary>One update: parameters ← f(parameters, gradients, state). State is allocated on the first step and sized to the buffer.</summary>
    public abstract void Step(Span<float> parameters, ReadOnlySpan<float> gradients);
}
