using NetDsl;

namespace NetDsl.Tests.Networks;

// One network per CPU convolution algorithm the generator picks from the shapes (see CpuPlan.Strategy), each large enough
// for a batch of one to split its output channels across workers (≥ 1M multiply-adds).

/// <summary>3×3, stride 1, 16 → 32 channels: Winograd F(2×2, 3×3) forward and input gradient.</summary>
[Network(16, 16, 15)]
[Conv2D(32, 3, Padding = 1)]
public partial class WinogradConv;

/// <summary>3×3, unequal padding (0 and 2): Winograd with an input gradient at padding 2 and 0.</summary>
[Network(16, 9, 11)]
[Conv2D(16, 3, PadTop = 0, PadBottom = 2, PadLeft = 2, PadRight = 0, Bias = false)]
public partial class WinogradConvUnevenPadding;

/// <summary>3 input channels, 5×5: the direct convolution.</summary>
[Network(3, 30, 29)]
[Conv2D(20, 5, Padding = 2)]
public partial class DirectConvNet;

/// <summary>1 input channel, 6 output channels (LeNet-5's first layer): the direct convolution in blocks of 6 channels,
/// then of 4 (10 = 6 + 4).</summary>
[Network(1, 28, 28)]
[Conv2D(10, 5, Padding = 2)]
public partial class DirectConvSixChannels;

/// <summary>6 → 16 channels, 5×5 (LeNet-5's second layer): the direct convolution with the output channels in the vector lanes.</summary>
[Network(6, 14, 14)]
[Conv2D(16, 5)]
public partial class ChannelLaneConvNet;

/// <summary>8 → 32 channels, 3×3, padded, 7 columns (fewer than a block's 10) and a ReLU fused into the stores.</summary>
[Network(8, 7, 7)]
[Conv2D(32, 3, Padding = 1)] [ReLU]
public partial class ChannelLaneConvPaddedRelu;

/// <summary>Winograd followed by a ReLU: the convolution's forward stores the ReLU's output too.</summary>
[Network(16, 10, 12)]
[Conv2D(24, 3, Padding = 1)] [ReLU]
public partial class WinogradConvRelu;

/// <summary>The direct convolution followed by a ReLU, fused the same way.</summary>
[Network(1, 28, 28)]
[Conv2D(32, 3, Padding = 1)] [ReLU]
public partial class DirectConvRelu;

/// <summary>A 2×2 max pool: inference keeps no winners' indices, a Backward after it finds them.</summary>
[Network(3, 6, 8)]
[MaxPool2D(2)]
public partial class MaxPoolOnly;

/// <summary>The cnn's first stage: a batch of one splits the direct convolution's output channels across workers, and the
/// 2×2 max pool after its (fused) ReLU the same channels.</summary>
[Network(1, 28, 28)]
[Conv2D(32, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
public partial class PoolSplit;

/// <summary>A ReLU whose backward its 2×2 max pool does (folded): an odd height (the last row is in no window, which
/// NDSL0202 warns of: wanted here) and 7 windows a row (overlapping 4-wide chunks).</summary>
#pragma warning disable NDSL0202
[Network(2, 9, 14)]
[Conv2D(8, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
public partial class ReluFoldedIntoPool;
#pragma warning restore NDSL0202

/// <summary>Winograd F(4×4) (14 columns: two tile rows per vector), its ReLU and a 2×2 max pool: an inference Forward pools
/// in the output transform and stores no ReLU output (ConvStrategy.FusedPool).</summary>
[Network(16, 14, 14)]
[Conv2D(16, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
public partial class WinogradReluPool;

/// <summary>The same through Winograd F(2×2) (10 columns), with an odd height: the last row is in no window.</summary>
#pragma warning disable NDSL0202
[Network(16, 9, 10)]
[Conv2D(16, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
public partial class WinogradReluPoolOdd;
#pragma warning restore NDSL0202

/// <summary>A Winograd convolution large enough for a batch of one to split it across workers (2.4M multiply-adds), whose
/// pool is too small (4096 inputs) to run inside that split: the split itself must pool.</summary>
[Network(64, 8, 8)]
[Conv2D(64, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
public partial class WinogradSplitSmallPool;

/// <summary>LeNet-5's first stage: a batch of one splits the direct convolution's output rows (6 channels are too few to
/// share) in pairs, and runs the tanh and the 2×2 average pool inside that split.</summary>
[Network(1, 28, 28)]
[Conv2D(6, 5, Padding = 2)] [Tanh]
[AvgPool2D(2)]
public partial class RowSplitStage;

/// <summary>A dense layer large enough (4096 × 42 weights) for a batch of one to split its units across workers.</summary>
[Network(64, 8, 8)]
[Dense(42)]
public partial class WideDenseSplit;
