using System;
using NetDsl.Training;

namespace NetDsl.Gpu;

/// <summary>The GPU twin of a generated network (<c>new LeNet5.Gpu(device, maxBatch, seed)</c>): the same function with the
/// same parameter layout, whose parameters, gradients, optimizer state, batch-norm statistics and activations live on the
/// device. Only inputs and labels go in per step and the loss comes back; everything else is an explicit host copy.</summary>
public interface IGpuNetwork : IDisposable
{
    /// <summary>Floats per input sample.</summary>
    int InputSize { get; }
    /// <summary>Floats per output sample.</summary>
    int OutputSize { get; }
    int ParameterCount { get; }
    /// <summary>Floats of non-trained state (batch-norm running statistics).</summary>
    int BufferCount { get; }
    int MaxBatch { get; }
    /// <summary>The same tensors (names, shapes, offsets) as the CPU network's.</summary>
    ReadOnlySpan<ParameterTensor> ParameterTensors { get; }
    /// <inheritdoc cref="ParameterTensors"/>
    ReadOnlySpan<ParameterTensor> BufferTensors { get; }

    /// <summary>Copies the parameters, buffers and dropout state of <paramref name="network"/> (the CPU network of the same class) to the device.</summary>
    void CopyParametersFrom(INetwork network);
    /// <summary>Copies the device's parameters, buffers and dropout state into <paramref name="network"/>.</summary>
    void CopyParametersTo(INetwork network);

    /// <summary>Runs <paramref name="batch"/> samples and returns a host copy of the output (batch·OutputSize floats).</summary>
    float[] Forward(ReadOnlySpan<float> input, int batch, bool training = false);
    /// <summary>Back-propagates dL/d(output) of the last training-mode forward, adding parameter gradients on the device.</summary>
    void Backward(ReadOnlySpan<float> outputGradient, int batch);
    /// <summary>When set, <see cref="Backward"/> also computes dL/d(input).</summary>
    bool ComputeInputGradient { get; set; }
    /// <summary>A host copy of dL/d(input) of the last <see cref="Backward"/> (needs <see cref="ComputeInputGradient"/>).</summary>
    float[] InputGradient();
    /// <summary>A host copy of the parameter gradients.</summary>
    float[] Gradients();
    /// <summary>A host copy of the parameters.</summary>
    float[] Parameters();
    /// <summary>A host copy of the buffers (running statistics).</summary>
    float[] Buffers();
    /// <summary>Sets the gradients to zero on the device.</summary>
    void ZeroGradients();

    /// <summary>One step on the device: forward, loss, backward, update. The same loss and optimizer objects as the CPU
    /// network's <c>TrainStep</c>; the optimizer's state lives on the device (keyed by the optimizer object). Returns the loss.</summary>
    float TrainStep(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, Loss loss, Optimizer optimizer);
    /// <summary>One step against dense targets [batch, OutputSize].</summary>
    float TrainStep(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, int batch, Loss loss, Optimizer optimizer);

    /// <summary>The dropout generator's position (the same stream as the CPU network's).</summary>
    DropoutState DropoutState { get; set; }
}
