using NetDsl;

namespace NetDsl.Tests.Networks;

// Small random networks for finite-difference checks of the generated backward passes.

[Network(2, 8, 8)]
[Conv2D(3, 3, Padding = 1)] [Tanh]
[MaxPool2D(2)]
[Conv2D(4, 3)] [Sigmoid]
[Dense(5)] [Tanh]
[Dense(3)]
public partial class GradCheckA;

[Network(1, 10, 9)]
[Conv2D(4, 3, Stride = 2, Padding = 1, Dilation = 2)] [LeakyReLU(0.1)]
[AvgPool2D(2, Padding = 1)]
[Dense(6)] [ReLU]
[Dense(3, Bias = false)]
public partial class GradCheckB;

[Network(3, 6, 7)]
[Conv2D(2, 2, 3, PadTop = 1, PadRight = 2, StrideWidth = 2)] [Tanh]
[Conv2D(3, 1)] [Dropout(0.25)]
[MaxPool2D(3, Stride = 2, Padding = 1)]
[Dense(4)]
public partial class GradCheckC;

// Residual block with batch norm and a grouped convolution; min pooling, depthwise 1×1, global average pooling.
[Network(4, 6, 6)]
[Conv2D(4, 3, Padding = 1, Name = "stem")] [BatchNorm] [Tanh(Name = "block")]
[Conv2D(4, 3, Padding = 1, Groups = 2)] [BatchNorm] [ELU]
[Add(From = "block")]
[MinPool2D(2)]
[Conv2D(4, 1, Groups = 4)]
[GlobalAvgPool2D]
[Dense(3)]
public partial class GradCheckD;

// U-Net-like: encoder, transposed-conv decoder, concatenated skips (one from the input), LRN, maxout, softmax.
[Network(2, 6, 6)]
[Conv2D(3, 3, Padding = 1, Name = "enc")] [PReLU(PerChannel = true)]
[MaxPool2D(2)]
[ConvTranspose2D(3, 2, Stride = 2)] [Sigmoid]
[Concat(From = "enc")]
[LocalResponseNorm(3, Alpha = 0.5, Beta = 0.75, K = 1)]
[Concat(From = "input")]
[Conv2D(2, 3, Stride = 2, Padding = 1)]
[Maxout(4, 3)]
[Softmax]
public partial class GradCheckE;

public partial class GradCheckC
{
    /// <summary>Test bookkeeping: whether a training forward has drawn the dropout mask yet.</summary>
    public bool HasForwarded { get; set; }
}

[Network(1, 6, 6)]
[Conv2D(2, 3, Name = "stem", Frozen = true)] [ReLU]
[Dense(3, Name = "head")]
public partial class FrozenStemNet;

// An inception module: three branches read one layer (its gradient accumulates from all of them), concatenated in
// list order; a branch reads the network input directly; a dead-end-free graph with a join of three.
[Network(2, 6, 6)]
[Conv2D(4, 3, Padding = 1)] [Tanh(Name = "stem")]
[Conv2D(2, 1, From = "stem")] [Tanh(Name = "b1")]
[Conv2D(2, 1, From = "stem")] [ELU] [Conv2D(3, 3, Padding = 1, Name = "b2")]
[MaxPool2D(3, Stride = 1, Padding = 1, From = "stem")] [Conv2D(2, 1, Name = "b3")]
[Conv2D(1, 3, Padding = 1, From = "input", Name = "b4")]
[Concat("b1", "b2", "b3", "b4")]
[GlobalAvgPool2D] [Dense(3)]
public partial class GradCheckInception;

// A downsampling residual block with a projection shortcut: [Add("main", "proj")], the shortcut a strided 1×1 conv
// (no NDSL0202: its window is narrower than its stride by design); the stem is read twice.
[Network(2, 8, 8)]
[Conv2D(4, 3, Padding = 1)] [Tanh(Name = "stem")]
[Conv2D(6, 3, Stride = 2, Padding = 1)] [BatchNorm] [Tanh] [Conv2D(6, 3, Padding = 1, Name = "main")]
[Conv2D(6, 1, Stride = 2, Bias = false, From = "stem")] [BatchNorm(Name = "proj")]
[Add("main", "proj")] [Sigmoid]
[Add(From = "proj")]
[Dense(3)]
public partial class GradCheckProjection;

// Pooling, complete: per-axis windows and strides, ceil mode, count_include_pad = false, L2 pooling.
[Network(2, 9, 11)]
[Conv2D(3, 3, Padding = 1)] [Tanh]
[AvgPool2D(3, 2, Stride = 2, Padding = 1, CeilMode = true, CountIncludePad = false)]
[L2Pool2D(2, StrideHeight = 1, StrideWidth = 2, CeilMode = true)]
[MaxPool2D(2, 3, StrideHeight = 1, StrideWidth = 2, CeilMode = true)]
[Dense(3)]
public partial class GradCheckPooling;

// The notes' layers that PyTorch has no op for (issue 13 item 7), so finite differences are their truth: channel-wise
// maxout (6 maps → 2; on the input, so a parameter step never flips a winner: only that input's own step could), within-channel LRN (α large enough that the normalization bends), sum pooling with padding and a
// ceil-mode overhang (8 + 2·1 − 3 = 7 rows: 4 windows floor, 5 ceil), DropConnect on a dense layer (the mask held fixed,
// as for dropout).
[Network(6, 8, 8)]
[ChannelMaxout(3)]
[LocalResponseNorm(3, WithinChannel = true, Alpha = 2.0, Beta = 0.75, K = 1.5)]
[SumPool2D(3, Stride = 2, Padding = 1, CeilMode = true)]
[Dense(5, DropConnect = 0.4)] [Tanh]
[Dense(3)]
public partial class GradCheckNotesLayers
{
    /// <summary>Test bookkeeping: whether a training forward has drawn the DropConnect mask yet.</summary>
    public bool HasForwarded { get; set; }
}
