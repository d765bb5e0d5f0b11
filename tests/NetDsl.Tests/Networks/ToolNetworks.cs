using NetDsl;

namespace NetDsl.Tests.Networks;

// Small networks for the run-time tools: schedules, freezing, training modes, initialization, gradient checks, visualization.

[Network(1, 8, 8)]
[Conv2D(4, 3)] [ReLU]
[Dense(3)]
public partial class TinyConv;

// Smooth everywhere (tanh), so finite differences are accurate.
[Network(2, 6, 6)]
[Conv2D(3, 3)] [Tanh]
[Dense(5)] [Tanh]
[Dense(3)]
public partial class SmoothNet;

// A large dense layer for initialization statistics, and a conv with fan_in 16·5·5 = 400.
[Network(256, 1, 1)]
[Dense(512)] [ReLU]
[Dense(10)]
public partial class WideDense;

[Network(16, 9, 9)]
[Conv2D(64, 5)] [Tanh]
[Dense(2)]
public partial class WideConv;

// One dense layer: the tests set its weights so that the output depends only on chosen pixels.
[Network(1, 8, 8)]
[Dense(2)]
public partial class PixelDense;

// TinyConv with a five-class head: conv1 transfers, dense1 does not (its shape differs).
[Network(1, 8, 8)]
[Conv2D(4, 3)] [ReLU]
[Dense(5)]
public partial class TinyConvHead5;

// A frozen first layer: its gradients are never computed.
[Network(2, 6, 6)]
[Conv2D(3, 3, Frozen = true)] [Tanh]
[Dense(3)]
public partial class FrozenFirst;

// One dense layer over four inputs: with identity weights the outputs are the inputs, so a test chooses the logits.
[Network(1, 1, 4)]
[Dense(4)]
public partial class IdentityHead;

// Activation maximization: a linear objective (conv before its ReLU) for the hand-computed step, and a deeper ReLU chain.
[Network(1, 4, 4)]
[Conv2D(2, 3, Name = "conv")] [ReLU]
[Dense(2)]
public partial class LinearFilterNet;

[Network(1, 12, 12)]
[Conv2D(4, 3, Name = "conv1")] [ReLU] [MaxPool2D(2, Name = "pool1")]
[Conv2D(6, 3, Name = "conv2")] [ReLU(Name = "act2")]
[Dense(3)]
public partial class FilterNet;
