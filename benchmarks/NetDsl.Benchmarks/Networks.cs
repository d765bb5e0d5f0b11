using NetDsl;

namespace NetDsl.Benchmarks;

// LeNet5 and Cnn come from samples/FashionMnist/Networks.cs, ResNet from samples/ResNet/Networks.cs (linked in the
// project), so the benchmark measures exactly the networks the samples train.

/// <summary>A deeper plain (residual-free) VGG-style net: six 3×3 convs in three stages.</summary>
[Network(1, 28, 28)]
[Conv2D(32, 3, Padding = 1)] [ReLU]
[Conv2D(32, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
[Conv2D(64, 3, Padding = 1)] [ReLU]
[Conv2D(64, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
[Conv2D(128, 3, Padding = 1)] [ReLU]
[Conv2D(128, 3, Padding = 1)] [ReLU]
[MaxPool2D(2, Padding = 1)]
[Dense(256)] [ReLU]
[Dense(10)]
public partial class Vgg;

/// <summary>The cnn's first convolution alone (1→32, 3×3, pad 1, 28×28): conv-only FLOP/s.</summary>
[Network(1, 28, 28)]
[Conv2D(32, 3, Padding = 1)]
public partial class CnnConv1;

/// <summary>The cnn's second convolution alone (32→64, 3×3, pad 1, 14×14): conv-only FLOP/s.</summary>
[Network(32, 14, 14)]
[Conv2D(64, 3, Padding = 1)]
public partial class CnnConv2;

/// <summary>The cnn's dense head alone (3136 → 128 → 10).</summary>
[Network(64, 7, 7)]
[Dense(128)] [ReLU]
[Dense(10)]
public partial class CnnHead;

/// <summary>The cnn's first ReLU and max-pool alone (32×28×28).</summary>
[Network(32, 28, 28)]
[ReLU]
[MaxPool2D(2)]
public partial class CnnPool1;

/// <summary>The cnn's first stage (conv1, its ReLU and max pool, 1→32, 28×28 → 14×14): what pooling as the direct
/// convolution computes (ConvStrategy.FusedPool) changes.</summary>
[Network(1, 28, 28)]
[Conv2D(32, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
public partial class CnnStage1;
