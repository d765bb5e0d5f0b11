using NetDsl;

namespace ResNetSample;

/// <summary>A small ResNet: a stem, two residual blocks (3×3 conv, batch norm, ReLU, identity skip), a strided
/// downsampling conv between them, global average pooling and a dense classifier. 28×28 → 10 classes.</summary>
[Network(1, 28, 28)]
[Conv2D(16, 3, Padding = 1, Bias = false)] [BatchNorm] [ReLU(Name = "stem")]
[Conv2D(16, 3, Padding = 1, Bias = false)] [BatchNorm] [ReLU]
[Conv2D(16, 3, Padding = 1, Bias = false)] [BatchNorm]
[Add(From = "stem")] [ReLU(Name = "block1")]
[Conv2D(32, 3, Stride = 2, Padding = 1, Bias = false)] [BatchNorm] [ReLU(Name = "down")]
[Conv2D(32, 3, Padding = 1, Bias = false)] [BatchNorm] [ReLU]
[Conv2D(32, 3, Padding = 1, Bias = false)] [BatchNorm]
[Add(From = "down")] [ReLU]
[GlobalAvgPool2D]
[Dense(10)]
public partial class ResNet;
