using System;
using System.Collections.Generic;

namespace NetDsl.Training;

/// <summary>The non-finite guard of <see cref="Trainer.Fit(INetwork, NetDsl.Data.LabeledImages, NetDsl.Data.LabeledImages, Loss, Optimizer, TrainingOptions)"/>: per step it keeps the batch-norm statistics and the parameters
/// as they were before the step (preallocated copies: nothing is allocated per step), checks the loss and the gradients after
/// each chunk and the parameters after the update, and on a failure puts everything back and describes where it started.</summary>
internal sealed class StepGuard
{
    readonly INetwork _network;
    readonly float[] _buffers;
    readonly float[] _parameters;
    readonly string _networkName;

    public StepGuard(INetwork network, NonFinitePolicy policy)
    {
        _network = network;
        Policy = policy;
        _buffers = new float[network.Buffers.Length];
        _parameters = new float[network.ParameterCount];
        _networkName = network.GetType().Name;
    }

    public NonFinitePolicy Policy { get; }

    /// <summary>Before the step's first forward pass: batch-norm running statistics change in training-mode forward passes.</summary>
    public void BeginStep() => _network.Buffers.CopyTo(_buffers);

    /// <summary>Before the optimizer's update.</summary>
    public void BeforeUpdate() => _network.Parameters.CopyTo(_parameters);

    public bool GradientsFinite() => NonFiniteGuard.AllFinite(_network.Gradients);
    public bool BuffersFinite() => NonFiniteGuard.AllFinite(_network.Buffers);
    public bool ParametersFinite() => NonFiniteGuard.AllFinite(_network.Parameters);

    /// <summary>Puts back the parameters (when the update ran) and the batch-norm statistics.</summary>
    public void Refuse(bool updated)
    {
        if (updated) _parameters.CopyTo(_network.Parameters);
        _buffers.CopyTo(_network.Buffers);
        _network.ZeroGradients();
    }

    /// <summary>The exception for a refused step; call before <see cref="Refuse"/>, while the layers still hold the step's values.</summary>
    public NonFiniteException Failure(int epoch, long step, int batch, int batchCount, float loss, ReadOnlySpan<float> input, int n,
        ReadOnlySpan<int> indices, string? afterUpdate)
    {
        var d = NonFiniteGuard.Diagnose(_network, input, n, indices);
        string what = afterUpdate ?? NonFiniteGuard.Describe(d, loss);
        string message = $"{_networkName}: training produced non-finite values at epoch {epoch + 1}, step {step} (batch {batch + 1} of {batchCount}): {what}. " +
            "The step was refused: the parameters and batch-norm statistics are as before it " +
            "(TrainingOptions.NonFinite = SkipBatch skips such batches, RollBack returns to the last checkpoint with a lower learning rate).";
        return new NonFiniteException(message, epoch + 1, step, d.OutputLayer, d.GradientLayer, d.InputSample, d.DataIndex);
    }

    /// <summary>"parameters became non-finite in the update: conv1.weight[3] = ∞ (learning rate 1E+10)".</summary>
    public string UpdateFailure(float learningRate)
    {
        int k = NonFiniteGuard.IndexOfNonFinite(_network.Parameters);
        return $"the loss and gradients were finite, but the optimizer's update made {NonFiniteGuard.ParameterName(_network, k)} = {_network.Parameters[k]} " +
            $"(learning rate {learningRate})";
    }
}

/// <summary>An in-memory checkpoint for <see cref="NonFinitePolicy.RollBack"/>: what <see cref="Checkpoint"/> holds, without the file.</summary>
internal sealed class TrainingSnapshot
{
    readonly float[] _parameters, _buffers;
    readonly Dictionary<string, float[]> _state = new(StringComparer.Ordinal);
    readonly int _stepCount;
    readonly float _learningRate;
    readonly DropoutState _dropout;

    public TrainingSnapshot(INetwork network, Optimizer optimizer, TrainingPosition position)
    {
        _parameters = network.Parameters.ToArray();
        _buffers = network.Buffers.ToArray();
        foreach (var name in optimizer.StateNames)
        {
            var s = optimizer.State(name);
            if (!s.IsEmpty) _state[name] = s.ToArray();
        }
        _stepCount = optimizer.StepCount;
        _learningRate = optimizer.LearningRate;
        _dropout = network.DropoutState;
        Position = position;
    }

    public TrainingPosition Position { get; }
    public float LearningRate => _learningRate;

    public void Restore(INetwork network, Optimizer optimizer)
    {
        _parameters.CopyTo(network.Parameters);
        _buffers.CopyTo(network.Buffers);
        network.DropoutState = _dropout;
        optimizer.SetState(_stepCount, _state, network.ParameterCount);
        optimizer.LearningRate = _learningRate;
    }
}
