using NetDsl;

namespace ArchitecturesSample;

/// <summary>A GoogLeNet-style network for 28×28 images (the lecture notes' inception modules): a stem, two inception
/// modules whose four branches (1×1; 1×1 then 3×3; 1×1 then 5×5; 3×3/1 max pooling then 1×1) read the same layer and are
/// concatenated in that order, a 3×3/2 max pooling between them, global average pooling and a dense classifier.</summary>
[Network(1, 28, 28)]
[Conv2D(16, 3, Padding = 1, Bias = false)] [BatchNorm] [ReLU] [MaxPool2D(2, Name = "stem")]
[Conv2D(8, 1, From = "stem")] [ReLU(Name = "i1_1x1")]
[Conv2D(8, 1, From = "stem")] [ReLU] [Conv2D(12, 3, Padding = 1)] [ReLU(Name = "i1_3x3")]
[Conv2D(4, 1, From = "stem")] [ReLU] [Conv2D(6, 5, Padding = 2)] [ReLU(Name = "i1_5x5")]
[MaxPool2D(3, Stride = 1, Padding = 1, From = "stem")] [Conv2D(6, 1)] [ReLU(Name = "i1_pool")]
[Concat("i1_1x1", "i1_3x3", "i1_5x5", "i1_pool", Name = "inception1")]
[MaxPool2D(3, Stride = 2, Padding = 1, Name = "reduce")]
[Conv2D(16, 1, From = "reduce")] [ReLU(Name = "i2_1x1")]
[Conv2D(16, 1, From = "reduce")] [ReLU] [Conv2D(24, 3, Padding = 1)] [ReLU(Name = "i2_3x3")]
[Conv2D(8, 1, From = "reduce")] [ReLU] [Conv2D(12, 5, Padding = 2)] [ReLU(Name = "i2_5x5")]
[MaxPool2D(3, Stride = 1, Padding = 1, From = "reduce")] [Conv2D(12, 1)] [ReLU(Name = "i2_pool")]
[Concat("i2_1x1", "i2_3x3", "i2_5x5", "i2_pool", Name = "inception2")]
[GlobalAvgPool2D]
[Dense(10)]
public partial class InceptionNet;

/// <summary>A ResNet whose downsampling stages have projection shortcuts (the notes' ResNet): each stage halves the
/// size with a strided 3×3 convolution on the main path and a strided 1×1 convolution with batch norm on the shortcut,
/// and adds the two with <c>[Add("main", "proj")]</c>; then an identity block.</summary>
[Network(1, 28, 28)]
[Conv2D(16, 3, Padding = 1, Bias = false)] [BatchNorm] [ReLU(Name = "stem")]
[Conv2D(32, 3, Stride = 2, Padding = 1, Bias = false)] [BatchNorm] [ReLU] [Conv2D(32, 3, Padding = 1, Bias = false)] [BatchNorm(Name = "s2_main")]
[Conv2D(32, 1, Stride = 2, Bias = false, From = "stem")] [BatchNorm(Name = "s2_proj")]
[Add("s2_main", "s2_proj")] [ReLU(Name = "stage2")]
[Conv2D(64, 3, Stride = 2, Padding = 1, Bias = false)] [BatchNorm] [ReLU] [Conv2D(64, 3, Padding = 1, Bias = false)] [BatchNorm(Name = "s3_main")]
[Conv2D(64, 1, Stride = 2, Bias = false, From = "stage2")] [BatchNorm(Name = "s3_proj")]
[Add("s3_main", "s3_proj")] [ReLU(Name = "stage3")]
[Conv2D(64, 3, Padding = 1, Bias = false)] [BatchNorm] [ReLU] [Conv2D(64, 3, Padding = 1, Bias = false)] [BatchNorm]
[Add(From = "stage3")] [ReLU]
[GlobalAvgPool2D]
[Dense(10)]
public partial class ProjectionResNet;

// The published architectures (Published.cs) scaled to 28×28 Fashion-MNIST: the same layer pattern, fewer filters, and
// the large-stride first layers of the ImageNet versions replaced by stride 1 (a 28×28 image has no pixels to spare).

/// <summary>AlexNet's pattern at 28×28: five convolutions (the second, fourth and fifth in two groups, as the two-tower
/// original), LRN after the first two, overlapping 3×3/2 max pooling, two dropout-regularized dense layers.</summary>
[Network(1, 28, 28)]
[Conv2D(32, 5, Padding = 2)] [ReLU] [LocalResponseNorm(5, Alpha = 1e-4, Beta = 0.75, K = 2)] [MaxPool2D(3, Stride = 2, CeilMode = true)]            // 14
[Conv2D(64, 5, Padding = 2, Groups = 2)] [ReLU] [LocalResponseNorm(5, Alpha = 1e-4, Beta = 0.75, K = 2)] [MaxPool2D(3, Stride = 2, CeilMode = true)] // 7
[Conv2D(96, 3, Padding = 1)] [ReLU]
[Conv2D(96, 3, Padding = 1, Groups = 2)] [ReLU]
[Conv2D(64, 3, Padding = 1, Groups = 2)] [ReLU] [MaxPool2D(3, Stride = 2)]                                                          // 3
[Dropout(0.5)] [Dense(256)] [ReLU]
[Dropout(0.5)] [Dense(256)] [ReLU]
[Dense(10)]
public partial class MiniAlexNet;

/// <summary>ZF Net's pattern at 28×28: a smaller first filter than AlexNet's (3×3), pooling that rounds up, LRN after
/// pooling, three 3×3 convolutions, two dense layers with dropout.</summary>
[Network(1, 28, 28)]
[Conv2D(32, 3, Padding = 1)] [ReLU] [MaxPool2D(3, Stride = 2, CeilMode = true)] [LocalResponseNorm(5, Alpha = 1e-4, Beta = 0.75, K = 2)] // 14
[Conv2D(64, 3, Padding = 1)] [ReLU] [MaxPool2D(3, Stride = 2, CeilMode = true)] [LocalResponseNorm(5, Alpha = 1e-4, Beta = 0.75, K = 2)] // 7
[Conv2D(96, 3, Padding = 1)] [ReLU]
[Conv2D(96, 3, Padding = 1)] [ReLU]
[Conv2D(64, 3, Padding = 1)] [ReLU] [MaxPool2D(3, Stride = 2)]                                                                          // 3
[Dropout(0.5)] [Dense(256)] [ReLU]
[Dropout(0.5)] [Dense(256)] [ReLU]
[Dense(10)]
public partial class MiniZfNet;

/// <summary>VGG's pattern at 28×28: stages of 3×3 convolutions (2, 2, 3) of 16, 32, 64 filters, each ending in 2×2 max
/// pooling (the last one rounds 7 up to 4), then two dense layers with dropout.</summary>
[Network(1, 28, 28)]
[Conv2D(16, 3, Padding = 1)] [ReLU] [Conv2D(16, 3, Padding = 1)] [ReLU] [MaxPool2D(2)]                                      // 14
[Conv2D(32, 3, Padding = 1)] [ReLU] [Conv2D(32, 3, Padding = 1)] [ReLU] [MaxPool2D(2)]                                      // 7
[Conv2D(64, 3, Padding = 1)] [ReLU] [Conv2D(64, 3, Padding = 1)] [ReLU] [Conv2D(64, 3, Padding = 1)] [ReLU] [MaxPool2D(2, CeilMode = true)] // 4
[Dense(256)] [ReLU] [Dropout(0.5)]
[Dense(256)] [ReLU] [Dropout(0.5)]
[Dense(10)]
public partial class MiniVgg;
