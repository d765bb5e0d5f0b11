using NetDsl;

namespace NetDsl.Tests.Networks;

// The golden networks themselves are tests/NetDsl.Tests/Networks/GoldenNetworks.cs, compiled here too (each gets a generated
// .Gpu twin in this project). These are the twin tests' own networks.

// A small residual network: a block whose input is read twice (by the convolution and by the Add), so its gradient goes
// through the plan's scratch buffer and is added.
[Network(2, 6, 6)]
[Conv2D(4, 3, Padding = 1, Name = "stem")] [ReLU(Name = "stem_out")]
[Conv2D(4, 3, Padding = 1, Name = "c1")] [ReLU] [Conv2D(4, 3, Padding = 1, Name = "c2")]
[Add("c2", "stem_out", Name = "sum")] [ReLU]
[MaxPool2D(2)] [Flatten] [Dropout(0.25)]
[Dense(3, Name = "fc")]
public partial class TinyResidual;

// Grouped, dilated and strided convolutions (no PyTorch golden has groups): the twin against the CPU network.
[Network(4, 7, 6)]
[Conv2D(6, 3, Padding = 2, Dilation = 2, Groups = 2, Name = "grouped")] [ELU]
[Conv2D(6, 3, Stride = 2, Padding = 1, Groups = 6, Name = "depthwise")] [Tanh]
[Dense(4, Name = "fc")]
public partial class GroupedConvolutions;

// The notes' layers: sum pooling (padding and a ceil-mode overhang), channel-wise maxout, within-channel LRN and DropConnect
// (the same counter-based mask as the CPU network), the twin against the CPU network (PyTorch has no op for any of them).
[Network(2, 7, 7)]
[Conv2D(6, 3, Padding = 1, Name = "conv")] [ChannelMaxout(3, Name = "maxout")]
[LocalResponseNorm(3, WithinChannel = true, Alpha = 2.0, K = 1.5, Name = "norm")]
[SumPool2D(3, Stride = 2, Padding = 1, CeilMode = true, Name = "sum")] [Tanh]
[Dense(6, DropConnect = 0.4, Name = "drop")] [Tanh]
[Dense(3, Name = "fc")]
public partial class NotesLayers;

// samples/ResNet's network (bias-free convolutions, batch norm, identity skips, a strided convolution, global average pooling)
// on a 12×12 input, so the simulator runs it in seconds.
[Network(1, 12, 12)]
[Conv2D(8, 3, Padding = 1, Bias = false)] [BatchNorm] [ReLU(Name = "stem")]
[Conv2D(8, 3, Padding = 1, Bias = false)] [BatchNorm] [ReLU]
[Conv2D(8, 3, Padding = 1, Bias = false)] [BatchNorm]
[Add(From = "stem")] [ReLU(Name = "block1")]
[Conv2D(16, 3, Stride = 2, Padding = 1, Bias = false)] [BatchNorm] [ReLU(Name = "down")]
[Conv2D(16, 3, Padding = 1, Bias = false)] [BatchNorm] [ReLU]
[Conv2D(16, 3, Padding = 1, Bias = false)] [BatchNorm]
[Add(From = "down")] [ReLU]
[GlobalAvgPool2D]
[Dense(10)]
public partial class SmallResNet;

// No parameters at all (a pooling stage alone, as the benchmark's CnnPool1): a training step still computes the loss and
// the input gradient, and the optimizer has nothing to update.
[Network(2, 4, 4)]
[ReLU] [MaxPool2D(2)]
public partial class ParameterlessStage;
