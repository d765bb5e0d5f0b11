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
